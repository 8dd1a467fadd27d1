"""The figures and tables of the GRDA experiment's report: scores per domain drawn on the domain graph,
accuracy-vs-epoch curves, per-domain Markdown tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from iclr22.data.domains import DomainDataset

__all__ = ["dg_positions", "per_domain_table", "plot_graph_scores", "plot_curves"]


def dg_positions(data: DomainDataset) -> np.ndarray:
    """Plot positions of the domain nodes: the DG files' domain angles on a half circle when present (the
    spiral's are in its domain names), else 2-D domain embeddings, else a spectral layout of the graph."""
    angles = data.domain_angle
    if angles is not None:
        # Spread the domains along a spiral so that close angles do not overlap.
        order = np.argsort(np.argsort(angles))
        radius = 1.0 + 0.6 * order / max(1, data.num_domains - 1)
        return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)
    if data.domain_embedding is not None and data.domain_embedding.shape[1] == 2:
        return np.asarray(data.domain_embedding, dtype=np.float64)
    adjacency = data.adjacency.astype(np.float64)
    laplacian = np.diag(adjacency.sum(1)) - adjacency
    _, vectors = np.linalg.eigh(laplacian)
    return vectors[:, 1:3]


def per_domain_table(per_domain: dict[str, dict[int, float]], sources: np.ndarray, names: list[str] | None = None) -> str:
    models = list(per_domain)
    domains = sorted(next(iter(per_domain.values())))
    source_set = {int(s) for s in sources}
    lines = ["| domain | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    for d in domains:
        label = names[d] if names else str(d)
        label += " (source)" if d in source_set else ""
        lines.append(f"| {label} | " + " | ".join(f"{per_domain[m][d]:.2f}" for m in models) + " |")
    return "\n".join(lines)


def plot_graph_scores(
    path: Path,
    positions: np.ndarray,
    adjacency: np.ndarray,
    sources: np.ndarray,
    per_domain: dict[str, dict[int, float]],
    title: str,
    colorbar_label: str,
    higher_is_better: bool,
    names: list[str] | None = None,
) -> Path:
    """One panel per model: the domain graph, each target node coloured by its score, sources hatched grey."""
    from iclr22.core.results import new_figure, save_figure

    models = list(per_domain)
    cols = min(4, len(models))
    rows = int(np.ceil(len(models) / cols))
    # A thin last column holds the colour bar, so tight_layout keeps it clear of the panels.
    fig, grid = new_figure(rows, cols + 1, figsize=(4.2 * cols + 0.8, 3.6 * rows), squeeze=False,
                           gridspec_kw={"width_ratios": [1.0] * cols + [0.06]})
    colorbar_axes = grid[:, -1]
    axes = grid[:, :-1].reshape(-1)
    source_set = {int(s) for s in sources}
    target_values = [v for m in models for d, v in per_domain[m].items() if d not in source_set]
    vmin, vmax = (min(target_values), max(target_values)) if target_values else (0.0, 1.0)
    if higher_is_better:  # accuracy: a fixed 0..100 scale, comparable across runs
        vmin, vmax = 0.0, 100.0
    cmap = "viridis" if higher_is_better else "viridis_r"
    edges = np.argwhere(np.triu(adjacency, 1))
    scatter = None
    for ax, model in zip(axes, models):
        for i, j in edges:
            ax.plot(positions[[i, j], 0], positions[[i, j], 1], color="0.8", lw=0.6, zorder=1)
        domains = sorted(per_domain[model])
        targets = [d for d in domains if d not in source_set]
        scatter = ax.scatter(positions[targets, 0], positions[targets, 1], c=[per_domain[model][d] for d in targets],
                             cmap=cmap, vmin=vmin, vmax=vmax, s=90, edgecolors="k", linewidths=0.5, zorder=2)
        src = sorted(source_set)
        ax.scatter(positions[src, 0], positions[src, 1], c="0.55", marker="s", s=70, edgecolors="k", linewidths=0.5, zorder=2)
        for d in domains:
            ax.annotate(names[d] if names else str(d), positions[d], fontsize=6, ha="center", va="center", zorder=3,
                        color="white" if d not in source_set else "black")
        mean_target = np.mean([per_domain[model][d] for d in targets]) if targets else float("nan")
        ax.set_title(f"{model}: target mean {mean_target:.3g}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(models):]:
        ax.axis("off")
    fig.suptitle(title + " (grey squares: sources)", fontsize=10)
    if scatter is not None:
        fig.colorbar(scatter, cax=colorbar_axes[0], label=colorbar_label)
    for ax in colorbar_axes[1:]:
        ax.axis("off")
    return save_figure(fig, path)


def plot_curves(path: Path, curves: dict[str, list[tuple[int, float]]], ylabel: str) -> Path:
    from iclr22.core.results import new_figure, save_figure

    fig, ax = new_figure(figsize=(6, 4))
    for model, points in curves.items():
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", ms=3, label=model)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save_figure(fig, path)
