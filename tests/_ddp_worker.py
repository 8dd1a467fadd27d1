"""One SGD step of a small model under torchrun; rank 0 saves the parameters (used by test_distributed.py)."""

import sys

import torch
from torch.utils.data import DataLoader, TensorDataset

from iclr22.core import distributed


def make_problem():
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(8, 4, generator=generator)
    targets = torch.randn(8, 1, generator=generator)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1))
    return inputs, targets, model


def main(out_path: str) -> None:
    info = distributed.setup()
    inputs, targets, model = make_problem()
    model = distributed.wrap_model(model, info)
    dataset = TensorDataset(inputs, targets)
    sampler = distributed.make_sampler(dataset, info, shuffle=False)
    loader = DataLoader(dataset, batch_size=len(dataset) // info.world_size, sampler=sampler)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    distributed.set_epoch(sampler, 0)
    batch_inputs, batch_targets = next(iter(loader))
    loss = torch.nn.functional.mse_loss(model(batch_inputs), batch_targets)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if distributed.is_main_process():
        torch.save({k: v.detach().clone() for k, v in distributed.unwrap_model(model).state_dict().items()}, out_path)
    distributed.barrier()
    distributed.cleanup()


if __name__ == "__main__":
    main(sys.argv[1])
