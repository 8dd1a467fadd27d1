"""Training-step time of each idgbench family in PyTorch's default (NCHW) and channels-last memory layout.

    python benchmarks/idgbench_channels_last.py [--batch 64] [--steps 12]

One process, same model and batch for both layouts, each timed after two warm-up steps; prints ms per step
and the ratio default / channels-last (above 1: channels-last is faster). The benchmark trains in the default
layout: channels-last changes the floating-point path, so a switch would need new records
(docs/methods/idgbench.md, "Third round").
"""

from __future__ import annotations

import argparse
import time

import torch

from iclr22.idgbench.model import MODEL_FAMILIES, BetaVAE, build_model


def _step_ms(family: str, channels_last: bool, batch: int, steps: int) -> float:
    torch.manual_seed(0)
    images = (torch.rand(batch, 1, 64, 64) > 0.9).float()
    targets = torch.rand(batch, 5)
    model = BetaVAE(1) if family == "betavae" else build_model(family, (1, 64, 64), 5)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        loss = model.loss(images)[0] if family == "betavae" else torch.nn.functional.mse_loss(model(images), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for _ in range(2):
        step()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - started) / steps * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()
    print(f"{'family':10s} {'NCHW ms':>8s} {'ch-last ms':>10s} {'ratio':>6s}")
    for family in [f for f in MODEL_FAMILIES if f != "mlp"]:
        default = _step_ms(family, False, args.batch, args.steps)
        last = _step_ms(family, True, args.batch, args.steps)
        print(f"{family:10s} {default:8.1f} {last:10.1f} {default / last:6.2f}", flush=True)


if __name__ == "__main__":
    main()
