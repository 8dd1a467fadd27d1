"""The loop's phase checkpoints: every half-cycle ("phase") of :func:`~iclr22.transencoder.train.distill` on disk.

A folder holds ``state.json`` (the finished phases' scores, logs and times, and the fingerprint of the run
they belong to), the students of each phase as ``cycle{t}/bi{k}`` / ``cycle{t}/cross{k}`` (sentence-transformers
and Hugging Face folders, safetensors) and the pseudo-labels as ``labels/*.npy``. A rerun with the same folder
resumes at the next phase; a folder holding another run's phases is refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.training import atomic_write
from iclr22.data.sentence_pairs import SentencePairs

__all__ = ["PhaseStore", "pairs_hash", "run_fingerprint"]


def pairs_hash(pairs: SentencePairs) -> str:
    """A short hash of the pairs' text (scores left out)."""
    digest = hashlib.sha256()
    for a, b in zip(pairs.sentence1, pairs.sentence2):
        digest.update(a.encode("utf-8") + b"\t" + b.encode("utf-8") + b"\n")
    return digest.hexdigest()[:16]


def run_fingerprint(pairs: SentencePairs, dev: SentencePairs | None, bi_models: list[str], cross_models: list[str],
                    settings: dict[str, Any], seed: int) -> str:
    """What a phase's result depends on: the pairs, dev, models, seed and settings. ``cycles`` is left out:
    cycle t runs the same for any T >= t, so a run can be extended (or cut) and keep its earlier phases."""
    settings = {k: v for k, v in settings.items() if k != "cycles"}
    return hashlib.sha256(
        json.dumps({"pairs": pairs_hash(pairs), "dev": pairs_hash(dev) if dev else None, "bi": bi_models,
                    "cross": cross_models, "config": settings, "seed": seed}, sort_keys=True).encode()
    ).hexdigest()[:16]


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


class PhaseStore:
    """One run's checkpoint folder.

    Args:
        folder: The folder (created on the first write).
        fingerprint: :func:`run_fingerprint` of the run; a ``state.json`` with another one is refused.
    """

    def __init__(self, folder: Path, fingerprint: str) -> None:
        self.folder = Path(folder)
        self.fingerprint = fingerprint

    def read_state(self) -> dict[str, Any]:
        """The finished phases (``{"fingerprint", "phases": {name: record}}``; empty for a new folder).

        Raises:
            DataError: an unreadable ``state.json``.
            ConfigError: the folder holds the phases of a different run.
        """
        path = self.folder / "state.json"
        if not path.is_file():
            return {"fingerprint": self.fingerprint, "phases": {}}
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: unreadable checkpoint state ({exc}); delete the folder to start over") from exc
        if state.get("fingerprint") != self.fingerprint:
            raise ConfigError(f"{self.folder}: checkpoints of a different run (other pairs, models or settings); use another folder")
        return state

    def write_state(self, state: dict[str, Any]) -> None:
        atomic_write(self.folder / "state.json", lambda tmp: tmp.write_text(json.dumps(state, indent=2), encoding="utf-8"))

    def save_model(self, model: Any, name: str) -> None:
        """Write a student's folder (``model.save``), replacing an older one only once the new one is complete."""
        final = self.folder / name
        tmp = final.with_name(final.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        model.save(tmp)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)

    def model_path(self, name: str) -> Path:
        return self.folder / name

    def save_labels(self, labels: np.ndarray, name: str) -> None:
        # through a handle: np.save given a path would append ".npy" to the temporary name
        atomic_write(self.folder / name, lambda tmp: tmp.write_bytes(_npy_bytes(labels)))

    def load_labels(self, name: str) -> np.ndarray:
        return np.load(self.folder / name, allow_pickle=False)
