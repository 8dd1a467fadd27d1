"""Trans-Encoder's task verbs: ``iclr22 transencoder fit`` on a user's unlabelled pairs, ``score`` for any pairs.

``fit`` reads a pair file (TSV or CSV with ``sentence1`` and ``sentence2`` columns; no scores needed), runs the
self-distillation loop of :class:`~iclr22.transencoder.estimator.TransEncoder` and saves the fitted estimator as a
model folder whose ``bi0/`` is a sentence-transformers folder (the bi-encoder) and ``cross0/`` a Hugging Face folder
that ``sentence_transformers.CrossEncoder`` reads (the cross-encoder), with a ``summary.md``. An optional ``--dev``
file with gold scores chooses the cycle of each model and is reported. ``score`` writes both models' score of
every pair of a file as CSV.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from iclr22.core.errors import DataError
from iclr22.core.verbs import Verb, add_estimator_options, estimator_settings, require_out, write_csv, write_summary

__all__ = ["VERBS"]

_SCALES = "bi_score: cosine of the two embeddings, -1..1; cross_score: sigmoid of the cross-encoder's logit, 0..1; higher = more similar"



def _unique(pairs: Any) -> tuple[Any, int]:
    """The pairs without exact repeats (a repeat would only weigh a pair twice), and how many were dropped."""
    from iclr22.data.sentence_pairs import SentencePairs

    seen: set[tuple[str, str]] = set()
    first, second = [], []
    for a, b in zip(pairs.sentence1, pairs.sentence2):
        if (a, b) not in seen:
            seen.add((a, b))
            first.append(a)
            second.append(b)
    return SentencePairs(first, second, None, pairs.name), len(pairs) - len(first)


def _fmt(value: float | None) -> str:
    return "—" if value is None or value != value else f"{value:.2f}"


# ---------------------------------------------------------------------------------------------- fit
def _add_fit(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pairs", required=True, metavar="FILE",
                        help="unlabelled pairs: .tsv or .csv with a header naming sentence1 and sentence2 (a score column is ignored)")
    parser.add_argument("--dev", metavar="FILE", help="optional gold-scored pairs (sentence1, sentence2, score; any scale): "
                                                      "choose each model's cycle and report Spearman x100; never trained on")
    parser.add_argument("--out", required=True, metavar="MODEL", help="model folder to write (created)")
    parser.add_argument("--keep-checkpoints", action="store_true",
                        help="keep MODEL/checkpoints (every cycle's models and pseudo-labels); by default removed after a finished fit")
    add_estimator_options(parser)


def _fit(args: argparse.Namespace) -> int:
    from iclr22.data.sentence_pairs import load_pairs
    from iclr22.transencoder.estimator import TransEncoder

    settings = estimator_settings(TransEncoder, args)
    out = require_out(args.out, "model folder to write")
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: exists and is not a folder (the model is written as a folder)")
    pairs, repeats = _unique(load_pairs(args.pairs, ignore_scores=True))
    dev = load_pairs(args.dev, require_scores=True) if args.dev else None
    checkpoints = out / "checkpoints"
    model = TransEncoder(**settings, checkpoint_dir=str(checkpoints))
    model._check_params()  # a value out of range fails before the data and models load
    quiet = getattr(args, "quiet", False)
    if dev is None:
        warnings.warn("no --dev pairs with gold scores: the last cycle's models are kept without a check against the pretrained "
                      "model they started from, and on small pair sets the loop can end below it; give --dev to compare", UserWarning,
                      stacklevel=2)
    if not quiet:
        print(f"transencoder fit: {len(pairs)} unlabelled pairs, {model.cycles} cycle(s) from {model.bi_model} "
              f"(cross-encoder {model.cross_epochs} epoch(s), bi-encoder {model.bi_epochs} epoch(s) per cycle); "
              f"phases are saved in {checkpoints}, so the same command resumes an interrupted fit", file=sys.stderr, flush=True)
    started = time.perf_counter()
    model.fit(pairs, dev=dev)
    seconds = time.perf_counter() - started
    if not args.keep_checkpoints:
        model.set_params(checkpoint_dir=None)  # the saved parameters must not name a folder that is removed below
    model.save(out)
    if not args.keep_checkpoints:
        shutil.rmtree(checkpoints, ignore_errors=True)

    result = model.result_
    lines, verdicts = _fit_summary(args, model, pairs, repeats, dev, out, seconds, settings)
    write_summary(out / "summary.md", "Trans-Encoder model", lines)
    for verdict in verdicts:
        warnings.warn(verdict, UserWarning, stacklevel=2)
    if not quiet:
        where = ", ".join(f"{kind}-encoder {out / f'{kind}{k}'} (cycle {result.selected[kind][k]})"
                          for k in range(len(model.bi_encoders_)) for kind in ("bi", "cross"))
        print(f"wrote {where}; summary {out / 'summary.md'}")
    return 0


def _fit_summary(args: argparse.Namespace, model: Any, pairs: Any, repeats: int, dev: Any, out: Path, seconds: float,
                 settings: dict[str, Any]) -> tuple[list[str], list[str]]:
    """``summary.md``'s lines, and a warning when a trained model ranks the dev pairs below the pretrained start."""
    result = model.result_
    k_models = len(model.bi_encoders_)
    starts = [model.bi_model] + ([model.second_model] if k_models > 1 else [])
    lines = [
        f"- pairs learnt from: {args.pairs}: {len(pairs)} pairs" + (f" ({repeats} exact repeats dropped)" if repeats else "") + "; no labels used",
        (f"- dev: {args.dev}: {len(dev)} gold-scored pairs, used to choose each model's cycle (never trained on)" if dev is not None
         else "- dev: none, so the last cycle's models are kept, unchecked against the pretrained start"),
        f"- pretrained start: {', '.join(starts)}; {model.cycles} cycle(s) of a cross-encoder ({model.cross_epochs} epoch(s)) "
        f"and a bi-encoder ({model.bi_epochs} epoch(s)) on each other's pseudo-labels; {seconds:.0f} s",
        "",
        "## Models",
        "",
        "| model | folder | a pair's score | load it with |",
        "|---|---|---|---|",
    ]
    for k in range(k_models):
        suffix = f" ({starts[k]})" if k_models > 1 else ""
        lines += [
            f"| bi-encoder{suffix}, cycle {result.selected['bi'][k]} | `{out / f'bi{k}'}` | cosine of the two embeddings, -1..1 "
            f"| `sentence_transformers.SentenceTransformer(\"{out / f'bi{k}'}\")` |",
            f"| cross-encoder{suffix}, cycle {result.selected['cross'][k]} | `{out / f'cross{k}'}` | sigmoid of one logit over both "
            f"sentences, 0..1 | `sentence_transformers.CrossEncoder(\"{out / f'cross{k}'}\")` |",
        ]
    lines += [f"| both, with this run's record | `{out}` | as above | `iclr22.transencoder.TransEncoder.load(\"{out}\")` |", ""]
    verdicts: list[str] = []
    if dev is not None:
        lines += ["## Dev pairs: Spearman x 100 per phase", "", "| phase | " + " | ".join(
            f"{kind}-encoder{f' ({starts[k]})' if k_models > 1 else ''}" for k in range(k_models) for kind in ("bi", "cross")) + " |",
            "|---|" + "---|" * (2 * k_models)]
        lines.append("| start (pretrained) | " + " | ".join(f"{_fmt(result.start[k]['dev'])} | —" for k in range(k_models)) + " |")
        for cycle in range(1, int(model.cycles) + 1):
            cells = []
            for k in range(k_models):
                for kind in ("bi", "cross"):
                    row = next(h for h in result.history if h["cycle"] == cycle and h["kind"] == kind and h["model"] == k)
                    mark = " (kept)" if result.selected[kind][k] == cycle else ""
                    cells.append(f"{_fmt(row['dev'])}{mark}")
            lines.append(f"| cycle {cycle} | " + " | ".join(cells) + " |")
        lines.append("")
        for k in range(k_models):
            start, below = result.start[k]["dev"], []
            for kind in ("bi", "cross"):
                kept = next(h for h in result.history if h["cycle"] == result.selected[kind][k] and h["kind"] == kind and h["model"] == k)
                if start is None or kept["dev"] is None:
                    continue
                lines.append(f"- the trained {kind}-encoder ranks your dev pairs at {_fmt(kept['dev'])}, the pretrained {starts[k]} "
                             f"(its bi-encoder) at {_fmt(start)}")
                if kept["dev"] < start:
                    below.append(f"the {kind}-encoder ({_fmt(kept['dev'])})")
            if below:
                # said plainly: nothing in the loop keeps the pretrained model when the students end below it
                verdicts.append(f"on your dev pairs {' and '.join(below)} {'rank' if len(below) > 1 else 'ranks'} below the pretrained "
                                f"{starts[k]} it started from ({_fmt(start)}, Spearman x 100): the pretrained model may serve you better")
        lines.append("")
        lines += [f"**{v[0].upper() + v[1:]}.**\n" for v in verdicts]
    chosen = {key: value for key, value in settings.items() if key not in ("verbose",)}
    lines += [
        "## Settings",
        "",
        "- given: " + (", ".join(f"{key}={value}" for key, value in sorted(chosen.items())) or "the defaults"),
        "- every other parameter: TransEncoder's default (`iclr22 transencoder fit --help` lists them)",
        "",
        f"Score pairs with both models: `iclr22 transencoder score --model {out} --pairs pairs.tsv --out scores.csv` ({_SCALES}).",
    ]
    return lines, verdicts


# -------------------------------------------------------------------------------------------- score
def _add_score(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="MODEL", help="a folder written by `iclr22 transencoder fit`")
    parser.add_argument("--pairs", required=True, metavar="FILE",
                        help=".tsv or .csv with a header naming sentence1 and sentence2; a score column (gold) is compared, never needed")
    parser.add_argument("--out", required=True, metavar="CSV", help="scores CSV to write")
    parser.add_argument("--encoder", choices=("both", "bi", "cross"), default="both",
                        help="which model scores the pairs (default both; the bi-encoder is the faster)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or auto")
    parser.add_argument("--quiet", action="store_true", help="no summary line")


def _score(args: argparse.Namespace) -> int:
    from iclr22.core.device import get_device
    from iclr22.data.sentence_pairs import load_pairs
    from iclr22.transencoder.estimator import TransEncoder
    from iclr22.transencoder.train import spearman

    folder = Path(args.model).expanduser()
    if not (folder / "estimator.json").is_file():
        raise DataError(f"{folder}: not a model folder written by `iclr22 transencoder fit` (no estimator.json)")
    out = require_out(args.out, "scores CSV to write")
    model = TransEncoder.load(folder, device=str(get_device(args.device)))
    pairs = load_pairs(args.pairs)
    kinds = ("bi", "cross") if args.encoder == "both" else (args.encoder,)
    columns: dict[str, Any] = {}
    for k in range(len(model.bi_encoders_)):
        for kind in kinds:
            columns[f"{kind}_score{'_b' if k else ''}"] = model.predict(pairs, encoder=kind, model=k)
    header = ["sentence1", "sentence2", *columns]
    write_csv(out, header, ([a, b, *(float(v[i]) for v in columns.values())]
                            for i, (a, b) in enumerate(zip(pairs.sentence1, pairs.sentence2))))
    if not args.quiet:
        print(f"wrote {out}: {len(pairs)} pairs ({_SCALES})")
        if pairs.scores is not None:
            print("Spearman x 100 against the file's score column: "
                  + ", ".join(f"{name} {_fmt(spearman(v, pairs.scores))}" for name, v in columns.items()))
    return 0


_FIT_DESCRIPTION = """\
Trains a bi-encoder and a cross-encoder on your unlabelled sentence pairs, starting from a pretrained
sentence-transformers model (default all-MiniLM-L6-v2, offline): each cycle the bi-encoder labels the pairs,
a cross-encoder learns those labels, then a bi-encoder learns the cross-encoder's (Trans-Encoder, ICLR 2022).

input:  --pairs FILE  .tsv (tab-separated) or .csv, header naming sentence1 and sentence2; no scores needed
        --dev FILE    optional: sentence1, sentence2, score (gold, any scale): chooses each model's cycle
options: --set KEY=VALUE with TransEncoder's parameters (listed below: cycles, epochs, batch sizes, learning rates,
        bi_model=minilm|mpnet|FOLDER, mode=mutual, ...); the defaults are the paper's (3 cycles, 10 bi-encoder
        epochs), slow on a CPU: --set cycles=1 --set bi_epochs=1 for a first try

writes the folder --out MODEL:
  bi0/                        the bi-encoder: sentence_transformers.SentenceTransformer("MODEL/bi0")
  cross0/                     the cross-encoder: sentence_transformers.CrossEncoder("MODEL/cross0")
  estimator.json, state.pt    the fitted TransEncoder with its record (iclr22.transencoder.TransEncoder.load)
  summary.md                  the pairs, the models and where they are, dev Spearman x 100 per cycle
  checkpoints/                while it runs (kept with --keep-checkpoints): the same command resumes it
"""

_SCORE_DESCRIPTION = f"""\
Scores sentence pairs with a model folder from `iclr22 transencoder fit`.

input:  --pairs FILE  .tsv or .csv with a header naming sentence1 and sentence2 (a score column is compared)
writes: --out CSV     sentence1, sentence2, bi_score, cross_score, one row per pair in the file's order
                      ({_SCALES}; mutual models add bi_score_b, cross_score_b)
"""

VERBS = (
    Verb("fit", "train a bi-encoder and a cross-encoder on your unlabelled sentence pairs and save both", _add_fit, _fit, _FIT_DESCRIPTION,
         estimator="iclr22.transencoder.estimator:TransEncoder"),
    Verb("score", "score sentence pairs with both saved models (scores.csv)", _add_score, _score, _SCORE_DESCRIPTION),
)
