"""DIVA's task verbs: ``iclr22 diva find-issues`` and ``iclr22 diva reweight`` on a user's own embeddings.

Both read ``--features FILE`` (embeddings and labels: an ``.npz`` with ``X`` and ``y``, or ``X_train`` and
``y_train``; or a ``.csv``/``.tsv`` with a header whose ``--label-column`` holds the labels and whose other
columns are numeric features), fit :class:`~iclr22.diva.estimator.DIVA` on the labels as given (no noise is
injected), and write CSV files, a ``summary.md`` and the fitted model folder (``DIVA.load`` reads it).
"""

from __future__ import annotations

import argparse
import csv
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from iclr22.core.errors import DataError
from iclr22.core.verbs import Verb, add_estimator_options, estimator_settings, require_out, write_csv, write_summary

__all__ = ["VERBS", "read_labelled"]

_INPUT_HELP = (
    "embeddings and labels: .npz with arrays X and y (or X_train and y_train), or .csv/.tsv with a header "
    "row whose --label-column holds the labels (ints or strings) and whose other columns are numeric features"
)
_SCORE_SENTENCE = (
    "The derivative is dL/dalpha_i, how much the leave-one-out (or validation) loss would rise if sample i "
    "counted a little more: large positive values mark likely mislabelled or harmful samples, negative values "
    "samples that help."
)
_FLAGGED_SENTENCE = "A sample is flagged when its derivative is at least epsilon."
_SUGGESTED_SENTENCE = (
    "suggested_label is the class with the highest closed-form leave-one-out output of the fitted weighted "
    "ridge at the final weights (the model that did not see the sample)."
)


# ------------------------------------------------------------------------------------------- reading
def read_labelled(path: str | Path, label_column: str = "label", what: str = "features") -> tuple[np.ndarray, np.ndarray]:
    """Features ``[N, d]`` (float32) and class labels ``[N]`` from a user's ``.npz``, ``.csv`` or ``.tsv``.

    Labels stay strings when any of them is not a number; numeric labels must be whole numbers (they are
    returned as int64).

    Raises:
        DataError: naming the file and what is wrong (missing file or array or column, a non-numeric
            feature cell, float labels, mismatched lengths, NaN).
    """
    from iclr22.core.validation import check_array

    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: {what} file not found")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        X, y = _read_npz(path)
    elif suffix in (".csv", ".tsv", ".txt"):
        X, y = _read_table(path, "\t" if suffix == ".tsv" else ",", label_column)
    else:
        raise DataError(f"{path}: unknown {what} format {suffix!r} (expected .npz, .csv or .tsv)")
    X = check_array(X, str(path), dtype=np.float32)
    if y.ndim != 1:
        raise DataError(f"{path}: labels must be 1-D, got shape {tuple(y.shape)}")
    if y.shape[0] != X.shape[0]:
        raise DataError(f"{path}: {y.shape[0]} labels but {X.shape[0]} feature rows")
    return X, _class_labels(y, path)


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            for x_name, y_name in (("X", "y"), ("X_train", "y_train")):
                if x_name in names and y_name in names:
                    return np.asarray(archive[x_name]), np.asarray(archive[y_name])
    except ValueError as exc:  # object arrays (pickled) or a corrupt archive
        raise DataError(f"{path}: cannot read the arrays ({' '.join(str(exc).split())}); save labels as numbers or fixed-width strings") from None
    except OSError as exc:
        raise DataError(f"{path}: not a readable .npz archive ({exc})") from None
    raise DataError(f"{path}: expected arrays 'X' and 'y' (or 'X_train' and 'y_train'), found {names}")


def _read_table(path: Path, delimiter: str, label_column: str) -> tuple[np.ndarray, np.ndarray]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle, delimiter=delimiter) if row]
    if len(rows) < 2:
        raise DataError(f"{path}: needs a header row and at least one data row")
    header = [cell.strip() for cell in rows[0]]
    if label_column not in header:
        raise DataError(f"{path}: no label column {label_column!r} in the header (columns: {', '.join(header[:10])}{', ...' if len(header) > 10 else ''}); name it with --label-column")
    if len(header) < 2:
        raise DataError(f"{path}: no feature columns besides the label column {label_column!r}")
    label_at = header.index(label_column)
    features, labels = [], []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(f"{path}: line {line} has {len(row)} columns, the header has {len(header)}")
        label = row[label_at].strip()
        if not label:
            raise DataError(f"{path}: line {line}: empty label")
        labels.append(label)
        values = []
        for column, cell in enumerate(row):
            if column == label_at:
                continue
            try:
                values.append(float(cell))
            except ValueError:
                raise DataError(f"{path}: line {line}, column {header[column]!r}: not a number ({cell!r})") from None
        features.append(values)
    return np.asarray(features, dtype=np.float64), np.asarray(labels)


def _class_labels(y: np.ndarray, path: Path) -> np.ndarray:
    """Integers when every label is a whole number, strings when any is not a number; else a DataError."""
    if y.dtype.kind in "iub":
        return y.astype(np.int64)
    if y.dtype.kind in "US":
        try:
            numbers = y.astype(np.float64)
        except ValueError:
            return y.astype(str)
    elif y.dtype.kind == "f":
        numbers = y.astype(np.float64)
    else:
        raise DataError(f"{path}: labels of dtype {y.dtype} are not supported (use integers or strings)")
    if not np.all(np.isfinite(numbers)):
        raise DataError(f"{path}: labels hold NaN or inf")
    fractional = numbers != np.round(numbers)
    if fractional.any():
        first = int(np.flatnonzero(fractional)[0])
        raise DataError(f"{path}: labels must be classes, got the non-whole number {numbers[first]:g} (row {first}); "
                        "DIVA classifies, it does not regress")
    return numbers.astype(np.int64)


# ------------------------------------------------------------------------------------------- fitting
def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--features", required=True, metavar="FILE", help=_INPUT_HELP)
    parser.add_argument("--label-column", default="label", help="the label column of a .csv/.tsv (default: label)")
    parser.add_argument("--val", metavar="FILE", help="optional validation set, same format: its loss becomes the objective")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    add_estimator_options(parser)


def _fit(args: argparse.Namespace, defaults: dict[str, Any]) -> tuple[Any, np.ndarray, np.ndarray, Path, dict[str, Any], list[str]]:
    from iclr22.diva.estimator import DIVA

    settings = estimator_settings(DIVA, args, defaults)
    out = require_out(args.out, "output folder")
    X, y = read_labelled(args.features, args.label_column)
    X_val = y_val = None
    if args.val:
        X_val, y_val = read_labelled(args.val, args.label_column, "validation")
        if X_val.shape[1] != X.shape[1]:
            raise DataError(f"{args.val}: {X_val.shape[1]} feature columns, {args.features} has {X.shape[1]}")
        if y_val.dtype.kind != y.dtype.kind:
            raise DataError(f"{args.val}: its labels are {'strings' if y_val.dtype.kind == 'U' else 'numbers'}, those of {args.features} are not")
        unknown = np.setdiff1d(np.unique(y_val), np.unique(y))
        if unknown.size:
            raise DataError(f"{args.val}: labels not in the training set: {', '.join(map(str, unknown[:5]))}")
    with warnings.catch_warnings(record=True) as caught:  # shown on stderr and written into summary.md
        warnings.simplefilter("always", UserWarning)
        model = DIVA(**settings).fit(X, y, X_val=X_val, y_val=y_val)
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    model.save(out / "model")
    return model, X, y, out, settings, [str(w.message) for w in caught]


def _warning_lines(warned: list[str]) -> list[str]:
    return [*(f"**Warning:** {w}." for w in warned), *([""] if warned else [])]


def _settings_lines(model: Any, settings: dict[str, Any]) -> list[str]:
    chosen = {k: v for k, v in settings.items() if k not in ("verbose",)}
    lines = ["## Settings", ""]
    lines.append("- given: " + (", ".join(f"{k}={v}" for k, v in sorted(chosen.items())) or "the defaults"))
    steps = f"steps = {model.steps_}, lr = {model.lr_:.4g}" if model.steps_ else "steps = 0 (no reweighting)"
    lines.append(f"- used: reg (lambda) = {model.reg_:.4g}, objective = {model.objective_}, loss = {model.loss}, "
                 f"{steps}, epsilon = {model.epsilon:g}")
    return lines


def _label(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


# --------------------------------------------------------------------------------------- find-issues
def _add_find_issues(parser: argparse.ArgumentParser) -> None:
    _add_common(parser)
    parser.add_argument("--top", type=int, default=10, metavar="K", help="rows of the ranking shown in summary.md (default 10)")


def _find_issues(args: argparse.Namespace) -> int:
    if args.top < 0:
        raise DataError(f"--top must be non-negative, got {args.top}")
    model, X, y, out, settings, warned = _fit(args, {"steps": 0})
    derivative = np.asarray(model.derivative_, dtype=np.float64)
    suggested = model.loo_predict(X, y)  # the class the model trained without the sample predicts
    order = np.argsort(-derivative, kind="stable")
    flagged = derivative >= model.epsilon
    rows = [(int(i), _label(y[i]), _label(suggested[i]), float(derivative[i]), bool(flagged[i])) for i in order]
    header = ["index", "given_label", "suggested_label", "derivative", "flagged"]
    write_csv(out / "label_issues.csv", header, rows)
    top = rows[: args.top]
    lines = [
        *_warning_lines(warned),
        f"- samples: {len(y)}, classes: {len(model.classes_)}, features: {X.shape[1]}",
        f"- flagged (derivative >= epsilon = {model.epsilon:g}): {int(flagged.sum())} ({100.0 * flagged.mean():.1f}%)",
        f"- suggested label differs from the given one: {int((suggested != y).sum())}",
        "",
        _SCORE_SENTENCE + " " + _FLAGGED_SENTENCE,
        _SUGGESTED_SENTENCE,
        "",
        f"## Top {len(top)} (most detrimental first; every sample is in label_issues.csv)",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *(f"| {i} | {g} | {s} | {d:.4g} | {f} |" for i, g, s, d, f in top),
        "",
        *_settings_lines(model, settings),
        "",
        "The fitted model is in model/ (`iclr22.diva.DIVA.load(path)`).",
    ]
    write_summary(out / "summary.md", "DIVA label issues", lines)
    if not getattr(args, "quiet", False):
        print(f"{int(flagged.sum())} of {len(y)} samples flagged; wrote {out / 'label_issues.csv'}, {out / 'summary.md'}, {out / 'model'}")
    return 0


# ------------------------------------------------------------------------------------------ reweight
def _reweight(args: argparse.Namespace) -> int:
    model, X, y, out, settings, warned = _fit(args, {})
    weights = np.asarray(model.weights_, dtype=np.float64)
    derivative = np.asarray(model.derivative_, dtype=np.float64)
    write_csv(out / "weights.csv", ["index", "given_label", "weight", "derivative"],
              ((i, _label(y[i]), float(weights[i]), float(derivative[i])) for i in range(len(y))))
    lines = [
        *_warning_lines(warned),
        f"- samples: {len(y)}, classes: {len(model.classes_)}, features: {X.shape[1]}",
        f"- weights: min {weights.min():.4g}, mean {weights.mean():.4g}, max {weights.max():.4g}; "
        f"{int((weights == 0).sum())} at zero, {int((weights < 1).sum())} below 1, {int((weights > 1).sum())} above 1",
        "",
        "weights.csv holds each sample's weight after DIVA Reweight (alpha <- max(0, alpha - lr * dL/dalpha / max|dL/dalpha|), "
        "from 1) and the derivative at the start; down-weighted samples are the ones that hurt the loss. "
        "Pass the weights as sample_weight to your own training, or use the refit model in model/.",
        "",
        _SCORE_SENTENCE,
        "",
        *_settings_lines(model, settings),
        "",
        "The fitted model is in model/ (`iclr22.diva.DIVA.load(path)`).",
    ]
    write_summary(out / "summary.md", "DIVA reweight", lines)
    if not getattr(args, "quiet", False):
        print(f"{int((weights < 1).sum())} of {len(y)} samples down-weighted; wrote {out / 'weights.csv'}, {out / 'summary.md'}, {out / 'model'}")
    return 0


_OUTPUTS_FIND = f"""\
Fits DIVA on your embeddings and labels as given (no noise is injected) and ranks every sample by the
dataset derivative dL/dalpha_i (leave-one-out loss, or the --val loss). Default steps=0 (the derivative at
weight 1 for every sample, as find_label_issues); --set steps=1 also reweights before the suggestions.

input:  --features FILE  {_INPUT_HELP}

writes into --out DIR:
  label_issues.csv  index, given_label, suggested_label, derivative, flagged; every sample, most detrimental
                    first. flagged = derivative >= epsilon (--set epsilon=...). {_SUGGESTED_SENTENCE}
  summary.md        counts, the top rows, the settings
  model/            the fitted DIVA (iclr22.diva.DIVA.load)
"""

_OUTPUTS_REWEIGHT = f"""\
Fits DIVA on your embeddings and labels as given and takes DIVA Reweight steps on the sample weights
(default: 1 step, its size chosen by leave-one-out error), then refits the weighted ridge.

input:  --features FILE  {_INPUT_HELP}

writes into --out DIR:
  weights.csv   index, given_label, weight, derivative (one row per sample, in file order)
  summary.md    weight statistics and the settings
  model/        the fitted DIVA (iclr22.diva.DIVA.load)
"""

VERBS = (
    Verb("find-issues", "rank your samples by the dataset derivative: likely label issues first (label_issues.csv)",
         _add_find_issues, _find_issues, _OUTPUTS_FIND, estimator="iclr22.diva.estimator:DIVA", defaults={"steps": 0}),
    Verb("reweight", "DIVA Reweight of your samples (weights.csv) and the refit model", _add_common, _reweight, _OUTPUTS_REWEIGHT,
         estimator="iclr22.diva.estimator:DIVA"),
)
