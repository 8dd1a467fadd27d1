"""``iclr22 reproduce``: the paper's experiments on real data, and ``docs/results.md`` made from them.

Each reproduction's ``metrics.json`` is kept under ``docs/results/<method>/<name>.json`` together with the
command and the git commit that produced it; ``docs/results.md`` is rendered from all of those files, so
running one method's reproduction never erases another's numbers.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from iclr22.core.registry import MethodSpec, Reproduction
from iclr22.core.results import markdown_table

__all__ = ["reproduction_command", "record_reproduction", "render_results_md", "summarize_headline"]


def _git_commit(cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, cwd=cwd, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    # uncommitted or untracked code under src/ makes the commit alone insufficient to reproduce the numbers
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], capture_output=True, text=True, cwd=cwd, timeout=10)
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def reproduction_command(spec: MethodSpec, reproduction: Reproduction) -> str:
    """The ``iclr22 run`` command line equivalent to one reproduction."""
    parts = ["iclr22", "run", spec.name, "--dataset", reproduction.dataset, "--runs", str(reproduction.runs)]
    for key, value in reproduction.overrides.items():
        value = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value
        parts += ["--set", f"{key}={value}"]
    return " ".join(parts)


def record_name(reproduction: Reproduction) -> str:
    return reproduction.label or reproduction.dataset


def record_reproduction(results_dir: Path, spec: MethodSpec, reproduction: Reproduction, metrics: Mapping[str, Any]) -> Path:
    """Store one reproduction's metrics with its command and commit under ``results_dir/<method>/``."""
    record = dict(metrics)
    record["command"] = reproduction_command(spec, reproduction)
    record["commit"] = _git_commit()
    path = results_dir / spec.name / f"{record_name(reproduction)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def summarize_headline(metrics: Mapping[str, Any], spec: MethodSpec) -> dict[str, Any]:
    """The headline metric of the method and of its strongest baseline in one run's metrics."""
    model, metric = spec.headline
    results = metrics["results"]
    ours = results.get(model, {}).get(metric)
    baselines = {m: row.get(metric) for m, row in results.items() if m != model and row.get(metric) is not None}
    best = None
    if baselines:
        pick = max if spec.higher_is_better else min
        best = pick(baselines, key=baselines.get)
    return {
        "method": spec.name,
        "metric": metric,
        "ours": ours,
        "baseline": best,
        "baseline_value": baselines.get(best) if best else None,
    }


def render_results_md(results_dir: Path, methods: Mapping[str, MethodSpec], planned: Mapping[str, str]) -> str:
    """``docs/results.md``: per method, each stored reproduction as ours-vs-paper tables with its command."""
    lines = [
        "# Results",
        "",
        "Every number here was produced by `iclr22 reproduce` (or the `iclr22 run` command shown under it) on",
        "the real data in `../shared/data`, on a 2-core CPU. Cells read `ours ± std (paper)`. This page is",
        "generated from `docs/results/<method>/*.json`; do not edit it by hand. The commit is the HEAD the run",
        "started from; `+dirty` marks a run made with uncommitted code, which landed in the method's first commit.",
        "A rerun gives a record's numbers to the digit on the same kind of CPU. On another kind, rounding in torch's",
        "vectorised kernels can flip a few predictions: rerun on an AVX2-only AMD EPYC, diva's digits record came out",
        "equal to the digit, while coldbrew's student (74.07 -> 74.31 on isolated nodes) and grda's DG-15 DANN, ADDA",
        "and CDANN rows (63.87 -> 63.13, 69.56 -> 69.76, 65.24 -> 64.31) moved; every other row of both records was equal.",
        "",
    ]
    papers = dict(planned)
    papers.update({name: spec.paper for name, spec in methods.items() if name not in papers})
    for name, paper in papers.items():
        lines += [f"## {name}", "", f"*{paper}*", ""]
        records = sorted((results_dir / name).glob("*.json")) if (results_dir / name).is_dir() else []
        if name not in methods:
            lines += ["Not landed yet.", ""]
            continue
        if not records:
            lines += ["Landed; no reproduction recorded yet (run `iclr22 reproduce " + name + "`).", ""]
            continue
        for path in records:
            record = json.loads(path.read_text(encoding="utf-8"))
            lines += [
                f"### {record['dataset']}" + (f" ({path.stem})" if path.stem != record["dataset"] else ""),
                "",
                f"`{record.get('command', '')}` — commit `{record.get('commit') or 'unknown'}`, "
                f"{record['runs']} run(s), {record['wall_seconds']:.0f} s.",
                "",
                markdown_table(record["results"], record.get("paper")),
                "",
            ]
            for note in record.get("notes", []):
                lines.append(f"- {note}")
            if record.get("notes"):
                lines.append("")
    return "\n".join(lines)


def reproductions_for(
    spec: MethodSpec, only: Sequence[str] | None = None, labels: Sequence[str] | None = None
) -> list[Reproduction]:
    """The reproductions of a method, optionally only those on the named datasets and/or with the named labels.

    A label is a reproduction's record name (its ``label``, else its dataset), so ``labels=["mnist-cnn"]`` picks
    one of several reproductions on the same dataset.
    """
    return [
        r
        for r in spec.reproductions
        if (not only or r.dataset in only) and (not labels or record_name(r) in labels)
    ]
