"""RIM's GRU trains under ``torchrun --nproc_per_node=2`` (DDP, gloo on CPU): both ranks end with the same weights,
and the model has learned the tiny problem's next-item rule."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

WORKER = Path(__file__).with_name("_ddp_rim_worker.py")


def test_two_ranks_end_with_the_same_trained_gru(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(WORKER), str(tmp_path / "rank")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    first, second = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert first["weights"].keys() == second["weights"].keys()
    for name, value in first["weights"].items():
        assert torch.equal(value, second["weights"][name]), name
    assert torch.equal(first["history"], second["history"])
    assert first["history"][-1] < first["history"][0]  # it learned: held-out NLL went down
    assert first["next_after_5"] == 6
