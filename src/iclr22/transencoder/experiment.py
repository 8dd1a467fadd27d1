"""The paper's STS experiment: self-distillation (or mutual distillation) on unlabelled pairs, cycle chosen on dev.

Transductive, as the paper: the unlabelled pairs are all pairs of the dataset (train, dev and test, without
their scores); the dev gold scores select the cycle; the test gold scores are only reported.

Datasets: ``synthetic`` (generated, embedded default), ``stsb`` (STS Benchmark), ``sts12-16`` (the paper's
``sts`` task: STS12-16 + STS-B pairs, tested on each year), ``tsv`` (your ``train.tsv`` and optional ``dev.tsv`` /
``test.tsv``; gold scores are optional: without them nothing is scored and the report says where the trained models are).

One fit of :class:`~iclr22.transencoder.estimator.TransEncoder` gives every row of the table (the untouched
bi-encoder, each cycle's students, the dev-selected ones, the mutual ensemble): the experiment has one model,
``transencoder``, whose row stays empty, and :func:`report` writes the rows from the fitted estimator.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from iclr22.core.errors import ConfigError
from iclr22.core.experiment import Experiment, Report, RunContext
from iclr22.core.results import new_figure, save_figure
from iclr22.data.sentence_pairs import SentencePairs, load_pairs, load_sts_year, load_stsb
from iclr22.transencoder.estimator import TransEncoder
from iclr22.transencoder.model import BiEncoder
from iclr22.transencoder.synthetic import make_sts_sample
from iclr22.transencoder.train import DistillResult, evaluate

__all__ = ["EXPERIMENT", "RunOptions", "load_data"]


@dataclass
class RunOptions:
    """The experiment's own options (the estimator's are :class:`TransEncoder`'s parameters).

    Args:
        models: What to run: ``transencoder`` (one fit gives every row: start_bi, each cycle, the selected bi and cross).
        transductive: Learn from the dev and test pairs too (without their scores), as the paper.
        max_train_pairs: A random subset of this many unlabelled pairs (0: all).
        max_dev_pairs: A random subset of this many dev pairs (0: all).
        max_test_pairs: A random subset of this many test pairs (0: all).
        sts_avg: stsb: also score the start and selected models on STS12-16 + STS-B test (needs both folders).
        score_min: tsv: the lowest gold score dev.tsv / test.tsv may hold.
        score_max: tsv: the highest gold score dev.tsv / test.tsv may hold.
        synthetic_pairs: synthetic: the number of generated unlabelled pairs (dev and test: a third each).
        stop_after_phases: Stop after this many newly trained phases; rerun the same command (same --set) to resume (None: run to the end).
    """

    models: list[Literal["transencoder"]] = field(default_factory=lambda: ["transencoder"])
    transductive: bool = True
    max_train_pairs: int = 0
    max_dev_pairs: int = 0
    max_test_pairs: int = 0
    sts_avg: bool = True
    score_min: float = 0.0
    score_max: float = 5.0
    synthetic_pairs: int = 600
    stop_after_phases: int | None = None


# Official README ("STS avg." over STS12-16, STS-B, SICK-R), the released unsup-SimCSE-RoBERTa-base models.
_README_STS_AVG = {"start": 76.10, "bi": 80.47, "cross": 81.15}


def check_options(ctx: RunContext, options: dict[str, Any]) -> None:
    """Cross-option rules, before any data is read."""
    if ctx.dataset == "synthetic" and int(options["synthetic_pairs"]) < 12:
        raise ConfigError(f"synthetic_pairs must be at least 12, got {options['synthetic_pairs']}")
    if ctx.dataset == "tsv" and float(options["score_min"]) >= float(options["score_max"]):
        raise ConfigError(f"score_min must be below score_max, got {options['score_min']} and {options['score_max']}")
    if options["stop_after_phases"] is not None and int(options["stop_after_phases"]) < 1:
        raise ConfigError(f"stop_after_phases must be a positive integer, got {options['stop_after_phases']}")


def _subset(pairs: SentencePairs, limit: int, seed: int) -> SentencePairs:
    if limit <= 0 or limit >= len(pairs):
        return pairs
    index = np.sort(np.random.default_rng(seed).choice(len(pairs), size=limit, replace=False))
    return SentencePairs([pairs.sentence1[i] for i in index], [pairs.sentence2[i] for i in index],
                         None if pairs.scores is None else pairs.scores[index], pairs.name)


def _unique_unlabelled(parts: list[SentencePairs], name: str) -> SentencePairs:
    """The union of the parts' pairs without scores, exact duplicates dropped (as the official ``load_sts``)."""
    seen: set[tuple[str, str]] = set()
    first, second = [], []
    for part in parts:
        for a, b in zip(part.sentence1, part.sentence2):
            if (a, b) not in seen:
                seen.add((a, b))
                first.append(a)
                second.append(b)
    return SentencePairs(first, second, None, name)


def load_data(ctx: RunContext, options: dict[str, Any]) -> dict[str, Any]:
    """``{"unlabelled", "dev", "test", "extra_tests"}`` for the run's dataset."""
    seed = ctx.seed
    extra: dict[str, SentencePairs] = {}
    if ctx.dataset == "synthetic":
        n = int(options["synthetic_pairs"])
        train, dev, test = make_sts_sample(n, seed + 1, "synthetic-train"), make_sts_sample(n // 3, seed + 2, "synthetic-dev"), make_sts_sample(n // 3, seed + 3, "synthetic-test")
        dev, test = _subset(dev, int(options["max_dev_pairs"]), seed), _subset(test, int(options["max_test_pairs"]), seed)
        parts = [train, dev, test] if options["transductive"] else [train]
    elif ctx.dataset == "stsb":
        folder = ctx.require_data_dir("the STS-B files sts-train.csv, sts-dev.csv, sts-test.csv")
        train, dev, test = (load_stsb(folder, s) for s in ("train", "dev", "test"))
        dev, test = _subset(dev, int(options["max_dev_pairs"]), seed), _subset(test, int(options["max_test_pairs"]), seed)
        parts = [train, dev, test] if options["transductive"] else [train]
        years = folder.parent / "sts12-16"
        if options["sts_avg"] and years.is_dir():
            extra = {f"sts{y % 100}": load_sts_year(years, y) for y in (2012, 2013, 2014, 2015, 2016)}
            extra["stsb"] = test
    elif ctx.dataset == "sts12-16":
        folder = ctx.require_data_dir("the SemEval STS files 2012.test.tsv ... 2016.test.tsv and 2012_to_2016.test.tsv")
        years = {f"sts{y % 100}": _subset(load_sts_year(folder, y), int(options["max_test_pairs"]), seed) for y in (2012, 2013, 2014, 2015, 2016)}
        parts = [load_sts_year(folder, "2012_to_2016", labeled_only=False)]
        stsb = folder.parent / "stsb"
        dev = None
        if stsb.is_dir():  # the paper's sts task also learns from the STS-B pairs and selects on STS-B dev
            splits = {s: load_stsb(stsb, s) for s in ("train", "dev", "test")}
            parts += list(splits.values())
            dev = _subset(splits["dev"], int(options["max_dev_pairs"]), seed)
        test = None
        extra = dict(years)
        if stsb.is_dir():
            extra["stsb"] = splits["test"]
    elif ctx.dataset == "tsv":
        folder = ctx.require_data_dir("train.tsv (unlabelled pairs: sentence1, sentence2) and optionally dev.tsv / test.tsv (a score column: gold)")
        score_range = (float(options["score_min"]), float(options["score_max"]))
        train = load_pairs(folder / "train.tsv", ignore_scores=True)  # the method learns without labels
        dev, test = ((load_pairs(folder / f"{split}.tsv", score_range=score_range) if (folder / f"{split}.tsv").is_file() else None)
                     for split in ("dev", "test"))
        # a dev / test file without a score column is more unlabelled pairs (transductive), never scored
        parts = [train] + ([p for p in (dev, test) if p is not None] if options["transductive"] else [])
        dev, test = (p if p is not None and p.scores is not None else None for p in (dev, test))
    else:
        raise ConfigError(f"transencoder does not know dataset '{ctx.dataset}'")
    unlabelled = _subset(_unique_unlabelled(parts, f"{ctx.dataset}-unlabelled"), int(options["max_train_pairs"]), seed)
    return {"unlabelled": unlabelled, "dev": dev, "test": test, "extra_tests": extra}


def _sts_avg(model, tests: dict[str, SentencePairs]) -> tuple[float, dict[str, float]]:
    per = {name: evaluate(model, pairs) for name, pairs in tests.items()}
    return float(np.mean(list(per.values()))), per


def _figure(ctx: RunContext, result: DistillResult, cycles: int, names: list[str], target_line: bool) -> Path | None:
    metric = "test" if result.start[0].get("test") is not None else "dev"
    if not ctx.make_figures or result.start[0].get(metric) is None:  # no gold scores: nothing to draw
        return None
    fig, ax = new_figure(figsize=(6.4, 4.0))
    styles = ["-", "--", ":"]
    for k, name in enumerate(names):
        for kind, marker in (("bi", "o"), ("cross", "s")):
            ys = [result.start[k][metric] if kind == "bi" else None] + [
                next(h[metric] for h in result.history if h["cycle"] == c and h["kind"] == kind and h["model"] == k) for c in range(1, cycles + 1)
            ]
            xs = [x for x, y in zip(range(cycles + 1), ys) if y is not None]
            ax.plot(xs, [y for y in ys if y is not None], linestyle=styles[k % 3], marker=marker, label=f"{kind} ({name})")
        if target_line:  # the reproduction's target on the paper's data
            ax.axhline(result.start[k][metric] + 1.0, color="grey", linewidth=0.8, linestyle=styles[k % 3], label=f"start bi + 1.0 ({name})")
    ax.set_xlabel("cycle (0 = untouched bi-encoder)")
    ax.set_ylabel(f"Spearman x100 ({metric})")
    ax.set_xticks(range(cycles + 1))
    ax.set_title(f"Trans-Encoder {'mutual' if len(names) > 1 else 'self'}-distillation on {ctx.dataset}")
    ax.legend(fontsize=7)
    return save_figure(fig, ctx.out_dir / f"transencoder_cycles_{'mutual' if len(names) > 1 else 'self'}.png")


def make_transencoder(options: dict[str, Any], data: dict[str, Any], ctx: RunContext) -> TransEncoder:
    params = {name: options[name] for name in TransEncoder().get_params() if name in options}
    return TransEncoder(**params, checkpoint_dir=ctx.model_checkpoint_dir("transencoder"), seed=ctx.seed)


def fit(name: str, model: TransEncoder, data: dict[str, Any], ctx: RunContext, options: dict[str, Any]) -> dict[str, float | None]:
    """Fit on the unlabelled pairs (dev selects, test is only scored); every row comes from :func:`report`."""
    model.fit(data["unlabelled"], dev=data["dev"], test=data["test"], max_phases=options["stop_after_phases"])
    return {}


def report(ctx: RunContext, options: dict[str, Any], data: dict[str, Any], results: dict[str, Any], fitted: dict[str, Any]) -> Report:
    """The table's rows, notes, phase times and curve from the fitted :class:`TransEncoder`."""
    estimator: TransEncoder = fitted["transencoder"]
    result = estimator.result_
    mutual = options["mode"] == "mutual"
    models = estimator._bi_models()
    names = [Path(m).name if os.sep in m else m for m in models]
    test, dev = data["test"], data["dev"]
    extra = data["extra_tests"]

    def row(scores: dict[str, float | None]) -> dict[str, float | None]:
        return {"spearman_test": scores.get("test"), "spearman_dev": scores.get("dev")}

    suffixes = [""] + (["_b"] if mutual else [])
    tag = "_mutual" if mutual else ""
    rows: dict[str, dict[str, float | None]] = {}
    for k, suffix in enumerate(suffixes):
        rows[f"start_bi{suffix}"] = row(result.start[k])
    for h in result.history:
        rows[f"{h['kind']}{tag}{suffixes[h['model']]}_cycle{h['cycle']}"] = row(h)
    for k, suffix in enumerate(suffixes):
        for kind in ("bi", "cross"):
            chosen = result.selected[kind][k]
            h = next(x for x in result.history if x["cycle"] == chosen and x["kind"] == kind and x["model"] == k)
            rows[f"{kind}{tag}{suffix}"] = {**row(h), "cycle": float(chosen)}
    for kind, scores in result.ensemble.items():
        rows[f"{kind}{tag}_ensemble"] = row(scores)

    paper_data = ctx.dataset in ("stsb", "sts12-16")
    checkpoints = Path(estimator.checkpoint_dir) if estimator.checkpoint_dir is not None else None
    notes = [
        f"unlabelled pairs learnt from: {len(data['unlabelled'])} ({'transductive: train, dev and test pairs without scores' if options['transductive'] else 'train pairs only'}); "
        f"dev {len(dev) if dev is not None else 0} gold-scored pairs for cycle selection; test {len(test) if test is not None else 0} gold-scored pairs reported only.",
        f"pretrained model(s): {', '.join(names)}; the cross-encoder starts every cycle from the same checkpoint with a new one-logit head.",
        ("selected cycle (on dev): " if dev is not None else "no gold-scored dev pairs: the last cycle is kept, unchecked against the start: ")
        + ", ".join(f"{kind} {names[k]}: cycle {c}" for kind in ("bi", "cross") for k, c in enumerate(result.selected[kind])),
        "spearman_* cells: Spearman's rank correlation with the gold scores x 100 (-100..100)." if dev is not None or test is not None
        else "no gold scores (dev.tsv / test.tsv absent or without a score column): the models are trained but nothing is scored.",
    ]
    if checkpoints is not None:
        where = [f"{kind}-encoder {names[k]}: {checkpoints / f'cycle{result.selected[kind][k]}' / f'{kind}{k}'}"
                 for kind in ("bi", "cross") for k in range(len(models))]
        notes.append("the trained models (load with sentence_transformers.SentenceTransformer / CrossEncoder): " + "; ".join(where) + ".")
    if paper_data and result.start[0].get("test") is not None:
        notes.append(f"reproduction target: best final model >= start_bi + 1.0 = {result.start[0]['test'] + 1.0:.2f} (test)")
        notes.append("start_cross_zero_shot is not reported: the cross-encoder's one-logit head is new (random) before the first cycle.")
    if extra:
        tests = {name: pairs for name, pairs in extra.items()}
        for k, suffix in enumerate(suffixes):
            if k == 0 or mutual:
                start_model = BiEncoder.load(models[k], int(options["bi_max_length"]), estimator.device)
                for key, model in ((f"start_bi{suffix}", start_model), (f"bi{tag}{suffix}", result.bi_encoders[k]), (f"cross{tag}{suffix}", result.cross_encoders[k])):
                    avg, per = _sts_avg(model, tests)
                    rows[key]["sts_avg"] = avg
                    for name, value in per.items():
                        rows[key][f"spearman_{name}"] = value
        notes.append(f"sts_avg: mean Spearman over {', '.join(extra)} ('all' setting per year; SICK-R is not available, so {len(extra)} sets, not the README's 7).")
    if ctx.dataset == "sts12-16":
        for key, values in rows.items():
            years = [values.get(f"spearman_sts{y}") for y in (12, 13, 14, 15, 16)]
            if all(v is not None for v in years):
                values["spearman_test"] = float(np.mean(years))  # type: ignore[arg-type]
    paper: dict[str, dict[str, float | None]] = {}
    if ctx.dataset in ("stsb", "sts12-16") and extra:  # the README reports STS averages only
        paper = {"start_bi": {"sts_avg": _README_STS_AVG["start"]}, f"bi{tag}": {"sts_avg": _README_STS_AVG["bi"]},
                 f"cross{tag}": {"sts_avg": _README_STS_AVG["cross"]}}
        notes.append("paper: the official README's STS avg. (7 sets incl. SICK-R) of unsup-SimCSE-RoBERTa-base and its released "
                     "trans-encoder bi/cross models; a different backbone (our MiniLM is supervised) and 6 vs 7 test sets.")

    resumed = [p for p in result.phase_times if p["resumed"]]
    total_wall = sum(p["wall_seconds"] or 0 for p in result.phase_times)
    total_cpu = sum(p["cpu_seconds"] or 0 for p in result.phase_times)
    if resumed:
        notes.append(f"resumed: {len(resumed)} of {len(result.phase_times)} phases were loaded from checkpoints of earlier invocations; "
                     f"the phases' own compute time sums to {total_wall:.0f} s wall / {total_cpu:.0f} s CPU (wall_seconds counts this invocation only).")
    lines = ["| phase | wall s | CPU s | from an earlier invocation |", "|---|---|---|---|"]
    lines += [f"| {p['phase']} | {p['wall_seconds']} | {p['cpu_seconds']} | {'yes' if p['resumed'] else 'no'} |" for p in result.phase_times]
    lines.append(f"| **sum** | {total_wall:.1f} | {total_cpu:.1f} | |")

    figure = _figure(ctx, result, int(options["cycles"]), names, target_line=paper_data)
    config: dict[str, Any] = {"unlabelled_pairs": len(data["unlabelled"]), "phase_seconds_sum": round(total_wall, 1)}
    if checkpoints is not None:
        config.update({f"{kind}_encoder_paths": [str(checkpoints / f"cycle{result.selected[kind][k]}" / f"{kind}{k}") for k in range(len(models))]
                       for kind in ("bi", "cross")})
    return Report(figures=[figure] if figure is not None else [], notes=[n for n in notes if n], sections={"Phase times": "\n".join(lines)},
                  paper=paper, results=rows, config=config)


EXPERIMENT = Experiment(
    estimator=TransEncoder,
    run_options=RunOptions,
    load=load_data,
    models={"transencoder": make_transencoder},
    evaluate=fit,
    # no budget: the estimator's defaults are the paper's; the reproductions set cycles / bi_epochs for the CPU
    quick={"cycles": 1, "bi_epochs": 1, "bi_batch_size": 32, "cross_batch_size": 16, "max_train_pairs": 64, "max_dev_pairs": 48,
           "max_test_pairs": 48, "sts_avg": False, "synthetic_pairs": 160},
    report=report,
    check=check_options,
    resume_options=("stop_after_phases",),  # stopping early and resuming computes the same finished run
)
