"""Short training runs of one family on the random split, scored on held-out *training* cells (how
``estimator.FAMILY_LR``, the ViT's convolutional stem and the β-VAE's MLP readout were chosen).

    python benchmarks/idgbench_family_tuning.py '{"family": "vit", "epochs": 2}' '{"family": "vit", "epochs": 2, "warmup": 0.1}'

Each argument is one run, a JSON object: ``family``, ``epochs``, ``lr``, ``warmup``, ``vae_lr``, ``beta``,
``readouts`` (β-VAE: the readouts to fit on the same trained encoder, e.g. ``["linear", "mlp"]``) and
``model`` (keyword arguments of the family's module, e.g. ``{"patch_size": 4}`` for the ViT). All runs share
one draw of 20,000 training images of the quarter-turn grid's random split (seed 0). The score is the mean
R² on 2,000 *unseen training cells* of that split (the held-in images), never on its test cells, so the
choice does not look at the test set. Not a test: it prints numbers for ``docs/methods/idgbench.md``.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch

from iclr22.idgbench.benchmark import Benchmark
from iclr22.idgbench.metrics import r_squared
from iclr22.idgbench.model import BetaVAE, ViT, build_model
from iclr22.idgbench.estimator import FactorRegressor
from iclr22.idgbench.train import fit_beta_vae, fit_linear_readout, fit_mlp_readout, fit_regressor, images_to_tensor, predict


def _model(family: str, kwargs: dict):
    if family == "vit" and kwargs:
        return ViT(64, 1, 5, **kwargs)
    if family == "betavae" and kwargs:
        return BetaVAE(1, **kwargs)
    return build_model(family, (1, 64, 64), 5)


def _step_seconds(model, x, y) -> float:
    optimizer = torch.optim.Adam(model.parameters())
    started = time.perf_counter()
    for _ in range(3):
        out = model(x) if not isinstance(model, BetaVAE) else model.loss(x)[0]
        loss = torch.nn.functional.mse_loss(out, y) if not isinstance(model, BetaVAE) else out
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - started) / 3


def run(data, space, family="vit", epochs=2, lr=1e-3, warmup=0.0, vae_lr=5e-4, beta=4.0, readouts=("mlp",), model=None, seed=0):
    started = time.perf_counter()
    torch.manual_seed(seed)
    net = _model(family, model or {})
    x, y = images_to_tensor(data.train_images[:64]), torch.as_tensor(data.train_targets[:64])
    step = _step_seconds(_model(family, model or {}), x, y)
    config = FactorRegressor(family, epochs=epochs, lr=lr, warmup=warmup, vae_lr=vae_lr, beta=beta).training_config()
    label = json.dumps({"family": family, "epochs": epochs, "lr": lr, "warmup": warmup, "vae_lr": vae_lr, "beta": beta, "model": model or {}})
    if isinstance(net, BetaVAE):
        fit_beta_vae(net, data.train_images, config, seed)
        fitted = {f"readout={r}": (fit_mlp_readout if r == "mlp" else fit_linear_readout)(net, data.train_images, data.train_targets) for r in readouts}
    else:
        fit_regressor(net, data.train_images, data.train_targets, config, seed)
        fitted = {"": net}
    for name, fitted_model in fitted.items():
        r2 = r_squared(predict(fitted_model, data.heldin_images), data.heldin_targets, space)  # in %
        print(f"{label} {name} step {step * 1000:.0f} ms | held-in R2 {r2.mean():.1f} per factor {np.round(r2, 1).tolist()} | {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    bench = Benchmark("dsprites-rot90", splits=["random"], num_train=20000, num_test=1, num_heldin=2000, seed=0)
    data = bench.data("random")
    for spec in sys.argv[1:]:
        spec = json.loads(spec)
        if "readouts" in spec:
            spec["readouts"] = tuple(spec["readouts"])
        run(data, bench.space, **spec)
