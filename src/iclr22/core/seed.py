"""Seeding: the same seed gives the same numbers."""

from __future__ import annotations

import os
import random

import numpy as np

__all__ = ["seed_everything", "rng_state", "set_rng_state"]


def seed_everything(seed: int, deterministic: bool = False) -> np.random.Generator:
    """Seed Python's ``random``, NumPy's global RNG and torch (CPU and CUDA).

    Args:
        seed: Any non-negative integer.
        deterministic: Also ask torch for deterministic kernels (``torch.use_deterministic_algorithms``)
            and disable cuDNN autotuning. Slower on GPU; on CPU almost free.

    Returns:
        A fresh ``numpy.random.Generator`` seeded with ``seed``, for code that prefers an explicit RNG.
    """
    import torch

    if seed < 0:
        from iclr22.core.errors import ConfigError

        raise ConfigError(f"seed must be a non-negative integer, got {seed}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    return np.random.default_rng(seed)


def rng_state() -> dict:
    """Every global RNG state, in a form ``torch.save`` stores and ``torch.load(weights_only=True)`` reads."""
    import torch

    mt_name, mt_keys, mt_pos, has_gauss, cached_gauss = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": {
            "name": mt_name,
            "keys": torch.from_numpy(np.asarray(mt_keys, dtype=np.int64)),
            "pos": int(mt_pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gauss),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned."""
    import torch

    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    np_state = state["numpy"]
    np.random.set_state(
        (
            np_state["name"],
            np_state["keys"].numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
