"""Train RIM's GRU on a tiny problem under torchrun; every rank saves its weights (used by test_ddp.py)."""

import os
import sys

import numpy as np
import torch

from iclr22.core import distributed
from iclr22.rim.train import gru_log_probs, train_gru


def sequences():
    rng = np.random.default_rng(0)
    # a learnable pattern: item j is followed by j + 1 (mod 12)
    return [(rng.integers(0, 12) + np.arange(rng.integers(3, 15))) % 12 for _ in range(40)]


def main(out_prefix: str) -> None:
    torch.set_num_threads(1)
    model, history = train_gru(sequences(), 12, hidden=16, num_layers=1, epochs=8, lr=0.1, batch_size=8, seed=0)
    rank = int(os.environ.get("RANK", "0"))
    probs = gru_log_probs(model, [np.array([3, 4, 5])])
    torch.save({"weights": model.state_dict(), "history": torch.tensor([h["val_nll"] for h in history]),
                "next_after_5": int(probs[0].argmax())}, f"{out_prefix}{rank}.pt")
    distributed.barrier()
    distributed.cleanup()


if __name__ == "__main__":
    main(sys.argv[1])
