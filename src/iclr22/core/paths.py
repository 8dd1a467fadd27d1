"""Where datasets and runs live by default."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_data_root", "default_runs_root"]


def default_data_root() -> Path | None:
    """The folder that holds one sub-folder per dataset family (``planetoid/``, ``sts/``, ...).

    Looked up, in order: ``$ICLR22_DATA_ROOT``; ``../shared/data`` from the working directory; the
    ``shared/data`` folder beside a source checkout of this package. ``None`` when none exists.
    """
    env = os.environ.get("ICLR22_DATA_ROOT")
    if env:
        return Path(env).expanduser().resolve()
    candidates = [
        Path.cwd().parent / "shared" / "data",
        Path(__file__).resolve().parents[4] / "shared" / "data",  # <checkout>/../shared/data
    ]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    return None


def default_runs_root() -> Path:
    """Where ``iclr22 run`` writes when no ``--out`` is given: ``$ICLR22_RUNS`` or ``./runs``."""
    return Path(os.environ.get("ICLR22_RUNS", "runs"))
