"""DIVA's closed-form leave-one-out vs brute-force retraining, and its memory growth.

    python benchmarks/diva_loo_speed.py [--n 10000] [--d 512] [--classes 10] [--refits 20]

1. Speed: the closed-form LOO predictions of all N samples (Prop. 3, primal form) and the full dataset
   derivative dL_LOO/dalpha (autograd through it), against brute force: refitting the weighted ridge from
   scratch without sample i. Brute force is timed on ``--refits`` samples in the same process and
   extrapolated linearly to N refits (each refit costs the same: one d x d Gram matrix over N-1 rows, a
   Cholesky factorisation and a solve), and its LOO predictions on those samples are checked against the
   closed form.
2. Memory: for growing N at fixed d, in a fresh subprocess per N, how far the closed-form LOO + derivative
   raise the process's peak resident memory above what it held once the data were built (in place, so
   that building them peaks at one N x d array), and the largest tensor any torch op returned in the
   forward and backward pass (recorded by a dispatch mode). O(N d + d^2) grows linearly in N, a few
   N x d arrays; an N x N hat matrix would take 8 N^2 bytes (763 MiB at N = 10,000).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import torch

from iclr22.diva.model import WeightedRidgeSystem, loo_predictions, one_hot


def problem(n: int, d: int, classes: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, d, generator=g, dtype=torch.float64).div_(d**0.5)  # in place: one N x d array at a time
    y = one_hot(torch.randint(0, classes, (n,), generator=g), classes)
    return z, y, torch.ones(n, dtype=torch.float64)


def memory_child(n: int, d: int, classes: int) -> None:
    """Run in a fresh subprocess: build the problem, then run the closed-form LOO + derivative, and print
    by how much that raised the process's peak resident memory (MiB) and the largest tensor (elements)
    any op returned on the way, backward pass included."""
    import resource

    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    class LargestTensor(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.numel = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            self.numel = max([self.numel] + [t.numel() for t in tree_leaves(out) if isinstance(t, torch.Tensor)])
            return out

    def peak_mib() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def loo_and_derivative(z: torch.Tensor, y: torch.Tensor, alpha: torch.Tensor) -> None:
        weights = alpha.clone().requires_grad_(True)
        ((loo_predictions(z, y, weights, 1.0) - y) ** 2).sum().backward()  # form="auto": primal for d <= N

    z, y, alpha = problem(n, d, classes)
    before = peak_mib()
    loo_and_derivative(z, y, alpha)
    added = peak_mib() - before
    with LargestTensor() as record:
        loo_and_derivative(z, y, alpha)
    print(json.dumps({"n": n, "added_mib": added, "largest_numel": record.numel}))


def _child(n: int, d: int, classes: int) -> dict:
    command = [sys.executable, __file__, "--memory-child", str(n), "--d", str(d), "--classes", str(classes)]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--d", type=int, default=512)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--refits", type=int, default=20)
    parser.add_argument("--reg", type=float, default=1.0)
    parser.add_argument("--memory-child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.d, args.classes)
        return
    torch.set_num_threads(max(1, torch.get_num_threads()))
    z, y, alpha = problem(args.n, args.d, args.classes)

    started = time.perf_counter()
    fast = loo_predictions(z, y, alpha, args.reg, "primal")
    closed_seconds = time.perf_counter() - started

    started = time.perf_counter()
    weights = alpha.clone().requires_grad_(True)
    ((loo_predictions(z, y, weights, args.reg, "primal") - y) ** 2).sum().backward()
    derivative_seconds = time.perf_counter() - started

    picks = torch.linspace(0, args.n - 1, args.refits).long()
    started = time.perf_counter()
    max_error = 0.0
    for i in picks.tolist():
        keep = torch.ones(args.n, dtype=torch.bool)
        keep[i] = False
        coef = WeightedRidgeSystem(z[keep], alpha[keep], args.reg, "primal").coef(y[keep])
        max_error = max(max_error, float((z[i] @ coef - fast[i]).abs().max()))
    per_refit = (time.perf_counter() - started) / args.refits
    brute_seconds = per_refit * args.n

    print(f"N = {args.n}, d = {args.d}, C = {args.classes}, float64, {torch.get_num_threads()} threads")
    print(f"closed-form LOO predictions (all N):       {closed_seconds:8.3f} s")
    print(f"closed-form LOO + dL_LOO/dalpha (autograd): {derivative_seconds:8.3f} s")
    print(f"brute force: {per_refit:.4f} s per refit over {args.refits} refits -> {brute_seconds:,.0f} s extrapolated to N refits")
    print(f"speed-up, LOO predictions:  {brute_seconds / closed_seconds:,.0f}x")
    print(f"speed-up, LOO + derivative: {brute_seconds / derivative_seconds:,.0f}x (brute force gives no derivative at all)")
    print(f"max |closed form - brute force| on the refitted samples: {max_error:.2e}")

    print(f"\nclosed-form LOO + derivative, d = {args.d} fixed, a fresh process per N:")
    print(f"{'N':>8} {'peak added':>11} {'largest tensor':>16} {'one N x d array':>16} {'an N x N matrix':>16}")
    for n in (args.n // 4, args.n // 2, args.n, 2 * args.n):
        child = _child(n, args.d, args.classes)
        print(
            f"{n:>8} {child['added_mib']:>7.0f} MiB {8 * child['largest_numel'] / 2**20:>12.1f} MiB "
            f"{8 * n * args.d / 2**20:>12.1f} MiB {8 * n * n / 2**20:>12.0f} MiB"
        )


if __name__ == "__main__":
    main()
