"""trajshap's task verbs: ``iclr22 trajshap fit`` and ``iclr22 trajshap explain`` on a user's trajectory files.

Both read the ``trajfiles`` layout of :func:`iclr22.data.trajectories.load_trajectory_folder`: whitespace-separated
rows ``frame agent_id x y [type]``, one file per scene. ``fit`` trains a
:class:`~iclr22.trajshap.estimator.TrajectoryPredictor` on ``DIR/train/*.txt`` (validation: ``DIR/val/*.txt``,
else one training sample in ten) and saves a fitted :class:`~iclr22.trajshap.estimator.TrajectoryShapley` (the
predictor inside it, the training set's neighbour trajectories as its pool of random agents) with ``verb.json``
(how the files are cut into samples). ``explain`` computes the Shapley values of every sample of ``DIR/test``
(fitting first, or loading ``--model``) and writes them with the file, frame and agent ids they belong to.
"""

from __future__ import annotations

import argparse
import json
import warnings
from collections import defaultdict
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.verbs import Verb, add_estimator_options, require_out, write_csv, write_summary

__all__ = ["VERBS", "SampleOptions", "read_scenes"]

_SIDECAR = "verb.json"
_LAYOUT = "whitespace-separated rows 'frame agent_id x y [type]', one .txt file per scene"


@dataclass
class SampleOptions:
    """How the files are cut into samples (kept in the model folder; ``explain --model`` reuses them).

    Args:
        obs_len: Observed steps per sample, the current one included (the paper: 8).
        pred_len: Predicted steps per sample (the paper: 12).
        radius: Neighbourhood radius in your files' coordinate unit (3 suits pedestrians in metres).
        max_neighbours: At most this many neighbours per sample, nearest first.
        context_types: Agent types (5th column, matched ignoring case) that are neighbours only, never targets.
    """

    obs_len: int = 8
    pred_len: int = 12
    radius: float = 3.0
    max_neighbours: int = 16
    context_types: list[str] = field(default_factory=list)

    def check(self) -> None:
        for name, lowest in (("obs_len", 2), ("pred_len", 1), ("max_neighbours", 0)):
            if getattr(self, name) < lowest:
                raise ConfigError(f"option '{name}' must be at least {lowest}, got {getattr(self, name)}")
        if not self.radius > 0:
            raise ConfigError(f"option 'radius' must be positive, got {self.radius}")

    def cut(self) -> dict[str, Any]:
        """The keyword arguments of :func:`~iclr22.trajshap.scenes.build_samples`."""
        return asdict(self)


# ------------------------------------------------------------------------------------------- options
def _classes() -> tuple[type, type]:
    from iclr22.trajshap.estimator import TrajectoryPredictor, TrajectoryShapley

    return TrajectoryPredictor, TrajectoryShapley


def _schema():
    from iclr22.core.options import OptionSchema

    return OptionSchema.build(SampleOptions, *_classes(), method="trajshap", owners=("run", "estimator", "estimator"))


class _Verb(Verb):
    """A verb whose ``--set`` options span the sample cut, the predictor and the explainer."""

    def options_help(self) -> str:
        text = _schema().help_text()
        return text.replace("run options, --set", "sample options (how your files are cut), --set").replace(
            "method options (the estimator's parameters)", "predictor and attribution options (TrajectoryPredictor, TrajectoryShapley)")


def _settings(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``(sample, predictor, explainer)`` settings given by ``--set``, ``--seed``, ``--device``, ``--quiet``."""
    from iclr22.core.config import parse_overrides
    from iclr22.core.device import get_device
    from iclr22.core.options import options_of

    schema = _schema()
    given = {}
    for key, value in parse_overrides(args.overrides).items():
        if key not in schema:
            raise schema._unknown(key, "option")
        given[key] = schema[key].validate(value)
    predictor_class, shapley_class = _classes()
    runtime = {"seed": args.seed, "device": str(get_device(args.device)), **({"verbose": False} if args.quiet else {})}
    sample = {k: v for k, v in given.items() if k in {f.name for f in fields(SampleOptions)}}
    predictor = {k: v for k, v in given.items() if k in options_of(predictor_class)}
    shapley = {k: v for k, v in given.items() if k in options_of(shapley_class)}
    return sample, {**predictor, **runtime}, {**shapley, **runtime}


# ------------------------------------------------------------------------------------------- reading
def read_scenes(path: str | Path, split: str | None = None, required: bool = True) -> list:
    """The trajectory tables of ``path/split/*.txt`` (or ``path/*.txt``, or the one file ``path``), in name order.

    Raises:
        DataError: a missing folder, no ``.txt`` file (when ``required``), or a malformed file (file and line).
    """
    from iclr22.data.trajectories import read_trajectory_file

    root = Path(path).expanduser()
    if split is None and root.is_file():
        return [read_trajectory_file(root)]
    folder = root / split if split else root
    files = sorted(folder.glob("*.txt")) if folder.is_dir() else []
    if not files and required:
        if not root.exists():
            raise DataError(f"{root}: folder not found (expected train/*.txt and test/*.txt: {_LAYOUT})")
        raise DataError(f"{folder}: no .txt trajectory files (expected {_LAYOUT})")
    return [read_trajectory_file(p) for p in files]


def _scene_label(source: str, root: Path) -> str:
    try:
        return str(Path(source).resolve().relative_to(root.resolve()))
    except ValueError:
        return Path(source).name


def _types(tables: list) -> list[dict[int, str]]:
    """Per scene: agent id -> its type (the first row's), empty for 4-column files."""
    out = []
    for table in tables:
        kinds: dict[int, str] = {}
        if table.agent_type is not None:
            for agent, kind in zip(table.agent_id.tolist(), table.agent_type.tolist()):
                kinds.setdefault(int(agent), str(kind))
        out.append(kinds)
    return out


def _warn(batch, tables: list, sample: SampleOptions, notes: list[str]) -> None:
    from iclr22.trajshap.scenes import neighbourhood_warning

    warning = neighbourhood_warning(batch, sample.radius, tables)
    if warning is not None:
        notes.append(f"**Warning:** {warning}.")
        warnings.warn(warning, UserWarning, stacklevel=1)


# ----------------------------------------------------------------------------------------------- fit
def _train(root: Path, args: argparse.Namespace, out: Path, notes: list[str] | None) -> tuple[Any, SampleOptions, list[str]]:
    """Fit the predictor and the explainer on ``root/train`` and save them into ``out``; summary lines back.
    A near-empty neighbourhood of the training samples is a warning added to ``notes`` (``None``: not checked,
    ``explain`` warns about the samples it explains instead)."""
    from iclr22.trajshap.scenes import build_samples, hold_out

    sample_given, predictor_settings, shapley_settings = _settings(args)
    sample = SampleOptions(**sample_given)
    sample.check()
    predictor_class, shapley_class = _classes()
    train_tables = read_scenes(root, "train")
    val_tables = read_scenes(root, "val", required=False)
    train = build_samples(train_tables, **sample.cut())
    val = build_samples(val_tables, **sample.cut(), require_samples=False) if val_tables else None
    held_out = val is None or len(val) == 0
    if held_out:
        train, val = hold_out(train, args.seed)
    if notes is not None:
        _warn(train, train_tables, sample, notes)
    if shapley_settings.get("random_agent", True) and not bool((train.neighbour_mask > 0).any()):
        raise DataError(f"{root / 'train'}: no training sample has a neighbour within radius={sample.radius:g}, so there is no "
                        "trajectory to draw the random agent from; raise radius (--set radius=R, in your files' unit) or set random_agent=false")
    predictor = predictor_class(args.predictor or "interaction", **predictor_settings).fit(train, X_val=val)
    explainer = shapley_class(predictor, **shapley_settings).fit(train)
    explainer.save(out)
    (out / _SIDECAR).write_text(json.dumps({"samples": asdict(sample)}, indent=2) + "\n", encoding="utf-8")
    with_nb, without_nb = predictor.evaluate(val), predictor.evaluate(val, without_neighbours=True)
    context = ", ".join(sample.context_types) or "none"
    lines = [
        f"- training files: {len(train_tables)} in {root / 'train'}; validation: "
        + (f"{len(val_tables)} files in {root / 'val'}" if not held_out else "one training sample in ten, held out (no val/ folder)"),
        f"- samples: {len(train)} training, {len(val)} validation ({sample.obs_len} observed + {sample.pred_len} predicted steps); "
        f"mean {float(train.num_neighbours.float().mean()):.2f} neighbours per training sample within radius {sample.radius:g}; "
        f"context types (neighbours only): {context}",
        f"- predictor: {predictor.architecture}, {predictor.modes} predicted trajectories per sample, {predictor.epochs} epochs "
        "(the state with the best validation minADE kept)",
        f"- validation minADE / minFDE (best of {predictor.modes}, your files' unit): {with_nb['ade']:.4g} / {with_nb['fde']:.4g}; "
        f"with every neighbour removed: {without_nb['ade']:.4g} / {without_nb['fde']:.4g}",
        f"- attribution: metric={explainer.metric}, removal={explainer.removal}, estimator={explainer.estimator}, "
        f"random agent from {len(explainer.neighbour_pool_) if explainer.neighbour_pool_ is not None else 0} training neighbour trajectories"
        if explainer.random_agent else f"- attribution: metric={explainer.metric}, removal={explainer.removal}, estimator={explainer.estimator}, no random agent",
    ]
    return explainer, sample, lines


def _add_fit(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, metavar="DIR", help=f"folder with train/*.txt (and optional val/*.txt): {_LAYOUT}")
    parser.add_argument("--out", required=True, metavar="MODEL", help="model folder (created): the saved explainer and predictor, summary.md")
    parser.add_argument("--predictor", choices=("interaction", "lstm", "cv"), help="the predictor to train (default interaction: "
                        "past and neighbours; lstm: the past only; cv: constant velocity)")
    add_estimator_options(parser)


def _fit(args: argparse.Namespace) -> int:
    out = require_out(args.out, "model folder")
    notes: list[str] = []
    _, _, lines = _train(Path(args.data).expanduser(), args, out, notes)
    lines += ["", f"Explain new files with `iclr22 trajshap explain --model {out} --data DIR --out OUT`; load it in Python with "
              f"`iclr22.trajshap.TrajectoryShapley.load({str(out)!r})` (its predictor: `.predictor`)."]
    write_summary(out / "summary.md", "trajshap model", [*notes, *([""] if notes else []), *lines])
    if not args.quiet:
        print(f"fitted the predictor and its explainer on {args.data}; wrote {out}")
    return 0


# ------------------------------------------------------------------------------------------- explain
def _load(model: Path, args: argparse.Namespace) -> tuple[Any, SampleOptions]:
    from iclr22.core.estimator import load_estimator

    sample_given, predictor_settings, shapley_settings = _settings(args)
    runtime = {"seed", "device", "verbose"}
    trained = sorted(k for k in predictor_settings if k not in runtime)
    if trained or args.predictor:
        raise ConfigError(f"--model {model}: its predictor is already trained; {', '.join(trained) or '--predictor'} cannot change it "
                          "(fit again without --model to train with other settings)")
    sidecar = model / _SIDECAR
    if not sidecar.is_file():
        raise DataError(f"{model}: not a folder written by `iclr22 trajshap fit` or `explain` (no {_SIDECAR})")
    explainer = load_estimator(model, device=shapley_settings["device"])
    if type(explainer).__name__ != "TrajectoryShapley":
        raise DataError(f"{model}: holds a {type(explainer).__name__}, expected a TrajectoryShapley (written by `iclr22 trajshap fit`)")
    explainer.set_params(**shapley_settings)
    explainer._check_params()
    if explainer.random_agent and explainer.neighbour_pool_ is None:
        raise ConfigError(f"--model {model}: it was fitted without a pool of random agents; set random_agent=false")
    saved = json.loads(sidecar.read_text(encoding="utf-8")).get("samples", {})
    sample = SampleOptions(**{**saved, **sample_given})
    sample.check()
    return explainer, sample


def _add_explain(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, metavar="DIR", help="without --model: a folder with train/*.txt and test/*.txt (optional "
                        "val/*.txt); with --model: DIR/test/*.txt, else DIR/*.txt, or one .txt file. " + _LAYOUT)
    parser.add_argument("--out", required=True, metavar="OUT", help="output folder (created): attributions.csv, samples.csv, "
                        "neighbours.csv, summary.md and, when it trains, model/")
    parser.add_argument("--model", metavar="MODEL", help="a folder written by `iclr22 trajshap fit` (or explain's OUT/model): explain with it")
    parser.add_argument("--predictor", choices=("interaction", "lstm", "cv"), help="the predictor to train when there is no --model "
                        "(default interaction)")
    parser.add_argument("--max-samples", type=int, default=0, metavar="N", help="explain a seeded subset of N samples (default 0: all)")
    add_estimator_options(parser)


def _explain(args: argparse.Namespace) -> int:
    from iclr22.trajshap.scenes import build_samples

    out = require_out(args.out, "output folder")
    root = Path(args.data).expanduser()
    notes: list[str] = []
    if args.model:
        explainer, sample = _load(Path(args.model).expanduser(), args)
        tables = read_scenes(root, "test") if (root / "test").is_dir() else read_scenes(root, None)
        fitted_lines = [f"- model: {args.model} (trained earlier)"]
    else:
        explainer, sample, fitted_lines = _train(root, args, out / "model", None)
        tables = read_scenes(root, "test")
        fitted_lines = [f"- model: trained here, saved in {out / 'model'}", *fitted_lines]
    if args.max_samples < 0:
        raise ConfigError(f"--max-samples must be 0 (all) or positive, got {args.max_samples}")
    batch = build_samples(tables, **sample.cut())
    if args.max_samples and len(batch) > args.max_samples:
        batch = batch.index(np.sort(np.random.default_rng(args.seed + 1).choice(len(batch), args.max_samples, replace=False)))
    _warn(batch, tables, sample, notes)
    attributions = explainer.explain(batch)
    predictor = explainer.predictor
    with_nb, without_nb = predictor.evaluate(batch), predictor.evaluate(batch, without_neighbours=True)
    files = _write_tables(out, root.parent if root.is_file() else root, tables, batch, attributions)
    lines = _explain_summary(args, explainer, sample, tables, batch, attributions, with_nb, without_nb, files)
    write_summary(out / "summary.md", "trajshap attributions",
                  [*notes, *([""] if notes else []), "## Model", "", *fitted_lines, "", "## Explained samples", "", *lines])
    if not args.quiet:
        print(f"explained {len(batch)} samples of {len(tables)} files; wrote {', '.join(str(out / f) for f in files)} and {out / 'summary.md'}")
    return 0


_ATTRIBUTION_COLUMNS = ["sample", "scene", "frame", "agent_id", "feature", "neighbour_id", "neighbour_type", "distance", "shapley_value", "stderr"]


def _write_tables(out: Path, root: Path, tables: list, batch, attributions) -> list[str]:
    """attributions.csv (one row per sample and feature), samples.csv (one per sample), neighbours.csv (one per
    neighbour agent of a file); returns their names."""
    labels = [_scene_label(t.source, root) for t in tables]
    kinds = _types(tables)
    rows, per_sample = [], []
    per_neighbour: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    for i in range(len(batch)):
        scene, frame, agent = int(batch.scene[i]), int(batch.frame[i]), int(batch.agent[i])
        head = [i, labels[scene], frame, agent]
        values, errors = attributions.values[i], attributions.stderr[i]
        real = np.flatnonzero(batch.neighbour_mask[i].numpy() > 0)
        rows.append([*head, "past", "", "", "", float(values[0]), float(errors[0])])
        for k, j in enumerate(real):
            other = int(batch.neighbour_ids[i, j])
            distance = float(np.linalg.norm(batch.neighbours[i, j, -1].numpy()))
            rows.append([*head, "neighbour", other, kinds[scene].get(other, ""), distance, float(values[1 + k]), float(errors[1 + k])])
            per_neighbour[(scene, other)].append((float(values[1 + k]), distance))
        has_random = np.isfinite(attributions.random[i])
        if has_random:
            rows.append([*head, "random", "", "", "", float(values[-1]), float(errors[-1])])
        per_sample.append([*head, len(real), -float(attributions.full_value[i]), -float(attributions.empty_value[i]), float(values[0]),
                           float(attributions.interaction[i]), float(values[-1]) if has_random else ""])
    write_csv(out / "attributions.csv", _ATTRIBUTION_COLUMNS, rows)
    write_csv(out / "samples.csv", ["sample", "scene", "frame", "agent_id", "neighbours", "error", "error_without_inputs",
                                     "phi_past", "phi_interaction", "phi_random"], per_sample)
    neighbour_rows = []
    for (scene, other), seen in per_neighbour.items():
        phi, distance = np.array(seen).T
        neighbour_rows.append([labels[scene], other, kinds[scene].get(other, ""), len(seen), float(phi.mean()), float(phi.max()), float(distance.mean())])
    neighbour_rows.sort(key=lambda r: -r[4])
    write_csv(out / "neighbours.csv", ["scene", "neighbour_id", "neighbour_type", "samples", "mean_shapley", "max_shapley", "mean_distance"], neighbour_rows)
    return ["attributions.csv", "samples.csv", "neighbours.csv"]


def _explain_summary(args, explainer, sample: SampleOptions, tables, batch, attributions, with_nb, without_nb, files) -> list[str]:
    unit = "nats per predicted step" if explainer.metric == "nll" else "your files' coordinate unit"
    metric = {"ade": "minADE", "fde": "minFDE", "nll": "NLL"}[explainer.metric]
    modes = explainer.predictor.modes
    summary = attributions.summary()
    counts = batch.num_neighbours.numpy()
    with_neighbours = counts > 0
    lines = [
        f"- explained: {len(batch)} samples (a target agent at a frame) of {len(tables)} files in {args.data}; "
        f"{int(with_neighbours.sum())} have neighbours within radius {sample.radius:g} (mean {float(counts.mean()):.2f} per sample)",
        f"- predictor on these samples, minADE / minFDE (best of {modes}, your files' unit): {with_nb['ade']:.4g} / {with_nb['fde']:.4g}; "
        f"with every neighbour removed: {without_nb['ade']:.4g} / {without_nb['fde']:.4g}",
        "",
        f"## Mean Shapley values ({metric} gained, in {unit})",
        "",
        "| input | mean Shapley value |",
        "|---|---|",
        f"| the target's past | {summary['past']:.4g} |",
        f"| interaction (its most useful neighbour; 0 without neighbours) | {summary['interaction']:.4g} |",
    ]
    if "random" in summary:
        lines.append(f"| a random agent from another scene (a control: about 0 when nothing spurious is used) | {summary['random']:.4g} |")
        if with_neighbours.any():
            beats = float((attributions.interaction[with_neighbours] > attributions.random[with_neighbours]).mean())
            lines += ["", f"On the {int(with_neighbours.sum())} samples with neighbours the most useful neighbour earns more than the "
                      f"random agent in {beats:.0%} of them; neighbours that earn no more than a random agent are not being used."]
    kinds = _types(tables)
    if any(kinds) and with_neighbours.any():
        by_type: dict[str, list[float]] = defaultdict(list)
        for i in np.flatnonzero(with_neighbours):
            real = np.flatnonzero(batch.neighbour_mask[i].numpy() > 0)
            for value, j in zip(attributions.neighbour_values(int(i)), real):
                by_type[kinds[int(batch.scene[i])].get(int(batch.neighbour_ids[i, j]), "")].append(float(value))
        lines += ["", "## By neighbour type", "", "| type | neighbour rows | mean Shapley value | share > 0 |", "|---|---|---|---|"]
        for kind, values in sorted(by_type.items(), key=lambda kv: -np.mean(kv[1])):
            lines.append(f"| {kind or '-'} | {len(values)} | {np.mean(values):.4g} | {np.mean(np.array(values) > 0):.0%} |")
    lines += [
        "",
        "## Files",
        "",
        f"- `{files[0]}`: one row per explained sample and input: sample, scene (file), frame (of the target's last observed "
        "position), agent_id (the target), feature (past, neighbour, random), neighbour_id and neighbour_type (neighbour rows), "
        f"distance (neighbour to target at that frame, your unit), shapley_value ({metric} gained, {unit}; > 0: the input lowers "
        "the error), stderr (0 for exact values).",
        f"- `{files[1]}`: one row per sample: error ({metric} with every input) and error_without_inputs; phi_past + the neighbours' "
        "values + phi_random add up to their difference (Shapley estimators); phi_interaction is the largest neighbour value.",
        f"- `{files[2]}`: one row per neighbour agent of a file: the samples it is a neighbour in, its mean and largest value, "
        "its mean distance. Agent ids are those of each file; the same id in two files is two rows.",
        f"- settings: obs_len={sample.obs_len}, pred_len={sample.pred_len}, radius={sample.radius:g}, max_neighbours={sample.max_neighbours}, "
        f"context_types={','.join(sample.context_types) or '(none)'}; metric={explainer.metric}, removal={explainer.removal}, "
        f"estimator={explainer.estimator} (used: {', '.join(f'{k} {v}' for k, v in attributions.estimators_used.items())})",
    ]
    return lines


_FIT_DESCRIPTION = f"""\
Trains a trajectory predictor on your files and saves it with its explainer (the Shapley attribution of
its error to the target's past, each neighbour and a random agent from another scene).

input:  --data DIR   DIR/train/*.txt (optional DIR/val/*.txt; without it one training sample in ten
                     validates): {_LAYOUT}. Agents whose type is in context_types (matched ignoring case)
                     are neighbours only, never targets (e.g. a ball).

writes into --out MODEL:
  estimator.json, state.pt, predictor/   the explainer and its predictor (TrajectoryShapley.load(MODEL))
  verb.json                              how the files are cut into samples (radius, obs_len, ...)
  summary.md                             samples, neighbours, validation minADE with and without neighbours

A near-empty neighbourhood (fewer than one neighbour per sample within radius) prints a warning with a
radius to try: radius is in your files' unit (3 suits pedestrians in metres).
"""

_EXPLAIN_DESCRIPTION = f"""\
Shapley values of a trajectory predictor's error on your files: for every sample (a target agent at a
frame), how much its own past, each neighbour (by agent id) and a random agent from another scene lower
the predictor's minADE (best of K), in your files' coordinate unit. Without --model it trains first on
DIR/train (as `iclr22 trajshap fit`) and saves the model in OUT/model.

input:  --data DIR   without --model: DIR/train/*.txt, DIR/test/*.txt (optional DIR/val/*.txt);
                     with --model: DIR/test/*.txt, else DIR/*.txt, or one file. {_LAYOUT}

writes into --out OUT:
  attributions.csv   sample, scene, frame, agent_id, feature (past | neighbour | random), neighbour_id,
                     neighbour_type, distance, shapley_value, stderr
  samples.csv        per sample: neighbours, error, error_without_inputs, phi_past, phi_interaction, phi_random
  neighbours.csv     per neighbour agent of a file: samples, mean_shapley, max_shapley, mean_distance
  summary.md         mean values, the random-agent comparison, per neighbour type; warnings
  model/             the trained model (without --model)
"""

VERBS = (
    _Verb("fit", "train a predictor on your trajectory files and save it with its explainer (MODEL/, summary.md)", _add_fit, _fit, _FIT_DESCRIPTION),
    _Verb("explain", "Shapley values of each sample's past, each neighbour (by agent id) and a random agent (attributions.csv)",
          _add_explain, _explain, _EXPLAIN_DESCRIPTION),
)
