"""Trans-Encoder's CPU cost model: training and labelling throughput of the bi- and cross-encoder, side by side.

    python benchmarks/transencoder_throughput.py [--model minilm|mpnet|PATH] [--steps 6] [--pairs 8628] [--bi-epochs 1]

Times, on real STS-B train pairs with the paper's settings (cross-encoder: batch 32, pairs up to 64 tokens,
BCE on soft labels; bi-encoder: batch 128, sentences up to 32 tokens, cosine MSE; AdamW), ``--steps``
optimiser steps of each student after one warm-up step, and the labelling (inference) speed of each. Prints
pairs/s, the cross/bi ratios, and the projected time of one cycle on ``--pairs`` unlabelled pairs
(bi labels N, cross trains on 2N, cross labels N, bi trains E·N), which is how the reproduction's settings
were chosen (docs/methods/transencoder.md).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from iclr22.core.paths import default_data_root
from iclr22.data.sentence_pairs import load_stsb
from iclr22.transencoder.model import BiEncoder, CrossEncoder
from iclr22.transencoder.train import _optimizer, cosine_mse_loss, soft_bce_loss


def _time_steps(step, steps: int) -> tuple[float, float]:
    step(0)  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(1, steps + 1):
        step(i)
    return (time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--pairs", type=int, default=8628, help="N for the per-cycle projection (STS-B transductive: 8628)")
    parser.add_argument("--bi-epochs", type=int, default=1)
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()
    root = Path(args.data_root) if args.data_root else default_data_root()
    if root is None or not (root / "sts" / "stsb").is_dir():
        raise SystemExit("needs ../shared/data/sts/stsb (or --data-root)")
    pairs = load_stsb(root / "sts" / "stsb", "train")
    rng = np.random.default_rng(0)
    # shuffled, as in training: batches of consecutive rows (one genre, similar lengths) pad less and run faster
    order = rng.permutation(len(pairs))
    s1, s2 = [pairs.sentence1[i] for i in order], [pairs.sentence2[i] for i in order]
    print(f"model {args.model}, torch threads {torch.get_num_threads()}")

    cross = CrossEncoder.load(args.model, max_length=64)
    cross.module.train()
    opt = _optimizer(cross.module, 2e-5, 0.01)

    def cross_step(i: int, bs: int = 32) -> None:
        sl = slice(i * bs, (i + 1) * bs)
        loss = soft_bce_loss(cross.logits(s1[sl], s2[sl]), torch.as_tensor(rng.uniform(0, 1, bs), dtype=torch.float32))
        loss.backward()
        opt.step()
        opt.zero_grad()

    cross_wall, cross_cpu = _time_steps(cross_step, args.steps)
    started = time.perf_counter()
    cross.score(s1[:512], s2[:512])
    cross_label = 512 / (time.perf_counter() - started)

    bi = BiEncoder.load(args.model, max_seq_length=32)
    bi.module.train()
    opt = _optimizer(bi.module, 5e-5, 0.01)

    def bi_step(i: int, bs: int = 128) -> None:
        sl = slice(i * bs, (i + 1) * bs)
        loss = cosine_mse_loss(bi.embed_tensor(s1[sl]), bi.embed_tensor(s2[sl]), torch.as_tensor(rng.uniform(0, 1, bs), dtype=torch.float32))
        loss.backward()
        opt.step()
        opt.zero_grad()

    bi_wall, bi_cpu = _time_steps(bi_step, args.steps)
    started = time.perf_counter()
    bi.score(s1[:512], s2[:512])
    bi_label = 512 / (time.perf_counter() - started)

    cross_train, bi_train = 32 / cross_wall, 128 / bi_wall
    print(f"cross-encoder train: {cross_train:7.1f} pairs/s ({cross_wall:.2f} s wall, {cross_cpu:.2f} s CPU per step of 32)")
    print(f"bi-encoder    train: {bi_train:7.1f} pairs/s ({bi_wall:.2f} s wall, {bi_cpu:.2f} s CPU per step of 128)")
    print(f"cross-encoder label: {cross_label:7.1f} pairs/s")
    print(f"bi-encoder    label: {bi_label:7.1f} pairs/s")
    print(f"ratio bi/cross train speed (pairs/s): {bi_train / cross_train:.2f}; label speed: {bi_label / cross_label:.2f}")
    n = args.pairs
    cycle = n / bi_label + 2 * n / cross_train + n / cross_label + args.bi_epochs * n / bi_train
    print(f"projected cycle on {n} pairs with {args.bi_epochs} bi epoch(s), before evaluations: {cycle / 60:.1f} min "
          f"(cross training {2 * n / cross_train / 60:.1f} min, bi training {args.bi_epochs * n / bi_train / 60:.1f} min)")


if __name__ == "__main__":
    main()
