"""Images rendered per second by the procedural dSprites renderer.

    python benchmarks/idgbench_render.py [--images 20000]

Prints the renderer's throughput on a uniform sample of the 737,280-cell grid (it tests every pixel of the
64 x 64 canvas), side by side with the same renderer testing only the 32 x 32 window around the object and
scattering it into the canvas (the ratio says whether the window pays), and how long the full grid takes.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from iclr22.idgbench.synthetic import DSPRITES, DSpritesRenderer


class _WindowedRenderer(DSpritesRenderer):
    _window = 32


def _rate(renderer: DSpritesRenderer, cells: np.ndarray, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        renderer.images(cells)
        best = min(best, time.perf_counter() - started)
    return len(cells) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20000)
    args = parser.parse_args()
    import torch

    cells = DSPRITES.cells(np.random.default_rng(0).integers(0, DSPRITES.num_cells, args.images))
    full, windowed = DSpritesRenderer(), _WindowedRenderer()
    assert np.array_equal(windowed.images(cells[:500]), full.images(cells[:500])), "window clips a shape"
    rate_window, rate_full = _rate(windowed, cells), _rate(full, cells)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.images} random dSprites cells")
    print(f"renderer (full canvas)  : {rate_full:9.0f} images/s")
    print(f"32x32 window + scatter  : {rate_window:9.0f} images/s")
    print(f"full canvas vs window: {rate_full / rate_window:.2f}x")
    print(f"the whole grid ({DSPRITES.num_cells} images) would take {DSPRITES.num_cells / rate_full / 60:.1f} min")


if __name__ == "__main__":
    main()
