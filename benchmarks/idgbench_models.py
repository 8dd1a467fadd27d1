"""Training and inference throughput (images/s) of the benchmark's model families on 64 x 64 dSprites.

    python benchmarks/idgbench_models.py [--steps 15] [--batch-size 64]

Measured side by side in one process on the same batches; the ratio column is each family's training
cost relative to the VanillaCNN, which is what sizes a full ``iclr22 run idgbench`` on a CPU.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from iclr22.idgbench.model import MODEL_FAMILIES, build_model
from iclr22.idgbench.synthetic import DSPRITES, DSpritesRenderer
from iclr22.idgbench.train import images_to_tensor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    cells = DSPRITES.cells(rng.integers(0, DSPRITES.num_cells, args.batch_size))
    x = images_to_tensor(DSpritesRenderer().images(cells))
    y = torch.as_tensor(DSPRITES.normalize(cells))
    rates = {}
    for family in MODEL_FAMILIES:
        torch.manual_seed(0)
        model = build_model(family, (1, 64, 64), 5)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        step_loss = (lambda: model.loss(x)[0]) if family == "betavae" else (lambda: torch.nn.functional.mse_loss(model(x), y))
        for step in range(args.steps + 3):
            if step == 3:  # warm-up steps are not timed
                started = time.perf_counter()
            optimizer.zero_grad()
            step_loss().backward()
            optimizer.step()
        train_rate = args.steps * args.batch_size / (time.perf_counter() - started)
        model.eval()
        with torch.no_grad():
            started = time.perf_counter()
            for _ in range(args.steps):
                model(x)
        rates[family] = (train_rate, args.steps * args.batch_size / (time.perf_counter() - started))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}, 64x64 dSprites")
    print(f"{'family':<10} {'train img/s':>12} {'infer img/s':>12} {'train cost vs cnn':>18}")
    for family, (train_rate, infer_rate) in rates.items():
        print(f"{family:<10} {train_rate:>12.0f} {infer_rate:>12.0f} {rates['cnn'][0] / train_rate:>17.2f}x")


if __name__ == "__main__":
    main()
