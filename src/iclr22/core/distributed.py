"""Data-parallel training across processes and machines with ``torchrun``.

A training loop written for one process runs unchanged under
``torchrun --nproc_per_node N your_script.py`` when it goes through these helpers:

    info = setup()                                # reads RANK / WORLD_SIZE / LOCAL_RANK set by torchrun
    model = wrap_model(model, info)               # DistributedDataParallel when world_size > 1
    sampler = make_sampler(dataset, info, seed=0) # each rank sees its own shard
    loader = DataLoader(dataset, batch_size=..., sampler=sampler, shuffle=sampler is None)
    for epoch in range(epochs):
        set_epoch(sampler, epoch)
        ...
    cleanup()

gloo is used on CPU and nccl on GPU. Gradients are averaged over ranks by DDP, so one step on N ranks
with batches b_1..b_N equals one single-process step on their union when the loss is a mean over the
batch and every rank's batch has the same size.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

__all__ = ["DistInfo", "setup", "cleanup", "wrap_model", "unwrap_model", "make_sampler", "set_epoch", "is_main_process", "all_reduce_mean", "barrier"]


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(backend: str | None = None) -> DistInfo:
    """Join the process group that ``torchrun`` describes through environment variables.

    Without ``torchrun`` (no ``WORLD_SIZE`` in the environment, or 1) this does nothing and returns a
    single-process :class:`DistInfo`, so the same script runs both ways.

    Args:
        backend: ``"gloo"`` or ``"nccl"``; default gloo on CPU, nccl when CUDA is available.
    """
    import torch
    import torch.distributed as dist

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank, backend=backend)


def cleanup() -> None:
    """Leave the process group (no-op when not distributed)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def wrap_model(model: Any, info: DistInfo) -> Any:
    """``DistributedDataParallel(model)`` when distributed, else ``model`` itself."""
    if not info.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    if info.backend == "nccl":
        model = model.to(f"cuda:{info.local_rank}")
        return DistributedDataParallel(model, device_ids=[info.local_rank])
    return DistributedDataParallel(model)


def unwrap_model(model: Any) -> Any:
    """The module inside a DDP wrapper (for saving ``state_dict`` without the ``module.`` prefix)."""
    return getattr(model, "module", model)


def make_sampler(dataset: Any, info: DistInfo, shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> Any:
    """A ``DistributedSampler`` giving each rank its own shard, or ``None`` in a single process."""
    if not info.distributed:
        return None
    from torch.utils.data.distributed import DistributedSampler

    return DistributedSampler(dataset, num_replicas=info.world_size, rank=info.rank, shuffle=shuffle, seed=seed, drop_last=drop_last)


def set_epoch(sampler: Any, epoch: int) -> None:
    """Reshuffle a distributed sampler for a new epoch (no-op for ``None``)."""
    if sampler is not None and hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)


def is_main_process() -> bool:
    """True on rank 0 or when not distributed: only it writes files and prints."""
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def all_reduce_mean(value: Any) -> Any:
    """Mean of a tensor over ranks (returned unchanged when not distributed)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return value
    reduced = value.detach().clone()
    dist.all_reduce(reduced, op=dist.ReduceOp.SUM)
    return reduced / dist.get_world_size()


def barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
