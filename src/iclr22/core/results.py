"""Results I/O: ``metrics.json`` (validated against the shipped JSON Schema), ``report.md``, the terminal
table, averaging over runs, and matplotlib figures saved with the Agg backend."""

from __future__ import annotations

import json
import math
import platform
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from iclr22.core.errors import Iclr22Error

__all__ = [
    "Table",
    "aggregate_runs",
    "clean_table",
    "format_table",
    "markdown_table",
    "metrics_schema",
    "new_figure",
    "paired_differences",
    "save_figure",
    "validate_metrics",
    "versions",
    "write_metrics",
    "read_metrics",
    "write_report",
]

Table = dict[str, dict[str, float | None]]


def versions() -> dict[str, str]:
    """Versions of iclr22, torch and Python, as recorded in every ``metrics.json``."""
    import torch

    import iclr22

    return {"iclr22": iclr22.__version__, "torch": torch.__version__, "python": platform.python_version()}


def metrics_schema() -> dict[str, Any]:
    """The JSON Schema of ``metrics.json`` that ships inside the package."""
    text = resources.files("iclr22.core").joinpath("metrics_schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def validate_metrics(metrics: Mapping[str, Any]) -> None:
    """Check ``metrics`` against :func:`metrics_schema`.

    Raises:
        Iclr22Error: with the JSON path of the first violation.
    """
    import jsonschema

    validator = jsonschema.Draft202012Validator(metrics_schema())
    errors = sorted(validator.iter_errors(dict(metrics)), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or "(top level)"
        raise Iclr22Error(f"metrics.json does not follow its schema at {where}: {first.message}")


def clean_table(table: Mapping[str, Mapping[str, Any]], notes: list[str] | None = None) -> Table:
    """Cast every value to ``float``; NaN/inf become ``None`` and are written down in ``notes``."""
    cleaned: Table = {}
    for model, row in table.items():
        cleaned[str(model)] = {}
        for metric, value in row.items():
            if value is None:
                cleaned[str(model)][str(metric)] = None
                continue
            value = float(value)
            if not math.isfinite(value):
                if notes is not None:
                    notes.append(f"{model}/{metric} was {value} and is reported as null")
                cleaned[str(model)][str(metric)] = None
            else:
                cleaned[str(model)][str(metric)] = value
    return cleaned


def aggregate_runs(tables: Sequence[Table]) -> Table:
    """Mean over runs of each metric, plus ``METRIC_std`` (population std) when there is more than one run.

    A metric missing or null in some runs is averaged over the runs that have it.
    """
    if len(tables) == 1:
        return {m: dict(r) for m, r in tables[0].items()}
    merged: Table = {}
    models = list(dict.fromkeys(m for t in tables for m in t))
    for model in models:
        metrics = list(dict.fromkeys(k for t in tables for k in t.get(model, {})))
        merged[model] = {}
        for metric in metrics:
            values = [t[model][metric] for t in tables if t.get(model, {}).get(metric) is not None]
            if not values:
                merged[model][metric] = None
                continue
            mean = sum(values) / len(values)
            merged[model][metric] = mean
            merged[model][f"{metric}_std"] = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return merged


def paired_differences(
    per_run: Sequence[Mapping[str, Any]], model: str, metric: str, higher_is_better: bool = True
) -> dict[str, dict[str, float | int]]:
    """``model`` minus every other model on ``metric``, seed by seed (each run's models share its seed, split
    and data draw, so the difference is paired).

    Args:
        per_run: ``metrics.json``'s ``per_run`` list: ``{"seed": int, "results": Table}`` per run.
        model: The model compared with the others (the method's headline model).
        metric: The metric compared.
        higher_is_better: Direction of ``metric``; decides which seeds count as wins.

    Returns:
        Per other model with the metric in at least two of the same runs: ``mean`` difference, its 95 %
        Student-t interval ``low`` .. ``high`` (sample std over seeds, ``n − 1`` degrees of freedom), ``wins``
        (seeds where ``model`` is strictly better) and ``n`` (seeds compared).
    """
    from scipy import stats

    others = list(dict.fromkeys(m for run in per_run for m in run["results"] if m != model))
    out: dict[str, dict[str, float | int]] = {}
    for other in others:
        pairs = [
            (run["results"][model][metric], run["results"][other][metric])
            for run in per_run
            if run["results"].get(model, {}).get(metric) is not None and run["results"].get(other, {}).get(metric) is not None
        ]
        if len(pairs) < 2:
            continue
        diffs = [a - b for a, b in pairs]
        n = len(diffs)
        mean = sum(diffs) / n
        sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
        half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
        wins = sum(d > 0 if higher_is_better else d < 0 for d in diffs)
        out[other] = {"mean": mean, "low": mean - half, "high": mean + half, "wins": wins, "n": n}
    return out


def _seed_by_seed_section(metrics: Mapping[str, Any], metric: str, better: bool) -> list[str]:
    """Markdown: ``metric`` of every model per seed, and the headline model's paired differences on it."""
    per_run, model = metrics.get("per_run"), (metrics.get("headline") or {}).get("model")
    if not per_run or not model or not any(run["results"].get(model, {}).get(metric) is not None for run in per_run):
        return []
    every_model = dict.fromkeys(m for run in per_run for m in run["results"])
    models = [m for m in every_model if any(run["results"].get(m, {}).get(metric) is not None for run in per_run)]
    lines = [f"## Seed by seed: {metric}", "", "| seed | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    for run in per_run:
        lines.append(f"| {run['seed']} | " + " | ".join(_fmt(run["results"].get(m, {}).get(metric)) for m in models) + " |")
    diffs = paired_differences(per_run, model, metric, better)
    if diffs:
        lines += [
            "",
            f"`{model}` minus each model, same seed (paired); 95 % t-interval of the mean difference over seeds; "
            f"seeds where `{model}` is better ({'higher' if better else 'lower'}):",
            "",
            "| model | mean difference | 95 % interval | better in |",
            "|---|---|---|---|",
        ]
        lines += [f"| {m} | {_fmt(d['mean'])} | {_fmt(d['low'])} .. {_fmt(d['high'])} | {d['wins']} of {d['n']} |" for m, d in diffs.items()]
    return lines + [""]


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-3 or magnitude >= 1e5):
        return f"{value:.3g}"
    return f"{value:.4g}" if magnitude < 1 else f"{value:.2f}"


#: With more metrics than this, tables are printed one metric per row (models as columns), which
#: stays readable when a method reports per-factor or per-domain metrics.
WIDE_TABLE_METRICS = 8


def _cell(results: Table, paper: Table, model: str, metric: str) -> str:
    row = results[model]
    cell = _fmt(row.get(metric))
    std = row.get(f"{metric}_std")
    if std is not None:
        mean = row.get(metric)
        cell += f" ± {std:.2f}" if mean is not None and abs(mean) >= 1 else f" ± {_fmt(std)}"
    ref = paper.get(model, {}).get(metric)
    if ref is not None:
        cell += f" ({_fmt(ref)})"
    return cell


def _rows(results: Table, paper: Table) -> tuple[list[str], list[list[str]]]:
    metrics = list(dict.fromkeys(k for row in results.values() for k in row if not k.endswith("_std")))
    models = list(results)
    if len(metrics) > WIDE_TABLE_METRICS:
        header = ["metric", *models]
        rows = [[metric, *(_cell(results, paper, m, metric) if metric in results[m] else "" for m in models)] for metric in metrics]
        return header, rows
    header = ["model", *metrics]
    rows = [[model, *(_cell(results, paper, model, metric) for metric in metrics)] for model in models]
    return header, rows


def format_table(results: Table, paper: Table | None = None) -> str:
    """A plain-text table for the terminal: one row per model, ``ours ± std (paper)`` per metric."""
    header, rows = _rows(results, paper or {})
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def markdown_table(results: Table, paper: Table | None = None) -> str:
    """The same table in Markdown."""
    header, rows = _rows(results, paper or {})
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def write_metrics(path: str | Path, metrics: Mapping[str, Any]) -> Path:
    """Validate and write ``metrics.json``."""
    validate_metrics(metrics)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metrics, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    return path


def read_metrics(path: str | Path) -> dict[str, Any]:
    """Read and validate a ``metrics.json``."""
    from iclr22.core.errors import DataError

    path = Path(path)
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(f"{path}: metrics file not found") from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    validate_metrics(metrics)
    return metrics


def write_report(
    path: str | Path,
    metrics: Mapping[str, Any],
    command: str | None = None,
    sections: Mapping[str, str] | None = None,
    paired: Sequence[tuple[str, bool]] | None = None,
) -> Path:
    """Write ``report.md``: the results beside the paper's, the seed-by-seed comparison (several runs), the
    figures, the notes and the config.

    ``paired``: ``(metric, higher_is_better)`` pairs compared seed by seed; ``None`` = the headline metric.
    """
    path = Path(path)
    runs = metrics["runs"]
    has_paper = any((metrics.get("paper") or {}).values())
    lines = [
        f"# {metrics['method']} on {metrics['dataset']}",
        "",
        f"seed {metrics['seed']}, {runs} run{'s' if runs > 1 else ''}"
        + (" (mean ± std over seeds)" if runs > 1 else "")
        # a run without the paper's numbers (a user's files) has nothing of the paper to compare with
        + (f", **quick mode** (shrunk for a smoke test{'; not comparable with the paper' if has_paper else ''})" if metrics["quick"] else "")
        + f", {metrics['wall_seconds']:.1f} s wall time.",
        "",
    ]
    if command:
        lines += ["```", command, "```", ""]
    reading = "`ours ± std (paper)`" if has_paper else ("`mean ± std over seeds`" if runs > 1 else "this run's values")
    lines += ["## Results", "", f"Cells read {reading}; — where a value does not exist.", ""]
    lines += [markdown_table(metrics["results"], metrics.get("paper")), ""]
    headline = metrics.get("headline") or {}
    for metric, better in paired or [(headline.get("metric"), headline.get("higher_is_better", True))]:
        lines += _seed_by_seed_section(metrics, metric, better)
    for title, body in (sections or {}).items():
        lines += [f"## {title}", "", body.rstrip(), ""]
    figures = metrics.get("figures") or []
    if figures:
        lines += ["## Figures", ""]
        lines += [f"![{Path(f).stem}]({f})" for f in figures]
        lines.append("")
    notes = metrics.get("notes") or []
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    lines += ["## Config", "", "```json", json.dumps(metrics.get("config", {}), indent=2, default=str), "```", ""]
    v = metrics["versions"]
    lines.append(f"iclr22 {v['iclr22']}, torch {v['torch']}, Python {v['python']}.")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def new_figure(*args: Any, **kwargs: Any):
    """``plt.subplots`` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def save_figure(fig: Any, path: str | Path, dpi: int = 120) -> Path:
    """Save a figure as PNG and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
