"""GRDA's task verbs: ``iclr22 grda fit`` and ``iclr22 grda predict`` on a user's own domains.

``fit`` reads the user's domains — an ``.npz`` in the DG layout (:func:`iclr22.data.load_dg`: ``data``, ``label``,
``domain``, ``A``[, ``src_domain``, ``g_encode``]) or a ``.csv``/``.tsv`` of samples (header; ``domain``, ``label``,
feature columns) with ``--graph`` (an edge list ``src,dst`` or a square 0/1 adjacency;
:func:`iclr22.data.load_domain_csv`) — hides the labels of the target domains, fits
:class:`~iclr22.grda.estimator.GRDA` and saves it as a model folder with a ``summary.md``. ``predict`` reads the
saved model and samples in the same layouts (:func:`iclr22.data.read_domain_samples`; labels optional) and writes
one CSV row per sample. Accuracy is in percent everywhere (:meth:`GRDA.score`).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.verbs import Verb, add_estimator_options, estimator_settings, print_warning, require_out, write_csv, write_summary
from iclr22.data.domains import DomainDataset, read_domain_samples
from iclr22.grda.graph import DomainGraphWarning, graph_warnings

__all__ = ["VERBS", "FIT_DEFAULTS", "read_domains"]

#: The experiment's settings for DG data (``experiment.BUDGET``), with the label-free random pairing: the
#: experiment's aligned pairing (the k-th sample of every domain) pairs same-class samples only because the DG
#: files are sorted by class, i.e. it reads labels through file order, which a user's file need not have.
FIT_DEFAULTS: dict[str, Any] = {"hidden": 64, "epochs": 100, "pairing": "random"}

_DATA_HELP = (
    "your samples: a .csv/.tsv with a header row, a 'domain' column (ids 0..D-1), a 'label' column (class ids; empty "
    "or negative = unknown; target-domain labels are never used) and numeric feature columns (with --graph); or an "
    ".npz in the DG layout: data [N, F], label [N], domain [N], A [D, D] symmetric 0/1 domain graph, optional "
    "src_domain (source ids) and g_encode [D, k] (domain embeddings)"
)
_GRAPH_HELP = (
    "the domain graph of a .csv/.tsv --data: an edge list (two columns src,dst of domain ids, header optional, "
    "one line per undirected edge) or a square 0/1 symmetric adjacency (.csv/.tsv/.npy); an .npz --data holds it as A"
)
_PREDICT_HELP = (
    "samples to predict: a .csv/.tsv with a header, a 'domain' column (ids of the model's graph), numeric feature "
    "columns in the order used to fit, and optionally 'label' (then scored per domain); or an .npz with data, domain[, label]"
)


# ------------------------------------------------------------------------------------------- reading
def read_domains(path: str | Path, sources: list[int] | None = None, graph: str | Path | None = None,
                 domain_column: str = "domain", label_column: str = "label") -> DomainDataset:
    """The :class:`~iclr22.data.domains.DomainDataset` of a user's file, ``-1`` in ``y`` where a label is unknown.

    ``.npz`` (DG layout, graph ``A`` inside) or ``.csv``/``.tsv`` with ``graph``. Sources: ``sources``, else the
    file's ``src_domain``, else the domains whose every label is known.

    Raises:
        DataError: naming the file and what is wrong (missing key or column, domain id outside the graph, ...).
        ConfigError: a table without ``graph``, or ``graph`` beside an ``.npz``.
    """
    from iclr22.data import load_dg, load_domain_csv

    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: data file not found")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        if graph is not None:
            raise ConfigError(f"--graph is for .csv/.tsv data; {path} holds its domain graph as A")
        data = load_dg(path, path.stem, source_domains=sources, unknown_labels=True)
    elif suffix in (".csv", ".tsv"):
        if graph is None:
            raise ConfigError(f"{path}: a table of samples needs --graph FILE (an edge list src,dst or a 0/1 adjacency)")
        data = load_domain_csv(path, graph, source_domains=sources, domain_column=domain_column, label_column=label_column)
    else:
        raise DataError(f"{path}: expected a .csv/.tsv of samples (with --graph) or an .npz in the DG layout, not {suffix!r}")
    if data.source_domains is None:
        known = data.y >= 0
        data.source_domains = np.asarray([d for d in np.unique(data.domain) if known[data.domain == d].all()], dtype=np.int64)
    return data


def _edges(adjacency: np.ndarray) -> list[tuple[int, int]]:
    rows, cols = np.nonzero(np.triu(adjacency, 1))
    return [(int(i), int(j)) for i, j in zip(rows, cols)]


def _ids(text: str) -> list[int]:
    try:
        return [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise ConfigError(f"--sources takes comma-separated domain ids, got {text!r}") from None


def _add_columns(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--domain-column", default="domain", metavar="NAME", help="a table's domain-id column (default: domain)")
    parser.add_argument("--label-column", default="label", metavar="NAME", help="a table's label column (default: label)")


# ------------------------------------------------------------------------------------------------ fit
def _add_fit(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, metavar="FILE", help=_DATA_HELP)
    parser.add_argument("--graph", metavar="FILE", help=_GRAPH_HELP)
    parser.add_argument("--sources", metavar="IDS", help="labelled source domains, e.g. 0,1,2 (default: the file's src_domain, "
                        "else every domain whose labels are all known)")
    parser.add_argument("--out", required=True, metavar="MODEL", help="model folder (created): the saved GRDA and summary.md")
    _add_columns(parser)
    add_estimator_options(parser)


def _fit(args: argparse.Namespace) -> int:
    from iclr22.grda.estimator import GRDA

    settings = estimator_settings(GRDA, args, FIT_DEFAULTS)
    if settings.get("task", "classification") != "classification":
        raise ConfigError("iclr22 grda fit classifies (the layouts hold class ids); use the GRDA estimator from Python for regression")
    out = require_out(args.out, "model folder")
    data = read_domains(args.data, _ids(args.sources) if args.sources else None, args.graph, args.domain_column, args.label_column)
    sources = data.source_domains
    targets = np.setdiff1d(np.arange(data.num_domains), sources)
    y = np.where(np.isin(data.domain, sources), data.y, -1)  # the targets' labels are never used
    edges = _edges(data.adjacency)
    reasons = graph_warnings(data.adjacency, sources)
    for reason in reasons:  # before training, which may take minutes
        print_warning(reason)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DomainGraphWarning)  # GRDA.fit says the same; said once above
        model = GRDA(**settings).fit(data.x, y, data.domain, data.adjacency, source_domains=sources, domain_embedding=data.domain_embedding)
    model.save(out)
    counts = np.bincount(data.domain, minlength=data.num_domains)
    chosen = {k: v for k, v in settings.items() if k != "verbose"}
    shown = ", ".join(f"({i}, {j})" for i, j in edges[:30]) + (f", ... ({len(edges)} in all)" if len(edges) > 30 else "")
    lines = [
        *(f"**Warning:** {w}." for w in reasons),
        *([""] if reasons else []),
        f"- data: {args.data}" + (f"; graph: {args.graph}" if args.graph else ""),
        f"- samples: {len(data.x)}, features: {data.x.shape[1]}, classes: {', '.join(map(str, model.classes_.tolist()))}",
        f"- domains: {data.num_domains}; sources (labelled): {' '.join(map(str, sources.tolist())) or 'none'}; "
        f"targets: {' '.join(map(str, targets.tolist())) or 'none'} (their labels are not used)",
        f"- edges: {len(edges)}" + (f": {shown}" if edges else ""),
        f"- domain index: {model.domain_index_mode_}",
        "",
        "## Samples per domain",
        "",
        "| domain | role | samples | neighbours |",
        "|---|---|---|---|",
        *(f"| {d} | {'source' if d in set(sources.tolist()) else 'target'} | {int(counts[d])} | "
          f"{' '.join(str(int(n)) for n in np.flatnonzero(data.adjacency[d])) or '-'} |" for d in range(data.num_domains)),
        "",
        "## Training settings",
        "",
        "- given: " + ", ".join(f"{k}={v}" for k, v in sorted(chosen.items())),
        f"- pairing={model.pairing}: " + ("label-free, each domain's own permutation (the default here: the aligned pairing "
                                          "reads labels through file order)" if model.pairing == "random" else
                                          "the k-th sample of every domain (pairs same-class samples only on class-sorted files)"),
        "- final losses: " + (", ".join(f"{k} {v:.4g}" for k, v in model.history_[-1].items() if k != "epoch" and isinstance(v, (int, float))) if model.history_ else "no epochs"),
        "",
        f"Load it with `iclr22.grda.GRDA.load({str(out)!r})`; predict with `iclr22 grda predict --model {out} --data FILE --out predictions.csv`.",
    ]
    write_summary(out / "summary.md", "GRDA model", lines)
    if not getattr(args, "quiet", False):
        print(f"fitted GRDA on {len(data.x)} samples of {data.num_domains} domains ({sources.size} sources); wrote {out}")
    return 0


# -------------------------------------------------------------------------------------------- predict
def _add_predict(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="MODEL", help="a folder written by iclr22 grda fit (or GRDA.save)")
    parser.add_argument("--data", required=True, metavar="FILE", help=_PREDICT_HELP)
    parser.add_argument("--out", required=True, metavar="CSV", help="predictions CSV (its summary goes next to it, *_summary.md)")
    parser.add_argument("--per-domain", action="store_true", help="per-domain rows (samples, accuracy when labels are given) in the summary")
    _add_columns(parser)
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or auto")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def _predict(args: argparse.Namespace) -> int:
    from iclr22.core.device import get_device
    from iclr22.grda.estimator import GRDA

    out = require_out(args.out, "predictions CSV")
    model = GRDA.load(args.model, device=str(get_device(args.device)))
    if model.task != "classification":
        raise ConfigError(f"{args.model}: a regression model; iclr22 grda predict writes class predictions")
    x, domain, labels = read_domain_samples(args.data, domain_column=args.domain_column, label_column=args.label_column)
    model._check_domain_ids(domain, model.num_domains_, str(args.data))
    probabilities = model.predict_proba(x, domain)
    predicted = model.classes_[probabilities.argmax(1)]
    classes = [str(c) for c in model.classes_.tolist()]
    write_csv(out, ["index", "domain", "predicted_label", *(f"p_{c}" for c in classes)],
              ((i, int(domain[i]), int(predicted[i]), *map(float, probabilities[i])) for i in range(len(x))))
    known = labels >= 0 if labels is not None else np.zeros(len(x), dtype=bool)
    sources = set(model.source_domains_.tolist())

    def accuracy(rows: np.ndarray) -> str:
        rows = rows & known
        return f"{100.0 * float((predicted[rows] == labels[rows]).mean()):.1f}% ({int(rows.sum())} labelled)" if rows.any() else "-"

    is_source = np.isin(domain, list(sources))
    lines = [
        f"- model: {args.model}; data: {args.data}",
        f"- samples: {len(x)} in {np.unique(domain).size} domains; predictions: {out}",
        f"- columns: index, domain, predicted_label, p_<class> for classes {', '.join(classes)} (probabilities sum to 1)",
        f"- accuracy: all {accuracy(np.ones(len(x), dtype=bool))}; source domains {accuracy(is_source)}; "
        f"target domains {accuracy(~is_source)}" if labels is not None else "- accuracy: no labels in the file",
    ]
    if args.per_domain:
        lines += ["", "## Per domain", "", "| domain | role | samples | accuracy |", "|---|---|---|---|"]
        for d in np.unique(domain):
            rows = domain == d
            lines.append(f"| {int(d)} | {'source' if int(d) in sources else 'target'} | {int(rows.sum())} | {accuracy(rows)} |")
    summary = out.with_name(f"{out.stem}_summary.md")
    write_summary(summary, "GRDA predictions", lines)
    if not getattr(args, "quiet", False):
        print(f"predicted {len(x)} samples; wrote {out}, {summary}")
    return 0


_FIT_DESCRIPTION = """\
Fits GRDA on your domains: the labelled source domains and the unlabelled target domains, linked by your domain
graph, then saves the model. Settings: the experiment's for DG data (hidden=64, epochs=100) with the label-free
pairing="random" (the experiment's pairing="aligned" reads labels through file order: it pairs the k-th samples of
all domains, which are of one class only in class-sorted files); --set key=value changes any GRDA parameter.
A graph without edges is accepted with a warning on stderr and in summary.md (the method then has nothing to adapt with).

example:
  samples.csv   x1,x2,domain,label        edges.csv   src,dst
                0.31,-1.20,0,1                        0,1
                0.02,0.75,3,                          1,2
  iclr22 grda fit --data samples.csv --graph edges.csv --out model/

writes into --out MODEL:
  estimator.json, state.pt   the fitted GRDA (iclr22.grda.GRDA.load(MODEL))
  summary.md                 domains, sources, edges, samples per domain, training settings
"""

_PREDICT_DESCRIPTION = """\
Predicts with a saved GRDA for any domain of its graph: --data in the layout fit read (a .csv/.tsv needs no graph;
its feature columns in the order used to fit; a 'label' column is optional and only scores the predictions).

writes:
  --out CSV          index, domain, predicted_label, p_<class> (one row per sample, in file order)
  <CSV stem>_summary.md   counts and accuracy in percent (source / target domains; per domain with --per-domain)
"""

VERBS = (
    Verb("fit", "adapt GRDA to your domains and their graph, save the model (MODEL/, summary.md)", _add_fit, _fit, _FIT_DESCRIPTION,
         estimator="iclr22.grda.estimator:GRDA", defaults=FIT_DEFAULTS),
    Verb("predict", "predict with a saved GRDA for any domain of its graph (predictions.csv)", _add_predict, _predict, _PREDICT_DESCRIPTION),
)
