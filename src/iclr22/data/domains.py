"""Graph-relational domain-adaptation data (GRDA, Xu et al., ICLR 2022): DG-N toy sets and TPT-48.

On-disk formats read here:

* **DG-N ``.npz``** (``grda/dg15/dg15.npz``, also the generic user format): ``data`` float ``[N, F]``,
  ``label`` int ``[N]``, ``domain`` int ``[N]`` in ``0..D-1``, ``A`` ``[D, D]`` symmetric 0/1 domain
  adjacency; optional ``g_encode`` ``[D, k]`` domain-node embeddings and ``src_domain`` (source domain ids).
  Read with ``allow_pickle=False``; with ``unknown_labels=True`` negative labels mean "unknown" (a user's file).
* **A user's tables** (:func:`load_domain_csv`): samples in a ``.csv``/``.tsv`` with a header, a ``domain``
  column, a ``label`` column (empty or negative = unknown) and feature columns (:func:`read_domain_samples`);
  the graph as an edge list ``src,dst`` or a square 0/1 adjacency (:func:`read_domain_graph`).
* **DG-N pickles** as released in Wang-ML-Lab/GRDA (``toy_d15_spiral_tight_boundary.pkl``: a dict with
  ``data``, ``label``, ``domain``, ``A``; ``g_encode_15.pkl``: ``{"0": array, ...}``), read through the
  restricted unpickler of :mod:`iclr22.data.safe_pickle`.
* **TPT-48** ``tpt48.npz``: ``temp`` ``[48, 144]`` monthly mean temperature (°F, Jan 2008 .. Dec 2019, states
  sorted alphabetically), ``states`` ``[48]`` abbreviations, ``A`` ``[48, 48]`` symmetric 0/1 state adjacency,
  ``lat_norm``/``lon_norm`` min-max normalised coordinates. Full state names are taken from
  ``longitude-latitude-normalize.csv`` (``state,latitude,longitude,name``) when that file is present.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from iclr22.core.errors import ConfigError, DataError
from iclr22.data import _checks
from iclr22.data.safe_pickle import load_pickle

__all__ = [
    "DomainDataset",
    "StateTemperatures",
    "load_dg",
    "load_dg_pickle",
    "load_domain_csv",
    "read_domain_samples",
    "read_domain_graph",
    "load_tpt48",
    "tpt48_source_domains",
    "TPT48_NORTH_STATES",
    "TPT48_EAST_STATES",
]

#: N->S source states of TPT-48 (Wang-ML-Lab/VDI ``configs/config_tpt_48_NS.py``).
TPT48_NORTH_STATES = (
    "ND VT NH ME WA MT SD MN WI MI NY MA OR ID WY NE IA IL IN OH PA NJ CT RI".split()
)

#: E->W source states of TPT-48: the black nodes of the GRDA paper's Figure 6 (left panel), which the official
#: repository ships as ``fig/GRDA-domain-graph-US.png`` (no config lists them). Their breadth-first levels leave
#: 8 / 7 / 9 target states at distance 1 / 2 / 3, Table 2's counts.
TPT48_EAST_STATES = (
    "VT NH ME NY MA CT RI MI IN OH PA NJ MO KY WV MD DE TN VA AL GA NC FL SC".split()
)


@dataclass
class DomainDataset:
    """Points from several domains that are the nodes of a known domain graph.

    Attributes:
        x: float32 ``[N, F]`` inputs.
        y: int64 ``[N]`` class labels; ``-1`` marks an unknown label (only from the readers of a user's files,
            :func:`load_dg` with ``unknown_labels=True`` and :func:`load_domain_csv`).
        domain: int64 ``[N]`` domain id of every point, ``0..D-1``.
        adjacency: int64 ``[D, D]`` symmetric 0/1 domain graph.
        domain_embedding: float32 ``[D, k]`` pre-computed domain-node embeddings, or ``None``.
        source_domains: int64 ids of the labelled source domains, or ``None`` when the data do not say.
        name: Dataset name.
        domain_names: One name per domain (default ``"0".."D-1"``).
        domain_angle: float64 ``[D]`` the generating angle of each domain (DG-N files' ``angle``), or ``None``.
    """

    x: np.ndarray
    y: np.ndarray
    domain: np.ndarray
    adjacency: np.ndarray
    domain_embedding: np.ndarray | None = None
    source_domains: np.ndarray | None = None
    name: str = "dg"
    domain_names: list[str] = field(default_factory=list)
    domain_angle: np.ndarray | None = None

    @property
    def num_domains(self) -> int:
        """Number of domains ``D``."""
        return int(self.adjacency.shape[0])

    @property
    def target_domains(self) -> np.ndarray | None:
        """The domains that are not sources (``None`` when ``source_domains`` is ``None``)."""
        if self.source_domains is None:
            return None
        return np.setdiff1d(np.arange(self.num_domains), self.source_domains)

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass
class StateTemperatures:
    """TPT-48: monthly mean temperature of the 48 contiguous US states, a regression dataset.

    Attributes:
        temperatures: float64 ``[48, 144]`` in °F; row = state, column = month (``0`` = Jan 2008).
        states: Two-letter abbreviations, the order of the rows (alphabetical).
        adjacency: int64 ``[48, 48]`` symmetric 0/1 state-border graph (105 edges).
        lat_norm: float64 ``[48]`` min-max normalised latitude.
        lon_norm: float64 ``[48]`` min-max normalised longitude (larger = further east).
        state_names: Full names (or the abbreviations when no names file is present).
        first_month: ``"2008-01"``, the month of column 0.
    """

    temperatures: np.ndarray
    states: list[str]
    adjacency: np.ndarray
    lat_norm: np.ndarray
    lon_norm: np.ndarray
    state_names: list[str]
    first_month: str = "2008-01"

    @property
    def num_states(self) -> int:
        """Number of states (domains)."""
        return len(self.states)

    def index_of(self, abbreviations: Sequence[str]) -> np.ndarray:
        """Row indices of the given state abbreviations.

        Raises:
            DataError: If an abbreviation is not in ``states``.
        """
        position = {s: i for i, s in enumerate(self.states)}
        unknown = [s for s in abbreviations if s not in position]
        if unknown:
            raise DataError(f"TPT-48: unknown state(s) {', '.join(unknown)} (known: {' '.join(self.states)})")
        return np.asarray([position[s] for s in abbreviations], dtype=np.int64)


# ------------------------------------------------------------------------------------------------- DG-N
def load_dg(
    path_or_dir: str | Path, name: str = "dg15", *, source_domains: Sequence[int] | None = None, unknown_labels: bool = False
) -> DomainDataset:
    """Read a DG-N ``.npz`` (the pickle-free DG-15 copy, or your own data in the same layout).

    Args:
        path_or_dir: The ``.npz`` file, or a folder holding ``<name>.npz``.
        name: Dataset name; also the file stem when a folder is given.
        source_domains: Source domain ids; overrides the file's ``src_domain``.
        unknown_labels: Negative labels mark unknown ones (``y`` holds ``-1`` there) instead of being an error:
            a user's file whose target domains are unlabelled.

    Returns:
        The :class:`DomainDataset` (DG-15: 1500 points, 15 domains, sources 0, 12, 3, 4, 14, 8).

    Raises:
        DataError: On a missing/corrupt file, missing keys, non-finite inputs, a non-square / asymmetric /
            non-0/1 adjacency, domain or source ids out of range, or arrays of mismatched length.
    """
    path = _checks.as_path(path_or_dir)
    if path.is_dir() or path.suffix != ".npz":
        path = _checks.require_files(path, [f"{name}.npz"])[f"{name}.npz"]
    arrays = _checks.load_npz_arrays(path, ["data", "label", "domain", "A"], ["g_encode", "src_domain", "angle"])
    sources = arrays.get("src_domain") if source_domains is None else np.asarray(source_domains)
    return _domain_dataset(arrays, path, name, arrays.get("g_encode"), sources, unknown_labels)


def load_dg_pickle(
    path: str | Path,
    *,
    g_encode_path: str | Path | None = None,
    source_domains: Sequence[int] | None = None,
    name: str | None = None,
) -> DomainDataset:
    """Read a DG-N pickle as released in Wang-ML-Lab/GRDA, through the restricted unpickler.

    Args:
        path: The ``.pkl`` with a dict ``{data, label, domain, A[, angle]}``.
        g_encode_path: Optional ``g_encode_<D>.pkl`` with ``{"0": embedding, "1": ...}``.
        source_domains: Source domain ids (the official DG-15 ones are ``0, 12, 3, 4, 14, 8``).
        name: Dataset name (default: the file stem).

    Returns:
        The :class:`DomainDataset`.

    Raises:
        DataError: As :func:`load_dg`, plus forbidden pickle globals.
    """
    path = _checks.as_path(path)
    content = load_pickle(path)
    if not isinstance(content, dict) or not {"data", "label", "domain", "A"} <= set(content):
        raise DataError(f"{path}: expected a dict with keys data, label, domain, A")
    arrays = {k: np.asarray(content[k]) for k in ("data", "label", "domain", "A")}
    embedding = None
    if g_encode_path is not None:
        embedding = _g_encode_from_pickle(_checks.as_path(g_encode_path))
    sources = None if source_domains is None else np.asarray(source_domains)
    return _domain_dataset(arrays, path, name or path.stem, embedding, sources)


def _g_encode_from_pickle(path: Path) -> np.ndarray:
    content = load_pickle(path)
    if not isinstance(content, dict):
        raise DataError(f"{path}: expected a dict {{'0': embedding, '1': ...}}")
    try:
        keys = sorted(content, key=int)
    except (TypeError, ValueError):
        raise DataError(f"{path}: keys must be domain ids '0'..'D-1'") from None
    if [int(k) for k in keys] != list(range(len(keys))):
        raise DataError(f"{path}: keys must be exactly the domain ids 0..{len(keys) - 1}")
    try:
        return np.stack([np.asarray(content[k], dtype=np.float32) for k in keys])
    except ValueError as exc:
        raise DataError(f"{path}: embeddings of unequal shape ({exc})") from None


def _integral(array: np.ndarray, path: Path, what: str) -> np.ndarray:
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise DataError(f"{path}: {what} must be whole numbers")
    elif array.dtype.kind not in "iub":
        raise DataError(f"{path}: {what} must be integers, found dtype {array.dtype}")
    return array.astype(np.int64)


def _check_adjacency(adjacency: np.ndarray, path: Path) -> np.ndarray:
    if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1]:
        raise DataError(f"{path}: A must be a square [D, D] matrix, found shape {adjacency.shape}")
    adjacency = _integral(adjacency, path, "A")
    if not np.isin(adjacency, (0, 1)).all():
        raise DataError(f"{path}: A must hold only 0/1 entries")
    if not np.array_equal(adjacency, adjacency.T):
        raise DataError(f"{path}: A must be symmetric (undirected domain graph)")
    return adjacency


def _domain_dataset(
    arrays: dict[str, np.ndarray], path: Path, name: str, embedding: np.ndarray | None, sources: np.ndarray | None,
    unknown_labels: bool = False,
) -> DomainDataset:
    x = arrays["data"]
    if x.ndim != 2 or x.dtype.kind not in "iuf":
        raise DataError(f"{path}: data must be a numeric [N, F] array, found {x.dtype} {x.shape}")
    x = x.astype(np.float32)
    _checks.check_finite(x, path, "data")
    adjacency = _check_adjacency(arrays["A"], path)
    num_domains = adjacency.shape[0]
    y = _integral(arrays["label"], path, "label")
    domain = _integral(arrays["domain"], path, "domain")
    for what, values in (("label", y), ("domain", domain)):
        if values.shape != (x.shape[0],):
            raise DataError(f"{path}: {what} has shape {values.shape}, expected ({x.shape[0]},) like data")
    if unknown_labels:
        y = np.where(y < 0, -1, y)
    elif y.size and y.min() < 0:
        raise DataError(f"{path}: label holds negative class id {int(y.min())}")
    _checks.check_ids_in_range(domain, num_domains, path, "domain ids")
    if embedding is not None:
        embedding = np.asarray(embedding, dtype=np.float32)
        if embedding.ndim != 2 or embedding.shape[0] != num_domains:
            raise DataError(f"{path}: g_encode has shape {embedding.shape}, expected ({num_domains}, k)")
        _checks.check_finite(embedding, path, "g_encode")
    if sources is not None:
        sources = _integral(np.asarray(sources).reshape(-1), path, "source domains")
        _checks.check_ids_in_range(sources, num_domains, path, "source domains")
        if np.unique(sources).size != sources.size:
            raise DataError(f"{path}: source domains repeat an id")
    angle = arrays.get("angle")
    if angle is not None:
        angle = np.asarray(angle, dtype=np.float64).reshape(-1)
        if angle.shape != (num_domains,):
            raise DataError(f"{path}: angle has shape {angle.shape}, expected ({num_domains},), one per domain")
        _checks.check_finite(angle, path, "angle")
    return DomainDataset(
        x=x,
        y=y,
        domain=domain,
        adjacency=adjacency,
        domain_embedding=embedding,
        source_domains=sources,
        name=name,
        domain_names=[str(d) for d in range(num_domains)],
        domain_angle=angle,
    )


# ------------------------------------------------------------------------------------ a user's tables
def read_domain_samples(
    path: str | Path, *, domain_column: str = "domain", label_column: str = "label"
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Inputs, domain ids and (when the file has them) class labels of samples from several domains.

    ``.npz``: arrays ``data`` ``[N, F]``, ``domain`` ``[N]``, optional ``label`` ``[N]``. ``.csv`` / ``.tsv``: a
    header row; ``domain_column`` holds integer domain ids, ``label_column`` (optional) class ids, every other
    column is a numeric feature (in header order).

    Returns ``(x, domain, labels)``: float32 ``[N, F]``, int64 ``[N]``, and int64 ``[N]`` with ``-1`` for an
    unknown label (an empty cell or a negative id) — or ``None`` when the file has no labels.

    Raises:
        DataError: naming the file (line, column): a missing file or column, a non-numeric feature, NaN, a
            domain id or label that is not a whole number, mismatched lengths.
    """
    path = _checks.as_path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        arrays = _checks.load_npz_arrays(path, ["data", "domain"], ["label"])
        if (x := arrays["data"]).ndim != 2 or x.dtype.kind not in "iuf":
            raise DataError(f"{path}: data must be a numeric [N, F] array, found {x.dtype} {x.shape}")
        domain = _integral(np.asarray(arrays["domain"]), path, "domain")
        labels = None if "label" not in arrays else _integral(np.asarray(arrays["label"]), path, "label")
    elif suffix in (".csv", ".tsv"):
        x, domain, labels = _read_domain_table(path, domain_column, label_column)
    else:
        raise DataError(f"{path}: unknown format {suffix!r} (expected .npz, .csv or .tsv)")
    x = x.astype(np.float32)
    _checks.check_finite(x, path, "data")
    for what, values in (("domain", domain), ("label", labels)):
        if values is not None and values.shape != (x.shape[0],):
            raise DataError(f"{path}: {what} has shape {values.shape}, expected ({x.shape[0]},) like data")
    if domain.size and domain.min() < 0:
        raise DataError(f"{path}: domain ids must be 0 or more, found {int(domain.min())}")
    return x, domain, None if labels is None else np.where(labels < 0, -1, labels)


def _read_domain_table(path: Path, domain_column: str, label_column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    lines = list(_checks.iter_data_lines(_checks.read_text_lines(path, encoding="utf-8-sig"), skip_comments=False))
    rows = [(line, next(csv.reader([text], delimiter=delimiter))) for line, text in lines]
    if len(rows) < 2:
        raise DataError(f"{path}: needs a header row (naming the {domain_column!r} column) and at least one data row")
    header = [cell.strip() for cell in rows[0][1]]
    if domain_column not in header:
        raise DataError(f"{path}: no {domain_column!r} column in the header (columns: {', '.join(header[:10])}{', ...' if len(header) > 10 else ''})")
    at_domain = header.index(domain_column)
    at_label = header.index(label_column) if label_column in header else None
    features = [i for i in range(len(header)) if i not in (at_domain, at_label)]
    if not features:
        raise DataError(f"{path}: no feature columns besides {domain_column!r}" + (f" and {label_column!r}" if at_label is not None else ""))
    x, domain, labels = np.empty((len(rows) - 1, len(features))), np.empty(len(rows) - 1, np.int64), np.full(len(rows) - 1, -1, np.int64)
    for i, (line, row) in enumerate(rows[1:]):
        if len(row) != len(header):
            raise DataError(f"{path}: line {line} has {len(row)} columns, the header has {len(header)}")
        domain[i] = _checks.parse_int(row[at_domain].strip(), path, line, domain_column)
        if at_label is not None and row[at_label].strip():  # an empty label cell: unknown
            labels[i] = _checks.parse_int(row[at_label].strip(), path, line, label_column)
        x[i] = [_checks.parse_float(row[j], path, line, header[j]) for j in features]
    return x, domain, labels if at_label is not None else None


def read_domain_graph(path: str | Path, num_domains: int | None = None) -> np.ndarray:
    """A domain graph from a file: an edge list or a square 0/1 adjacency.

    * **Edge list**: two columns, the domain ids of an edge's ends (``src,dst``; a header row is optional),
      ``.csv`` / ``.tsv`` / ``.npy``. Edges are undirected (one line per edge is enough); self loops are dropped.
    * **Adjacency**: a square ``D x D`` matrix of 0/1, symmetric (``.csv`` / ``.tsv`` without header, ``.npy``).

    A file with exactly two columns is an edge list (a graph of two domains is written ``0,1``); a header only
    is a graph without edges. ``num_domains`` is D (ids ``0..D-1``; an edge list's default: its largest id + 1).
    Returns the int64 ``[D, D]`` symmetric 0/1 adjacency with a zero diagonal.

    Raises:
        DataError: naming the file: neither two columns nor square, ids that are not whole numbers or lie
            outside ``0..D-1``, an adjacency that is not symmetric, not 0/1 or not ``D x D``.
    """
    from iclr22.core.verbs import is_number, read_matrix

    path = _checks.as_path(path)
    lines = [t for _, t in _checks.iter_data_lines(_checks.read_text_lines(path), skip_comments=False)] if path.suffix.lower() in (".csv", ".tsv") else None
    if lines is not None and len(lines) <= 1 and not all(is_number(c) for c in (lines or ["-"])[0].replace("\t", ",").split(",")):
        matrix = np.zeros((0, 2), dtype=np.float32)  # a header only: an edge list without edges
    else:
        matrix = read_matrix(path, "domain graph")
    if matrix.ndim != 2 or (matrix.shape[1] != 2 and matrix.shape[0] != matrix.shape[1]):
        raise DataError(f"{path}: a domain graph is an edge list (two columns src,dst) or a square 0/1 adjacency; found shape {matrix.shape}")
    if matrix.shape[1] == 2:
        edges = _integral(matrix, path, "edge endpoints")
        size = num_domains if num_domains is not None else (int(edges.max()) + 1 if edges.size else 0)
        _checks.check_ids_in_range(edges, size, path, "edge endpoints (domain ids)")
        adjacency = np.zeros((size, size), dtype=np.int64)
        adjacency[edges[:, 0], edges[:, 1]] = adjacency[edges[:, 1], edges[:, 0]] = 1
    else:
        adjacency = _check_adjacency(matrix, path)
        if num_domains is not None and adjacency.shape[0] != num_domains:
            raise DataError(f"{path}: the adjacency has {adjacency.shape[0]} nodes, expected {num_domains} (domains 0..{num_domains - 1})")
    np.fill_diagonal(adjacency, 0)
    return adjacency


def load_domain_csv(
    samples: str | Path, graph: str | Path, *, name: str | None = None, source_domains: Sequence[int] | None = None,
    domain_column: str = "domain", label_column: str = "label",
) -> DomainDataset:
    """Read a user's domains from a table of samples and a domain-graph file.

    The samples: :func:`read_domain_samples`'s table (header; ``domain``, ``label``, feature columns). The
    graph: :func:`read_domain_graph`'s edge list or adjacency over the domains ``0..D-1``, where D is the
    largest domain id of the samples + 1. Unknown labels (empty cells, negative ids) are ``-1`` in ``y``.
    ``name`` defaults to the samples file's stem; ``source_domains=None`` leaves ``source_domains`` unset.

    Raises:
        DataError: as :func:`read_domain_samples` and :func:`read_domain_graph`, plus no label column or
            source ids out of range.
    """
    path = _checks.as_path(samples)
    if path.suffix.lower() not in (".csv", ".tsv"):
        raise DataError(f"{path}: expected a .csv or .tsv of samples (with a header row)")
    x, domain, labels = read_domain_samples(path, domain_column=domain_column, label_column=label_column)
    if labels is None:
        raise DataError(f"{path}: no {label_column!r} column (class ids of the labelled domains; empty for unknown)")
    adjacency = read_domain_graph(graph, int(domain.max()) + 1 if domain.size else 0)
    arrays = {"data": x, "label": labels, "domain": domain, "A": adjacency}
    sources = None if source_domains is None else np.asarray(source_domains)
    return _domain_dataset(arrays, path, name or path.stem, None, sources, unknown_labels=True)


# ------------------------------------------------------------------------------------------------ TPT-48
def load_tpt48(data_dir: str | Path) -> StateTemperatures:
    """Read TPT-48 from ``tpt48.npz`` (+ state names from ``longitude-latitude-normalize.csv`` if present).

    Args:
        data_dir: The ``tpt48`` folder.

    Returns:
        The :class:`StateTemperatures` (48 states x 144 months).

    Raises:
        DataError: On missing/corrupt files, non-finite temperatures, shapes that disagree with the number
            of states, or a non-square / asymmetric / non-0/1 adjacency.
    """
    path = _checks.require_files(data_dir, ["tpt48.npz"])["tpt48.npz"]
    arrays = _checks.load_npz_arrays(path, ["temp", "states", "A", "lat_norm", "lon_norm"])
    temperatures = arrays["temp"]
    if temperatures.ndim != 2 or temperatures.dtype.kind not in "iuf":
        raise DataError(f"{path}: temp must be a numeric [states, months] array, found {temperatures.dtype} {temperatures.shape}")
    temperatures = temperatures.astype(np.float64)
    _checks.check_finite(temperatures, path, "temp")
    num_states = temperatures.shape[0]
    states = [str(s) for s in arrays["states"].reshape(-1)]
    if len(states) != num_states or len(set(states)) != num_states:
        raise DataError(f"{path}: states must list {num_states} distinct names, one per temp row, found {len(states)}")
    adjacency = _check_adjacency(arrays["A"], path)
    if adjacency.shape[0] != num_states:
        raise DataError(f"{path}: A is {adjacency.shape}, expected ({num_states}, {num_states})")
    coords = {}
    for key in ("lat_norm", "lon_norm"):
        coords[key] = arrays[key].astype(np.float64).reshape(-1)
        if coords[key].shape != (num_states,):
            raise DataError(f"{path}: {key} has {coords[key].size} values, expected {num_states}")
        _checks.check_finite(coords[key], path, key)
    names = _state_names(_checks.as_path(data_dir) / "longitude-latitude-normalize.csv", states)
    return StateTemperatures(temperatures, states, adjacency, coords["lat_norm"], coords["lon_norm"], names)


def _state_names(path: Path, states: list[str]) -> list[str]:
    if not path.is_file():
        return list(states)
    lines = _checks.read_text_lines(path, encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    if not rows or rows[0][:1] != ["state"] or "name" not in rows[0]:
        raise DataError(f"{path}: expected a header 'state,latitude,longitude,name'")
    column = rows[0].index("name")
    names: dict[str, str] = {}
    for line_no, row in enumerate(rows[1:], start=2):
        if len(row) != len(rows[0]):
            raise DataError(f"{path}: line {line_no}: {len(row)} columns, expected {len(rows[0])}")
        names[row[0]] = row[column]
    return [names.get(s, s) for s in states]


def tpt48_source_domains(data: StateTemperatures, task: str) -> np.ndarray:
    """Source states of a GRDA TPT-48 task, as row indices into ``data.states`` (sorted).

    * ``"N->S"``: the 24 northern states of Wang-ML-Lab/VDI ``configs/config_tpt_48_NS.py``
      (:data:`TPT48_NORTH_STATES`); targets are the other 24.
    * ``"E->W"``: the 24 eastern states of the paper's Figure 6 (:data:`TPT48_EAST_STATES`); targets are the
      other 24.

    Args:
        data: The loaded TPT-48.
        task: ``"N->S"`` or ``"E->W"`` (``"NS"``/``"EW"`` also accepted).

    Returns:
        int64 array of 24 sorted state indices.

    Raises:
        ConfigError: On an unknown task.
        DataError: If a listed state is missing from ``data``.
    """
    key = task.upper().replace("->", "").replace("2", "").replace("_", "")
    if key == "NS":
        return np.sort(data.index_of(TPT48_NORTH_STATES))
    if key == "EW":
        return np.sort(data.index_of(TPT48_EAST_STATES))
    raise ConfigError(f"unknown TPT-48 task {task!r} (expected 'N->S' or 'E->W')")
