"""DDP on 2 CPU processes (gloo) gives the same step as one process on the union batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from iclr22.core import distributed

WORKER = Path(__file__).with_name("_ddp_worker.py")


def _problem():
    sys.path.insert(0, str(WORKER.parent))
    try:
        from _ddp_worker import make_problem
    finally:
        sys.path.pop(0)
    return make_problem()


def _single_process_step():
    inputs, targets, model = _problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    loss = torch.nn.functional.mse_loss(model(inputs), targets)
    loss.backward()
    optimizer.step()
    return model.state_dict()


def test_two_process_ddp_step_equals_single_process_union_batch(tmp_path):
    out = tmp_path / "ddp.pt"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(WORKER.parent), os.environ.get("PYTHONPATH", "")]))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(WORKER), str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    ddp_state = torch.load(out, weights_only=True)
    single_state = _single_process_step()
    assert ddp_state.keys() == single_state.keys()
    for name in single_state:
        assert torch.allclose(ddp_state[name], single_state[name], atol=1e-6), name
    _, _, untrained = _problem()
    moved = [not torch.allclose(single_state[k], v) for k, v in untrained.state_dict().items()]
    assert all(moved), "the step must change every parameter for the comparison to mean something"


def test_single_process_fallback_without_torchrun(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    info = distributed.setup()
    assert not info.distributed and info.is_main
    model = torch.nn.Linear(2, 2)
    assert distributed.wrap_model(model, info) is model
    assert distributed.make_sampler(list(range(4)), info) is None
    assert distributed.is_main_process()
    assert torch.equal(distributed.all_reduce_mean(torch.ones(2)), torch.ones(2))
