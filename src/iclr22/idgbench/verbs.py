"""idgbench's task verbs on a user's own images with known factors: ``evaluate``, ``fit`` and ``predict``.

``evaluate`` is the benchmark on the user's data: it splits their images the benchmark's four ways on the
factors they choose (:class:`~iclr22.idgbench.userdata.DatasetBenchmark`), trains the toolkit's model families
on each split and writes R² per split and factor (``scores.csv``), which image went where
(``assignments.csv``), the trained models and a ``summary.md``. ``fit`` trains one family on all the images and
saves it; ``predict`` reads a saved model and new images and writes the predicted factors in the user's units.

A model of the user's own (a Python class or a checkpoint) is not taken on the command line: that would run
code from a file named in a command or fix one constructor and training contract for every architecture,
while the Python API takes any model as it is (docs/methods/idgbench.md, "Use it on your data").
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from pathlib import Path

import numpy as np

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.verbs import Verb, add_estimator_options, estimator_settings, print_warning, require_out, write_csv, write_summary

__all__ = ["VERBS"]

_DATA_HELP = (
    ".npz: images [N, H, W] or [N, H, W, C] (uint8 0..255 or 0/1, or float in [0, 1]), factors [N, K] (numbers; "
    "each factor's distinct values are its levels), optional factor_names [K] (strings)"
)
#: A training side smaller than this, or a realised train share this far from the rule's target, gets a warning.
_FEW_TRAINING_IMAGES = 100
_SHARE_GAP = 0.15
#: Fewer optimiser steps than this get a warning: the per-family epochs ("auto") are sized for 20,000 images, and
#: in the tuning runs the CNN's shape regression converged only after ~1,000 steps (docs/methods/idgbench.md).
_FEW_STEPS = 500
_BENCHMARK_STEPS = 1565  # the recorded benchmark's CNN: 5 epochs of 20,000 images at batch 64


def _names(text: str | None, known: tuple[str, ...], what: str) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise ConfigError(f"--{what}: unknown {unknown or 'empty list'}; choose from {', '.join(known)}")
    return names


def _warn(message: str, collected: list[str]) -> None:
    """One line on stderr (also with --quiet: a warning is not progress) and a line in the summary."""
    collected.append(message)
    print_warning(message)


def _load(path: str, collected: list[str]):
    from iclr22.idgbench.userdata import load_factor_dataset

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = load_factor_dataset(path)
    for warning in caught:
        _warn(str(warning.message), collected)
    return dataset


def _levels_line(levels) -> str:
    from iclr22.idgbench.userdata import _show

    return "; ".join(f"{name} ({len(v)} levels: {_show(v, 6)[1:-1]})" for name, v in zip(levels.names, levels.levels))


def _image_shape(images: np.ndarray) -> tuple[int, int, int]:
    channels = 1 if images.ndim == 3 else images.shape[3]
    return channels, images.shape[1], images.shape[2]


def _check_families(families: list[str], images: np.ndarray, num_factors: int) -> None:
    """Every family fits these images (the CNNs need 64 x 64), before anything trains."""
    from iclr22.idgbench.model import build_model

    for family in families:
        build_model(family, _image_shape(images), num_factors)


def _training_line(family: str, config) -> str:
    epochs = (config.vae_epochs or config.epochs) if family == "betavae" else config.epochs
    lr = config.vae_lr if family == "betavae" else config.lr
    return f"{family} {epochs} epoch{'s' if epochs != 1 else ''}, batch {config.batch_size}, peak lr {lr:g}"


def _check_steps(family: str, config, num_images: int, where: str, notes: list[str]) -> None:
    """Warn when ``epochs`` of ``num_images`` give too few optimiser steps for the family to learn the factors."""
    per_epoch = math.ceil(num_images / config.batch_size)
    epochs = (config.vae_epochs or config.epochs) if family == "betavae" else config.epochs
    if epochs * per_epoch < _FEW_STEPS:
        _warn(f"{family} trains {epochs * per_epoch} steps{' ' + where if where else ''} ({epochs} epoch{'s' if epochs != 1 else ''} of {num_images} images): too few to learn every factor "
              f"(the benchmark trains its CNN {_BENCHMARK_STEPS}); --set epochs={math.ceil(_BENCHMARK_STEPS / per_epoch)} gives as many", notes)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


# ------------------------------------------------------------------------------------------- evaluate
def _add_evaluate(parser: argparse.ArgumentParser) -> None:
    from iclr22.idgbench.splits import SPLIT_KINDS

    parser.add_argument("--data", required=True, metavar="FILE", help=_DATA_HELP)
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (created): scores.csv, assignments.csv, models/, summary.md")
    parser.add_argument("--models", default="cnn", metavar="LIST", help="model families, comma-separated: mlp, cnn, coordconv, resnet, vit, betavae (default: cnn)")
    parser.add_argument("--splits", metavar="LIST", help=f"split kinds, comma-separated (default: all four: {', '.join(SPLIT_KINDS)})")
    parser.add_argument("--split-factors", metavar="LIST", help="factors whose values composition, interpolation and extrapolation hold out "
                        "(default: every factor with at least 3 levels)")
    parser.add_argument("--train-fraction", type=float, default=0.3, help="target train share of random, interpolation and extrapolation (default 0.3, the benchmark's)")
    parser.add_argument("--heldin-fraction", type=float, default=0.1, help="share of each training side kept unseen as the in-distribution reference (default 0.1; 0: none)")
    parser.add_argument("--num-train", type=int, metavar="N", help="at most N training images per split (default: all)")
    parser.add_argument("--num-test", type=int, metavar="N", help="at most N test images per split (default: all)")
    add_estimator_options(parser)


def _evaluate(args: argparse.Namespace) -> int:
    from iclr22.idgbench.estimator import FactorRegressor
    from iclr22.idgbench.model import MODEL_FAMILIES
    from iclr22.idgbench.splits import COMPOSITION_TEST_FRACTION, SPLIT_KINDS
    from iclr22.idgbench.userdata import DatasetBenchmark

    settings = estimator_settings(FactorRegressor, args)
    families = _names(args.models, MODEL_FAMILIES, "models")
    chosen_splits = _names(args.splits, SPLIT_KINDS, "splits")
    out = require_out(args.out, "output folder")
    quiet = bool(getattr(args, "quiet", False))
    notes: list[str] = []
    dataset = _load(args.data, notes)
    space = dataset.space
    _check_families(families, dataset.images, space.num_factors)
    for family in families:  # ranges (epochs >= 1, ...) before anything is drawn or trained
        FactorRegressor(family, **settings)._check_params()
    factors = None if args.split_factors is None else [n.strip() for n in args.split_factors.split(",") if n.strip()]
    bench = DatasetBenchmark(dataset, chosen_splits or SPLIT_KINDS, factors, args.train_fraction, COMPOSITION_TEST_FRACTION,
                             args.heldin_fraction, args.num_train, args.num_test, args.seed)
    splits = list(bench.splits)
    if chosen_splits is None and len(bench.split_factors) < 2:
        # the default set adapts to the data; splits the user named are never dropped (they get the error)
        drop = [s for s in splits if s == "composition" or (s != "random" and not bench.split_factors)]
        splits = [s for s in splits if s not in drop]
        why = "no factor has 3 or more levels" if not bench.split_factors else "composition holds out a combination of two or more split factors"
        _warn(f"left out the {', '.join(drop)} split(s): {why} (name --split-factors to choose)", notes)
        bench = DatasetBenchmark(dataset, splits, factors, args.train_fraction, COMPOSITION_TEST_FRACTION, args.heldin_fraction,
                                 args.num_train, args.num_test, args.seed)
    drawn = {kind: bench.split(kind) for kind in splits}  # every split's errors before anything trains
    for kind, split in drawn.items():
        target = 1.0 - COMPOSITION_TEST_FRACTION if kind == "composition" else args.train_fraction
        share = split.train_share(len(dataset))
        if kind != "random" and abs(share - target) > _SHARE_GAP:
            _warn(f"the {kind} split puts {share:.0%} of your images on the training side (its rule aims at {target:.0%} of the grid of "
                  "split-factor levels): your images do not cover that grid evenly", notes)
        if len(split.train) < _FEW_TRAINING_IMAGES:
            _warn(f"the {kind} split trains on {len(split.train)} images only: its scores say little", notes)
    for family in families:
        kind = min(drawn, key=lambda k: len(drawn[k].train))  # one line per family, for its smallest training set
        _check_steps(family, FactorRegressor(family, **settings).training_config(), len(drawn[kind].train), f"on the {kind} split", notes)

    results: dict[tuple[str, str], dict[str, float]] = {}
    saved: list[Path] = []
    for family in families:
        for kind in splits:
            split = drawn[kind]
            regressor = FactorRegressor(family, **settings).fit(dataset.images[split.train], dataset.targets[split.train])
            results[family, kind] = bench.score(regressor.model_, kind)
            folder = out / "models" / f"{family}-{kind}"
            regressor.save(folder)
            dataset.levels.save(folder)
            saved.append(folder)
            if not quiet:
                scores = results[family, kind]
                print(f"{family} / {kind}: R² {scores['r2']:.1f} % on {len(split.test)} test images"
                      + (f" (held-in {scores['r2_heldin']:.1f} %)" if "r2_heldin" in scores else ""), file=sys.stderr, flush=True)

    _write_scores(out / "scores.csv", results, drawn, space.names, space.metric_names)
    roles = [drawn[kind].assignment(len(dataset)) for kind in splits]
    write_csv(out / "assignments.csv", ["index", *splits], ([i, *(r[i] for r in roles)] for i in range(len(dataset))))
    lines = _evaluate_summary(args, dataset, bench, drawn, families, results, settings, notes, out)
    write_summary(out / "summary.md", "idgbench evaluate: your images, the benchmark's four splits", lines)
    if not quiet:
        header = ["model", *splits]
        rows = [[family, *(f"{results[family, k]['r2']:.1f}" for k in splits)] for family in families]
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        print("R² (%) on each split's test images, mean over factors:")
        for row in [header, *rows]:
            print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
        print(f"wrote {out / 'scores.csv'}, {out / 'assignments.csv'}, {out / 'summary.md'} and {len(saved)} models under {out / 'models'}")
    return 0


def _write_scores(path: Path, results, drawn, names, metric_names) -> None:
    header = ["model", "split", "factor", "r2_test", "r2_heldin", "r2_alone_ood", "r2_others_alone_ood", "n_train", "n_heldin", "n_test"]
    rows = []
    for (family, kind), scores in results.items():
        split = drawn[kind]
        counts = [len(split.train), len(split.heldin), len(split.test)]
        for name, metric in zip(names, metric_names):
            alone = scores.get(f"r2_only_{metric}_ood_{metric}")
            others = [scores[f"r2_only_{metric}_ood_{m}"] for m in metric_names if m != metric and f"r2_only_{metric}_ood_{m}" in scores]
            rows.append([family, kind, name, scores[f"r2_{metric}"], scores.get(f"r2_heldin_{metric}", ""),
                         "" if alone is None else alone, float(np.mean(others)) if others else "", *counts])
        rows.append([family, kind, "mean", scores["r2"], scores.get("r2_heldin", ""), scores.get("r2_ood_factor", ""),
                     scores.get("r2_other_factors", ""), *counts])
    write_csv(path, header, rows)


def _held_out(split, levels) -> str:
    if split.split is None:
        return "—"
    parts = []
    for name, indices in split.split.held_out_values.items():
        values = levels.levels[levels.names.index(name)][indices]
        parts.append(f"{name} {_short(values)}")
    return "; ".join(parts)


def _short(values: np.ndarray) -> str:
    from iclr22.idgbench.userdata import _show

    return _show(values, 6)


def _evaluate_summary(args, dataset, bench, drawn, families, results, settings, notes, out) -> list[str]:
    from iclr22.idgbench.estimator import FactorRegressor

    space, n = dataset.space, len(dataset)
    channels, height, width = _image_shape(dataset.images)
    splits = list(drawn)
    trainings = {f: FactorRegressor(f, **settings).training_config() for f in families}
    lines = [*(f"**Warning:** {w}." for w in notes), *([""] if notes else [])]
    lines += [
        f"- data: {args.data}: {n} images, {height} x {width}" + (f" x {channels}" if channels > 1 else ""),
        f"- factors: {_levels_line(dataset.levels)}" + (f"; dropped (one value): {', '.join(dataset.dropped)}" if dataset.dropped else ""),
        f"- split factors (values held out by composition, interpolation, extrapolation): {', '.join(bench.split_factors) or 'none'}"
        + ("" if args.split_factors else " (the default: every factor with 3 or more levels; name a categorical one out with --split-factors)"),
        "- training: " + "; ".join(_training_line(f, t) for f, t in trainings.items()) + f"; seed {args.seed}",
        "- R² is in %: 100 is perfect, 0 is what always predicting a factor's middle level scores, below 0 is worse. Its denominator "
        "is the variance of the factor's levels as if each were equally frequent (the benchmark's grid variance), so it does not "
        "depend on the test images and can be compared across splits.",
        "",
        "## Splits",
        "",
        "| split | rule | held out | training side | train / held-in / test images |",
        "|---|---|---|---|---|",
    ]
    for kind, split in drawn.items():
        rule = f"i.i.d. {args.train_fraction:.0%} of the images are train" if split.split is None else split.split.rule
        lines.append(f"| {kind} | {rule} | {_held_out(split, dataset.levels)} | {split.train_share(n):.1%} | "
                     f"{len(split.train)} / {len(split.heldin)} / {len(split.test)} |")
    lines += ["", "## R² (%) on the test images, mean over factors (held-in: unseen training-side images)", "",
              "| model | " + " | ".join(splits) + " |", "|---|" + "---|" * len(splits)]
    for family in families:
        cells = [f"{_fmt(results[family, k]['r2'])} (held-in {_fmt(results[family, k].get('r2_heldin'))})" for k in splits]
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    lines += ["", "## R² (%) per factor on the test images", "", "| model / split | " + " | ".join(space.names) + " |",
              "|---|" + "---|" * space.num_factors]
    for family in families:
        for kind in splits:
            lines.append(f"| {family} / {kind} | " + " | ".join(_fmt(results[family, kind][f"r2_{m}"]) for m in space.metric_names) + " |")
    modular = [(f, k) for f in families for k in splits if "r2_ood_factor" in results[f, k]]
    if modular:
        lines += ["", "## When one factor alone takes a held-out value", "",
                  "Over the test images where exactly one factor is out of distribution: that factor's R² and the mean R² of the "
                  "others, beside the same factors on the held-in images. A model is modular when the others stay near their "
                  "held-in value while the out-of-distribution factor falls.", "",
                  "| model / split | out-of-distribution factor | other factors | held-in: that factor | held-in: others |", "|---|---|---|---|---|"]
        for family, kind in modular:
            s = results[family, kind]
            lines.append(f"| {family} / {kind} | {_fmt(s.get('r2_ood_factor'))} | {_fmt(s.get('r2_other_factors'))} | "
                         f"{_fmt(s.get('r2_ood_factor_heldin'))} | {_fmt(s.get('r2_other_factors_heldin'))} |")
    lines += [
        "",
        "## Files",
        "",
        "- `scores.csv`: model, split, factor (and `mean`), r2_test, r2_heldin, r2_alone_ood (the factor's R² on the test images "
        "where it alone is out of distribution), r2_others_alone_ood (the other factors' mean R² on those images), image counts",
        "- `assignments.csv`: per image (index in your file), its role in each split: train, heldin, test or unused",
        f"- `models/<model>-<split>/`: the trained regressors (`iclr22.idgbench.FactorRegressor.load(folder)`, or "
        f"`iclr22 idgbench predict --model {out / 'models'}/{families[0]}-{splits[0]} --images FILE --out predictions.csv`)",
    ]
    return lines


# ------------------------------------------------------------------------------------------------ fit
def _add_fit(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, metavar="FILE", help=_DATA_HELP)
    parser.add_argument("--out", required=True, metavar="MODEL", help="model folder (created): the saved regressor, factors.json, summary.md")
    parser.add_argument("--family", default="cnn", help="model family: mlp, cnn (default), coordconv, resnet, vit, betavae")
    add_estimator_options(parser)


def _fit(args: argparse.Namespace) -> int:
    from iclr22.idgbench.estimator import FactorRegressor
    from iclr22.idgbench.metrics import r_squared
    from iclr22.idgbench.model import MODEL_FAMILIES

    settings = estimator_settings(FactorRegressor, args)
    if args.family not in MODEL_FAMILIES:
        raise ConfigError(f"--family: unknown '{args.family}'; choose one of {', '.join(MODEL_FAMILIES)}")
    family = args.family
    out = require_out(args.out, "model folder")
    notes: list[str] = []
    dataset = _load(args.data, notes)
    _check_families([family], dataset.images, dataset.space.num_factors)
    if len(dataset) < _FEW_TRAINING_IMAGES:
        _warn(f"{len(dataset)} images only: a regressor trained on so few says little", notes)
    regressor = FactorRegressor(family, **settings)
    regressor._check_params()
    _check_steps(family, regressor.training_config(), len(dataset), "", notes)
    regressor.fit(dataset.images, dataset.targets)
    regressor.save(out)
    dataset.levels.save(out)
    fitted = r_squared(regressor.predict(dataset.images), dataset.targets, dataset.space)
    config = regressor.training_config()
    channels, height, width = _image_shape(dataset.images)
    lines = [
        *(f"**Warning:** {w}." for w in notes), *([""] if notes else []),
        f"- data: {args.data}: {len(dataset)} images, {height} x {width}" + (f" x {channels}" if channels > 1 else ""),
        f"- factors: {_levels_line(dataset.levels)}" + (f"; dropped (one value): {', '.join(dataset.dropped)}" if dataset.dropped else ""),
        f"- model: {_training_line(family, config)}, seed {args.seed}",
        "- final training loss: " + (f"{regressor.history_[-1]['loss']:.4g}" if regressor.history_ and "loss" in regressor.history_[-1] else "—"),
        "",
        "## R² (%) on the training images",
        "",
        "How well the model fits the images it was trained on — not a test: `iclr22 idgbench evaluate` scores held-out images.",
        "",
        "| " + " | ".join(dataset.space.names) + " | mean |",
        "|" + "---|" * (dataset.space.num_factors + 1),
        "| " + " | ".join(f"{v:.1f}" for v in fitted) + f" | {fitted.mean():.1f} |",
        "",
        f"Load it with `iclr22.idgbench.FactorRegressor.load({str(out)!r})` (outputs: factors normalised to [0, 1] by level, "
        f"`factors.json` maps them back); predict with `iclr22 idgbench predict --model {out} --images FILE --out predictions.csv`.",
    ]
    write_summary(out / "summary.md", f"idgbench factor regressor ({family})", lines)
    if not getattr(args, "quiet", False):
        print(f"fitted {family} on {len(dataset)} images ({dataset.space.num_factors} factors); R² on its training images {fitted.mean():.1f} %; wrote {out}")
    return 0


# -------------------------------------------------------------------------------------------- predict
def _add_predict(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="MODEL", help="a folder written by iclr22 idgbench fit or evaluate (or FactorRegressor.save)")
    parser.add_argument("--images", required=True, metavar="FILE", help=".npz with images [N, H, W(, C)] (factors [N, K] optional: "
                        "scored in the summary), or an .npy of images")
    parser.add_argument("--out", required=True, metavar="CSV", help="predictions CSV (its summary goes next to it, *_summary.md)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or auto")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def _predict(args: argparse.Namespace) -> int:
    from iclr22.core.device import get_device
    from iclr22.idgbench.estimator import FactorRegressor
    from iclr22.idgbench.metrics import r_squared
    from iclr22.idgbench.userdata import FactorLevels, read_images

    out = require_out(args.out, "predictions CSV")
    model = FactorRegressor.load(args.model, device=str(get_device(args.device)))
    levels = FactorLevels.load(args.model)
    images, extra = read_images(args.images)
    if _image_shape(images) != tuple(model.image_shape_):
        c, h, w = model.image_shape_
        raise DataError(f"{args.images}: images are {' x '.join(map(str, _image_shape(images)[1:]))} with {_image_shape(images)[0]} channel(s); "
                        f"the model was trained on {h} x {w} with {c}")
    normalised = model.predict(images)
    k = model.n_factors_
    names = list(levels.names) if levels is not None else [f"factor_{j}" for j in range(k)]
    if levels is not None:
        write_csv(out, ["index", *names, *(f"{n}_normalised" for n in names)],
                  ([i, *map(float, row), *map(float, raw)] for i, (row, raw) in enumerate(zip(levels.values(normalised), normalised))))
    else:
        write_csv(out, ["index", *(f"{n}_normalised" for n in names)], ([i, *map(float, raw)] for i, raw in enumerate(normalised)))
    lines = [
        f"- model: {args.model}; images: {args.images} ({len(images)})",
        f"- predictions: {out}: index, " + (", ".join(names) + " in your units (linear between the factor's levels, clipped to their range), "
                                              if levels is not None else "") + "<factor>_normalised (the model's raw output: level / (levels − 1))",
    ]
    if levels is None:
        lines.append("- the model folder has no factors.json (saved from Python): raw outputs only")
    if "factors" in extra and levels is not None:
        values = np.asarray(extra["factors"])
        values = values[:, None] if values.ndim == 1 else values
        if extra.get("factor_names") is not None:  # the columns of the model's factors, by name
            given = [str(v) for v in extra["factor_names"]]
            missing = [n for n in names if n not in given]
            if missing:
                raise DataError(f"{args.images}: factor_names lack {', '.join(missing)} (the model's factors: {', '.join(names)})")
            values = values[:, [given.index(n) for n in names]]
        scores = r_squared(normalised, levels.space.normalize(levels.classes(values, f"{args.images}: factors")), levels.space)
        lines += ["", "## R² (%) against the factors in the file", "", "| " + " | ".join(names) + " | mean |", "|" + "---|" * (k + 1),
                  "| " + " | ".join(f"{v:.1f}" for v in scores) + f" | {scores.mean():.1f} |"]
    summary = out.with_name(f"{out.stem}_summary.md")
    write_summary(summary, "idgbench predictions", lines)
    if not getattr(args, "quiet", False):
        print(f"predicted {k} factors for {len(images)} images; wrote {out}, {summary}")
    return 0


_EVALUATE_DESCRIPTION = f"""\
The benchmark on your own images: splits them the benchmark's four ways — random (i.i.d.), composition (a corner of
combinations of the split factors' levels, each level still seen), interpolation (interior levels held out),
extrapolation (the top levels held out) — trains the chosen model families on each split's training images and
scores R² (in %) per factor on its test images and on unseen training-side images (held-in). The split rules are
the benchmark's, drawn on the grid of the split factors' levels; the summary gives each split's realised share.

input:  --data FILE  {_DATA_HELP}
        CNN, CoordConv and beta-VAE need 64 x 64 images; mlp, resnet and vit take other sizes.

writes into --out DIR:
  scores.csv        model, split, factor (and mean), r2_test, r2_heldin, r2_alone_ood, r2_others_alone_ood, counts
  assignments.csv   index, one column per split: train, heldin, test or unused
  models/<model>-<split>/  each trained regressor (estimator.json, state.pt, factors.json)
  summary.md        factors and levels, the splits and what they hold out, R² tables, warnings
"""

_FIT_DESCRIPTION = f"""\
Trains one model family to predict every factor from the image, on all your images, and saves it.

input:  --data FILE  {_DATA_HELP}

writes into --out MODEL:
  estimator.json, state.pt   the fitted FactorRegressor (iclr22.idgbench.FactorRegressor.load(MODEL))
  factors.json               the factors' names and levels (maps outputs back to your units)
  summary.md                 data, factors, training settings, R² on the training images
"""

_PREDICT_DESCRIPTION = """\
Predicts the factors of new images with a model saved by fit or evaluate.

input:  --images FILE  .npz with images (and optionally factors / factor_names, then scored), or an .npy of images

writes:
  --out CSV                index, <factor> (your units), <factor>_normalised; one row per image in file order
  <CSV stem>_summary.md    what the columns are; R² per factor when the file has factors
"""

VERBS = (
    Verb("evaluate", "the benchmark on your images: four splits, R² per split and factor (scores.csv, summary.md, models/)",
         _add_evaluate, _evaluate, _EVALUATE_DESCRIPTION, estimator="iclr22.idgbench.estimator:FactorRegressor"),
    Verb("fit", "train a factor regressor on your images and save it (MODEL/, summary.md)", _add_fit, _fit, _FIT_DESCRIPTION,
         estimator="iclr22.idgbench.estimator:FactorRegressor"),
    Verb("predict", "predict the factors of new images with a saved regressor (predictions.csv)", _add_predict, _predict, _PREDICT_DESCRIPTION),
)
