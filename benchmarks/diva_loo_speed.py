"""DIVA's closed-form leave-one-out vs brute-force retraining, and its memory growth.

    python benchmarks/diva_loo_speed.py [--n 10000] [--d 512] [--classes 10] [--refits 20]

1. Speed: the closed-form LOO predictions of all N samples (Prop. 3, primal form) and the full dataset
   derivative dL_LOO/dalpha (autograd through it), against brute force: refitting the weighted ridge from
   scratch without sample i. Brute force is timed on ``--refits`` samples in the same process and
   extrapolated linearly to N refits (each refit costs the same: one d x d Gram matrix over N-1 rows, a
   Cholesky factorisation and a solve), and its LOO predictions on those samples are checked against the
   closed form.
2. Memory: the peak resident memory added by the closed-form LOO + derivative (a fresh subprocess that
   computes them minus one that only builds the data), for growing N at fixed d. O(N d + d^2) grows
   linearly in N, a few N x d arrays; an N x N hat matrix would add 8 N^2 bytes (763 MiB at N = 10,000).
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
    z = torch.randn(n, d, generator=g, dtype=torch.float64) / d**0.5
    y = one_hot(torch.randint(0, classes, (n,), generator=g), classes)
    return z, y, torch.ones(n, dtype=torch.float64)


def memory_child(n: int, d: int, classes: int, compute: bool) -> None:
    """Run in a fresh subprocess: make the problem, optionally run the closed-form LOO + derivative, and
    print the process's peak resident memory (MiB). The difference between the two kinds of child is what
    the LOO and its derivative add at their peak."""
    import resource

    z, y, alpha = problem(n, d, classes)
    if compute:
        alpha.requires_grad_(True)
        loss = ((loo_predictions(z, y, alpha, 1.0, "primal") - y) ** 2).sum()
        loss.backward()
    print(json.dumps({"n": n, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def _peak(n: int, d: int, classes: int, compute: bool) -> float:
    command = [sys.executable, __file__, "--memory-child", str(n), "--d", str(d), "--classes", str(classes)]
    out = subprocess.run(command + (["--compute"] if compute else []), capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_mib"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--d", type=int, default=512)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--refits", type=int, default=20)
    parser.add_argument("--reg", type=float, default=1.0)
    parser.add_argument("--memory-child", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--compute", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.d, args.classes, args.compute)
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

    print("\npeak memory added by closed-form LOO + derivative (fresh processes, d fixed):")
    print(f"{'N':>8} {'added MiB':>10} {'N*d float64':>12} {'an N x N matrix':>16}")
    for n in (args.n // 4, args.n // 2, args.n, 2 * args.n):
        added = _peak(n, args.d, args.classes, True) - _peak(n, args.d, args.classes, False)
        print(f"{n:>8} {added:>10.0f} {8 * n * args.d / 2**20:>8.0f} MiB {8 * n * n / 2**20:>12.0f} MiB")


if __name__ == "__main__":
    main()
