"""Dataset loaders: one module per kind of data, plain dataclasses of numpy arrays as results.

Modules: :mod:`~iclr22.data.graphs`, :mod:`~iclr22.data.domains`, :mod:`~iclr22.data.sentence_pairs`,
:mod:`~iclr22.data.timeseries`, :mod:`~iclr22.data.interactions`, :mod:`~iclr22.data.images`,
:mod:`~iclr22.data.trajectories`, plus :mod:`~iclr22.data.safe_pickle` (the restricted unpickler).
Every loader raises :class:`iclr22.core.errors.DataError` with a one-line message naming the file.

Importing this package is cheap: the names below are re-exported lazily (on first attribute access), and no
loader imports torch; only ``Graph.to_pyg`` imports torch / torch_geometric.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "graphs": ("Graph", "load_planetoid", "load_text_graph", "load_cora_ml"),
    "domains": ("DomainDataset", "StateTemperatures", "load_dg", "load_dg_pickle", "load_domain_csv", "read_domain_samples", "read_domain_graph", "load_tpt48", "tpt48_source_domains", "TPT48_NORTH_STATES", "TPT48_EAST_STATES"),
    "sentence_pairs": ("SentencePairs", "load_stsb", "load_sts_year", "load_pairs", "load_pairs_tsv"),
    "timeseries": ("MultivariateSeries", "ForecastSplit", "SeriesCollection", "load_exchange_rate", "load_m4_hourly", "load_series_csv"),
    "interactions": ("Interactions", "TimeSplit", "load_movielens_100k", "load_movielens", "load_interactions_csv", "time_split"),
    "images": (
        "ImageDataset",
        "DSpritesArchive",
        "FeatureSplits",
        "load_mnist",
        "load_digits",
        "load_image_folder",
        "load_cifar10_jpeg",
        "load_dsprites_frames",
        "load_dsprites_npz",
        "load_gif_frames",
        "load_features_npz",
    ),
    "trajectories": (
        "TrajectoryTable",
        "TrajectorySplits",
        "TrajectoryWindow",
        "read_trajectory_file",
        "load_ethucy",
        "load_trajectory_folder",
        "to_windows",
        "frame_grid",
    ),
    "safe_pickle": ("load_pickle", "load_npz_object"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'iclr22.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"iclr22.data.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
