"""Does GRDA's graph discriminator learn anything on TPT-48? (A diagnostic, not a speed test; nothing asserted.)

1. On the label-free validation split of ``iclr22 run grda --dataset tpt48 --set holdout_sources=8`` (the 8
   sources nearest the targets' side have their labels hidden and are the only states scored; no target
   state is scored), train source-only and GRDA at λ = 0, 0.001, 0.01 with the TPT-48 experiment's settings,
   and print the held-out MSE and the discriminator loss L_d after epochs 1, 10, 50, 100 against its chance
   level D·ln 2 (48 · ln 2 = 33.27; the balanced loss of a D that outputs constants is at least that).
   GRDA at λ = 0 trains D but gives the encoder no adversarial gradient: its gap to source-only is what
   the different random draws alone do (GRDA's subgraph sampler shares the batch sampler's RNG).
2. The floor of L_d for a k-dimensional inner-product decoder: free vectors z_d, one per state, fitted
   directly to the 48-state graph with the same balanced loss (k = 2 is the discriminator's output size,
   the official toy ``nd_out``).

    python benchmarks/grda_tpt48_diagnostics.py [--seed 0] [--epochs 100]

Needs ../shared/data/grda/tpt48/. About 1.5 min on one core.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from iclr22.core.paths import default_data_root
from iclr22.data.domains import load_tpt48
from iclr22.grda.baselines import AdversarialAdapter
from iclr22.grda.tpt48 import tpt48_holdout_sources, tpt48_task_sources, tpt48_windows
from iclr22.grda.train import fit_domain_embedding, graph_discriminator_loss

#: The TPT-48 experiment's settings (``iclr22.grda.experiment``: the estimator's defaults, BUDGET and TPT48_OPTIONS).
SETTINGS = dict(task="regression", hidden=64, lr=1e-4, lr_disc=1e-3, init="pytorch", pairing="random",
                batch_per_domain=16, num_sampled_domains=27, verbose=False)
MODELS = {"source_only": ("source_only", 0.0), "grda λ=0": ("grda", 0.0), "grda λ=0.001": ("grda", 0.001),
          "grda λ=0.01": ("grda", 0.01)}


def tpt48_folder():
    root = default_data_root()
    if root is None or not (root / "grda" / "tpt48").is_dir():
        raise SystemExit("needs ../shared/data/grda/tpt48/ (or $ICLR22_DATA_ROOT/grda/tpt48/)")
    return root / "grda" / "tpt48"


def held_out_runs(seed: int, epochs: int) -> None:
    data = load_tpt48(tpt48_folder())
    chance = data.adjacency.shape[0] * math.log(2)
    sums: dict[str, float] = {}
    for task in ("E->W", "N->S"):
        hidden = tpt48_holdout_sources(data, task, 8)
        sources = np.setdiff1d(tpt48_task_sources(data, task), hidden)
        windows = tpt48_windows(data.temperatures, sources, 6, 12)
        scored = np.isin(windows["domain_test"], hidden)
        embedding = fit_domain_embedding(data.adjacency, 2, lr=1e-4, seed=seed)
        for name, (method, lam) in MODELS.items():
            started = time.perf_counter()
            model = AdversarialAdapter(method, lambda_adv=lam, epochs=epochs, seed=seed, **SETTINGS)
            model.fit(windows["x_train"], windows["y_train"], windows["domain_train"], data.adjacency, sources, embedding)
            scores = model.score_domains(windows["x_test"][scored], windows["y_test"][scored], windows["domain_test"][scored])
            mse = float(np.mean(list(scores.values())))
            sums[name] = sums.get(name, 0.0) + mse
            adv = [h["adv"] for h in model.history_ if "adv" in h]
            trace = " ".join(f"{adv[i - 1]:.2f}" for i in (1, 10, 50, 100) if i <= len(adv)) or "-"
            print(f"{task} {name:13s} held-out MSE {mse:.3f}   L_d after epochs 1/10/50/100: {trace} "
                  f"(chance {chance:.2f})   {time.perf_counter() - started:.0f} s", flush=True)
    for name, total in sums.items():
        print(f"sum over both tasks, {name}: {total:.3f}")


def decoder_floor() -> None:
    adjacency = torch.as_tensor(load_tpt48(tpt48_folder()).adjacency)
    for k in (2, 4, 8, 16):
        best = math.inf
        for seed in range(3):
            z = (0.5 * torch.randn(adjacency.shape[0], 1, k, generator=torch.Generator().manual_seed(seed))).requires_grad_()
            optimizer = torch.optim.Adam([z], lr=0.05)
            for _ in range(3000):
                loss = graph_discriminator_loss(z, adjacency)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            best = min(best, float(loss.detach()))
        print(f"free {k}-D vectors per state: lowest balanced L_d over all 48 states {best:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(1)
    held_out_runs(args.seed, args.epochs)
    decoder_floor()


if __name__ == "__main__":
    main()
