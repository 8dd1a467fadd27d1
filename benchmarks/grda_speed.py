"""GRDA speed, measured side by side in one process (ratios, printed; nothing asserted).

1. The graph-discriminator loss: the vectorised ``graph_discriminator_loss`` (one einsum over all sampled
   pairs) against the official code's double loop over pairs, forward + backward, for DG-15 (10 of 15
   domains sampled) and DG-60 (30 of 60).
2. One training epoch of GRDA on DG-15-sized data with 1 intra-op thread (the estimator's default) and
   with 2 threads.

    python benchmarks/grda_speed.py
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from iclr22.grda import GRDA, graph_discriminator_loss, make_spiral_domains


def loop_loss(z: torch.Tensor, adjacency: torch.Tensor, sampled: list[int]) -> torch.Tensor:
    """The official per-pair loop (``GDA.__loss_D__``), for comparison."""
    connected, unconnected = [], []
    for a in range(len(sampled)):
        for b in range(a + 1, len(sampled)):
            vi, vj = sampled[a], sampled[b]
            logits = (z[vi] * z[vj]).sum(1)
            label = adjacency[vi, vj].float().expand_as(logits)
            (connected if adjacency[vi, vj] else unconnected).append(F.binary_cross_entropy_with_logits(logits, label))
    return 0.5 * (torch.stack(connected).mean() + torch.stack(unconnected).mean()) * adjacency.shape[0]


def time_it(fn, repeats: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    torch.set_num_threads(1)
    for num_domains, num_sampled in ((15, 10), (60, 30)):
        rng = np.random.default_rng(0)
        upper = np.triu(rng.random((num_domains, num_domains)) < 0.3, 1)
        adjacency = torch.as_tensor((upper | upper.T).astype(np.int64))
        z = torch.randn(num_domains, 10, 2, requires_grad=True)
        sampled = list(rng.choice(num_domains, num_sampled, replace=False))
        sampled_t = torch.as_tensor(sampled)

        def vectorised() -> None:
            graph_discriminator_loss(z, adjacency, sampled_t).backward()

        def looped() -> None:
            loop_loss(z, adjacency, sampled).backward()

        fast, slow = time_it(vectorised, 50), time_it(looped, 10)
        print(f"D loss, {num_sampled} of {num_domains} domains: loop {slow * 1e3:.2f} ms, vectorised {fast * 1e3:.2f} ms, "
              f"speed-up x{slow / fast:.1f}")

    data = make_spiral_domains(seed=0)
    y = np.where(np.isin(data.domain, data.source_domains), data.y, -1)
    seconds = {}
    for threads in (1, 2):
        model = GRDA(hidden=64, epochs=5, num_threads=threads, init="pytorch")
        start = time.perf_counter()
        model.fit(data.x, y, data.domain, data.adjacency, data.source_domains)
        seconds[threads] = (time.perf_counter() - start) / 5
        print(f"GRDA epoch (10 steps x 15 domains x 10 samples, hidden 64) with {threads} thread(s): {seconds[threads] * 1e3:.0f} ms")
    print(f"2 threads / 1 thread time ratio: {seconds[2] / seconds[1]:.2f}")


if __name__ == "__main__":
    main()
