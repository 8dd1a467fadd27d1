"""Short CNN training runs on the random split, per-factor R² after every epoch (how the defaults were chosen).

    python benchmarks/idgbench_cnn_tuning.py '{"bs": 64, "lr": 1e-3}' '{"bs": 64, "lr": 2e-3, "std": true, "grid": "full"}'

Each argument is one run, a JSON object of :func:`run`'s keywords: ``grid`` (``"rot90"``: the quarter-turn
dSprites grid, ``"full"``: the 40-orientation grid), ``n`` training images, ``epochs``, ``bs`` batch size,
``lr`` peak Adam learning rate (cosine decay to 0), ``std`` (divide each factor's error by its grid standard
deviation in the loss, so the loss is the mean of 1 − R² over factors), ``family``, ``seed``. Scores are on
2,000 random-split test images. Not a test: it prints numbers for ``docs/methods/idgbench.md``.
"""

from __future__ import annotations

import json
import math
import sys
import time

import numpy as np
import torch

from iclr22.idgbench.metrics import r_squared
from iclr22.idgbench.model import build_model
from iclr22.idgbench.synthetic import DSpritesRenderer
from iclr22.idgbench.splits import make_split
from iclr22.idgbench.train import images_to_tensor


def run(grid="rot90", n=20000, epochs=6, bs=64, lr=1e-3, std=False, family="cnn", budget=None, seed=0):
    t0 = time.time()
    rend = DSpritesRenderer(quarter_turn=(grid == "rot90"))
    space = rend.space
    split = make_split(space, "random", seed=seed)
    tr, te = split.sample(n, 2000, seed=1)
    xtr = rend.images(space.cells(tr))
    ytr = space.normalize(space.cells(tr))
    xte = rend.images(space.cells(te))
    yte = space.normalize(space.cells(te))
    torch.manual_seed(seed)
    model = build_model(family, (1, 64, 64), 5)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sd = torch.tensor(np.sqrt(space.variance), dtype=torch.float32)
    targets = torch.tensor(ytr)
    steps = math.ceil(n / bs) * epochs
    step = 0
    print(f"== {grid} n={n} ep={epochs} bs={bs} lr={lr} std={std} {family} render {time.time() - t0:.1f}s", flush=True)
    for ep in range(epochs):
        model.train()
        order = torch.randperm(n, generator=torch.Generator().manual_seed(ep))
        te0 = time.time()
        for s in range(0, n, bs):
            rows = order[s : s + bs].numpy()
            for group in opt.param_groups:
                group["lr"] = 0.5 * lr * (1 + math.cos(math.pi * step / steps))
            out = model(images_to_tensor(xtr[rows]))
            y = targets[rows]
            loss = (((out - y) / sd) ** 2).mean() if std else ((out - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        model.eval()
        with torch.no_grad():
            p = torch.cat([model(images_to_tensor(xte[i : i + 500])) for i in range(0, len(xte), 500)]).numpy()
        r2 = r_squared(p, yte, space)  # in %
        print(
            f"ep{ep} {time.time() - te0:.1f}s loss {loss.item():.4f} mean {r2.mean():.1f} per {np.round(r2, 1).tolist()} total {time.time() - t0:.0f}s",
            flush=True,
        )
        if budget and time.time() - t0 > budget:
            break


if __name__ == "__main__":
    for spec in sys.argv[1:]:
        run(**json.loads(spec))
