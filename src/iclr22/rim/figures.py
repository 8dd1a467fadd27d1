"""RIM's figure: UserRec precision against ItemRec precision, one point per model (the paper's figure style)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["plot_precision"]


def plot_precision(path: Path, precision: dict[str, tuple[float, float]], title: str) -> Path:
    """Scatter of ``{model: (itemrec_prec, userrec_prec)}`` (×100) with each point labelled; returns ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, (item_prec, user_prec) in precision.items():
        marker = "*" if name.startswith("rim") else "o"
        ax.scatter(item_prec, user_prec, marker=marker, s=90 if marker == "*" else 40)
        ax.annotate(name, (item_prec, user_prec), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlabel("ItemRec precision (x100)")
    ax.set_ylabel("UserRec precision (x100)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
