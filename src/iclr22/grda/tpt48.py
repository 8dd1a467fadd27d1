"""The TPT-48 protocol of the GRDA experiment: the two tasks' source states, the input/output windows, the
held-out sources of the label-free validation.

TPT-48 is the monthly temperature of the 48 contiguous US states; the paper's tasks adapt from 24 states to
the other 24, east to west (E->W) and north to south (N->S). The windows follow the lab's TPT-48 code
(Wang-ML-Lab/VDI ``TPT-48/data_loader``): 6 months in, the next 6 months out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from iclr22.core.errors import ConfigError, DataError
from iclr22.data.domains import TPT48_EAST_STATES, tpt48_source_domains

__all__ = ["TASKS", "TPT48_EAST_STATES", "tpt48_task_sources", "tpt48_windows", "tpt48_holdout_sources"]

#: ``--set tasks=`` name -> (the paper's label, the key in metric names).
TASKS = {"EW": ("E->W", "ew"), "NS": ("N->S", "ns")}


#: E(24)->W(24) source states of TPT-48, read off the paper's Figure 6 (left panel, black nodes), which the
#: official repository also ships as ``fig/GRDA-domain-graph-US.png`` (Wang-ML-Lab/GRDA @ 96800d6). No released
#: config lists them. Check: with the BFS levels of :func:`graph_distance_to` the 24 western targets fall into
#: 8 / 7 / 9 states at distance 1 / 2 / >=3, exactly the paper's Table 2 counts (a longitude split gives 6 / 7 / 11).
def tpt48_task_sources(data: Any, task: str) -> np.ndarray:
    """Source states (sorted row indices into ``data.states``) of a paper TPT-48 task.

    ``"E->W"``: the black nodes of the paper's Figure 6, left panel (:data:`iclr22.data.domains.TPT48_EAST_STATES`).
    ``"N->S"``: the northern list of the lab's code (Wang-ML-Lab/VDI ``configs/config_tpt_48_NS.py``), which is also
    Figure 6, right panel. See :func:`iclr22.data.domains.tpt48_source_domains`.
    """
    return tpt48_source_domains(data, task)


def tpt48_windows(
    temperatures: np.ndarray, sources: np.ndarray, seq_len: int = 6, group_len: int = 12, standardize: str = "global"
) -> dict[str, np.ndarray | float]:
    """Windows of the TPT-48 protocol (Wang-ML-Lab/VDI ``TPT-48/data_loader``): ``seq_len`` months in,
    the next ``seq_len`` out.

    * Source states: every sliding window ``t .. t+2·seq_len−1`` for ``t`` in ``0 .. T − group_len``.
    * Target states (training inputs, unlabelled) and test windows of every state: the year-aligned
      windows, ``x`` = months ``g·group_len .. +seq_len−1``, ``y`` = the next ``seq_len``.
    * ``standardize="global"`` (the lab's code): one mean / std over the source months used and the target
      input months standardises all. ``"per_state"``: each state by the mean / std of its own year-aligned
      input months (the same months for sources and targets, so no target label is read).

    Returns:
        ``x_train, y_train`` (NaN for target states), ``domain_train``, ``x_test, y_test, domain_test``,
        and ``mean, std`` (°F) of the standardisation (``[num_states]`` arrays for ``"per_state"``).
    """
    temperatures = np.asarray(temperatures, dtype=np.float64)
    num_states, num_months = temperatures.shape
    if seq_len < 1 or group_len < 2 * seq_len or num_months < group_len:
        raise ConfigError(f"TPT-48 windows need 1 <= seq_len, 2*seq_len <= group_len <= months ({num_months}); got {seq_len}, {group_len}")
    is_source = np.zeros(num_states, dtype=bool)
    is_source[np.asarray(sources)] = True
    num_sliding = num_months - group_len + 1
    num_groups = num_months // group_len
    if standardize == "global":
        used = [temperatures[s, : num_sliding + seq_len - 1] for s in np.flatnonzero(is_source)]
        used += [temperatures[s, g * group_len : g * group_len + seq_len] for s in np.flatnonzero(~is_source) for g in range(num_groups)]
        pooled = np.concatenate(used)
        mean, std = float(pooled.mean()), float(pooled.std())
        z = (temperatures - mean) / std
    elif standardize == "per_state":
        input_months = np.concatenate([np.arange(g * group_len, g * group_len + seq_len) for g in range(num_groups)])
        mean, std = temperatures[:, input_months].mean(axis=1), temperatures[:, input_months].std(axis=1)
        if (std == 0).any():
            raise DataError(f"tpt48: state row {int(np.flatnonzero(std == 0)[0])} has constant input months; per-state standardisation divides by their std")
        z = (temperatures - mean[:, None]) / std[:, None]
    else:
        raise ConfigError(f"option 'tpt48_standardize': 'global' or 'per_state', got {standardize!r}")

    def group_windows(state: int) -> tuple[np.ndarray, np.ndarray]:
        starts = np.arange(num_groups) * group_len
        x = np.stack([z[state, s : s + seq_len] for s in starts])
        y = np.stack([z[state, s + seq_len : s + 2 * seq_len] for s in starts])
        return x, y

    x_train, y_train, d_train, x_test, y_test, d_test = [], [], [], [], [], []
    for state in range(num_states):
        if is_source[state]:
            starts = np.arange(num_sliding)
            x = np.stack([z[state, s : s + seq_len] for s in starts])
            y = np.stack([z[state, s + seq_len : s + 2 * seq_len] for s in starts])
        else:
            x, _ = group_windows(state)
            y = np.full_like(x, np.nan)
        x_train.append(x)
        y_train.append(y)
        d_train.append(np.full(len(x), state))
        xt, yt = group_windows(state)
        x_test.append(xt)
        y_test.append(yt)
        d_test.append(np.full(len(xt), state))
    return {
        "x_train": np.concatenate(x_train).astype(np.float32),
        "y_train": np.concatenate(y_train).astype(np.float32),
        "domain_train": np.concatenate(d_train).astype(np.int64),
        "x_test": np.concatenate(x_test).astype(np.float32),
        "y_test": np.concatenate(y_test).astype(np.float32),
        "domain_test": np.concatenate(d_test).astype(np.int64),
        "mean": mean,
        "std": std,
    }


def tpt48_holdout_sources(data: Any, task: str, count: int) -> np.ndarray:
    """The ``count`` source states nearest the targets' side, whose labels the validation hides: the
    westernmost sources for E->W, the southernmost for N->S (by the file's normalised coordinates)."""
    sources = tpt48_task_sources(data, task)
    if not 1 <= count < len(sources):
        raise ConfigError(f"option 'holdout_sources': must be in 1..{len(sources) - 1} (or 0 for off), got {count}")
    side = data.lon_norm if task == "E->W" else data.lat_norm
    return np.sort(sources[np.argsort(side[sources], kind="stable")[:count]])
