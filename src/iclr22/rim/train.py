"""RIM's training steps (Ma, Liu, Deoras; ICLR 2022): the GRU next-item model, and the simple intensities.

* :func:`train_gru` — next-item negative log-likelihood of :class:`~iclr22.rim.model.GRUNextItem` on each
  user's training sequence (the last ``max_len`` events), Adagrad, ``ReduceLROnPlateau`` on a random 20 % of
  users held out, best epoch restored (official ``rime/models/rnn.py``). It runs unchanged under ``torchrun``
  (:mod:`iclr22.core.distributed`: users sharded, gradients averaged; every rank evaluates the same held-out
  users, so every rank takes the same scheduler decisions and ends with the same weights).
* :func:`gru_log_probs` — log p(y | x) for each user state x = the user's whole training sequence.
* :func:`decayed_counts` (EMA), :func:`history_counts` (user popularity) and :func:`item_popularity`.

The Hawkes and Hawkes–Poisson intensities are in :mod:`iclr22.rim.hawkes`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from iclr22.core import distributed
from iclr22.core.training import progress
from iclr22.rim.model import GRUNextItem

__all__ = ["user_sequences", "train_gru", "gru_log_probs", "decayed_counts", "history_counts", "item_popularity"]




def user_sequences(user: np.ndarray, item: np.ndarray, timestamp: np.ndarray, n_users: int, max_len: int) -> list[np.ndarray]:
    """Each user's items in time order (ties in file order), truncated to the last ``max_len``."""
    order = np.lexsort((np.arange(len(user)), timestamp, user))
    bounds = np.searchsorted(user[order], np.arange(n_users + 1))
    return [item[order[bounds[u]:bounds[u + 1]]][-max_len:] for u in range(n_users)]


def _batch(sequences: Sequence[np.ndarray], bos: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inputs ``[BOS, y1 .. y(n-1)]``, targets ``[y1 .. yn]`` and a mask, right-padded to the longest."""
    width = max(1, max(len(s) for s in sequences))
    tokens = torch.full((len(sequences), width), bos, dtype=torch.long)
    targets = torch.zeros((len(sequences), width), dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.bool)
    for row, seq in enumerate(sequences):
        n = len(seq)
        if n:
            seq_t = torch.as_tensor(seq, dtype=torch.long)
            tokens[row, 1:n] = seq_t[:-1]
            targets[row, :n] = seq_t
            mask[row, :n] = True
    return tokens, targets, mask


def _nll(model: Any, sequences: Sequence[np.ndarray], bos: int, device: torch.device) -> torch.Tensor:
    tokens, targets, mask = (t.to(device) for t in _batch(sequences, bos))
    logits = model(tokens)
    return F.cross_entropy(logits[mask], targets[mask])


def train_gru(
    sequences: Sequence[np.ndarray],
    n_items: int,
    hidden: int = 128,
    num_layers: int = 2,
    epochs: int = 20,
    lr: float = 0.1,
    batch_size: int = 64,
    val_fraction: float = 0.2,
    seed: int = 0,
    device: str = "cpu",
    verbose: bool | None = None,
) -> tuple[GRUNextItem, list[dict[str, float]]]:
    """Fit the GRU on the users' item sequences; returns the best-epoch model (on held-out users) and its history.

    Under ``torchrun`` each rank trains on its shard of the training users; the returned model is the same on
    every rank. Users with no events are left out of training.
    """
    info = distributed.setup()
    torch_device = torch.device(device if not (info.backend == "nccl") else f"cuda:{info.local_rank}")
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = GRUNextItem(n_items, hidden, num_layers).to(torch_device)
    users = [u for u, s in enumerate(sequences) if len(s) > 0]
    order = torch.randperm(len(users), generator=generator).tolist()
    n_val = int(round(val_fraction * len(users))) if len(users) >= 5 else 0
    val_users = [users[i] for i in order[:n_val]]
    train_users = [users[i] for i in order[n_val:]]
    wrapped = distributed.wrap_model(model, info)
    # Adagrad lr 0.1 with eps 1e-3 and ReduceLROnPlateau(0.25, patience 4), as the official rnn.py
    optimizer = torch.optim.Adagrad(wrapped.parameters(), lr=lr, eps=1e-3)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.25, patience=4)
    sampler = distributed.make_sampler(train_users, info, shuffle=True, seed=seed)
    loader = DataLoader(train_users, batch_size=batch_size, sampler=sampler, shuffle=sampler is None,
                        generator=generator if sampler is None else None, collate_fn=list)
    history: list[dict[str, float]] = []
    best, best_loss = copy.deepcopy(model.state_dict()), math.inf
    for epoch in progress(range(epochs), desc="rim gru", verbose=verbose if info.is_main else False):
        distributed.set_epoch(sampler, epoch)
        wrapped.train()
        total, batches = 0.0, 0
        for batch in loader:
            optimizer.zero_grad()
            loss = _nll(wrapped, [sequences[u] for u in batch], model.bos, torch_device)
            loss.backward()
            optimizer.step()
            total, batches = total + loss.item(), batches + 1
        train_loss = float(distributed.all_reduce_mean(torch.tensor(total / max(batches, 1))))
        model.eval()
        with torch.no_grad():
            val_loss = float(_nll(model, [sequences[u] for u in val_users], model.bos, torch_device)) if val_users else train_loss
        scheduler.step(val_loss)
        history.append({"epoch": epoch + 1, "train_nll": train_loss, "val_nll": val_loss})
        if val_loss < best_loss:
            best, best_loss = copy.deepcopy(model.state_dict()), val_loss
    model.load_state_dict(best)
    model.eval()
    return model, history


@torch.no_grad()
def gru_log_probs(model: GRUNextItem, sequences: Sequence[np.ndarray], batch_size: int = 256) -> np.ndarray:
    """``[len(sequences), n_items]`` log p(next item | the whole sequence) (a user with none: the model's prior)."""
    device = next(model.parameters()).device
    model.eval()
    out = np.empty((len(sequences), model.n_items), dtype=np.float32)
    for start in range(0, len(sequences), batch_size):
        chunk = sequences[start:start + batch_size]
        width = max(len(s) for s in chunk) + 1
        tokens = torch.full((len(chunk), width), model.bos, dtype=torch.long)
        last = torch.zeros(len(chunk), dtype=torch.long)
        for row, seq in enumerate(chunk):
            tokens[row, 1:len(seq) + 1] = torch.as_tensor(np.asarray(seq), dtype=torch.long)
            last[row] = len(seq)
        states = model.states(tokens.to(device))[torch.arange(len(chunk)), last.to(device)]
        out[start:start + len(chunk)] = torch.log_softmax(model.logits(states), dim=-1).cpu().numpy()
    return out


def decayed_counts(user: np.ndarray, timestamp: np.ndarray, at: np.ndarray, horizon: float) -> np.ndarray:
    """EMA intensity: Σ over a user's events before ``at[user]`` of ``exp(-(at - t) / horizon)``."""
    at_event = at[user]
    keep = timestamp < at_event
    weights = np.exp(-(at_event[keep] - timestamp[keep]) / horizon)
    return np.bincount(user[keep], weights=weights, minlength=len(at))


def history_counts(user: np.ndarray, timestamp: np.ndarray, at: np.ndarray) -> np.ndarray:
    """User popularity: the number of a user's events before ``at[user]``."""
    return np.bincount(user[timestamp < at[user]], minlength=len(at)).astype(np.float64)


def item_popularity(item: np.ndarray, n_items: int) -> np.ndarray:
    """Item popularity p(y) ∝ the item's training events (+0.01 so unseen items rank last but not at zero)."""
    counts = np.bincount(item, minlength=n_items).astype(np.float64) + 0.01
    return counts / counts.sum()
