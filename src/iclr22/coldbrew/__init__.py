"""Cold Brew (Zheng et al., ICLR 2022): predict for isolated, tail and brand-new nodes from features alone.

A GCN teacher with per-node structural embeddings is distilled into an MLP student that looks up
"virtual neighbours" among the teacher's embeddings, so that nodes with no edges get graph-informed
predictions. ``iclr22 run coldbrew`` reproduces the paper's head / tail / isolation comparison.

Public API (imported lazily, so reading :data:`SPEC` imports no torch)::

    from iclr22.coldbrew import ColdBrew, cold_brew, degree_split, feature_contribution_ratio

Modules: ``model`` (torch modules), ``train`` (the algorithm), ``estimator`` (:class:`ColdBrew`,
:func:`cold_brew`), ``baselines``, ``graph`` (input checks), ``splits``, ``metrics``, ``synthetic`` (the
embedded graph), ``experiment`` (the paper's experiment, :data:`~iclr22.coldbrew.experiment.EXPERIMENT`).
"""

from __future__ import annotations

from iclr22.core.registry import DatasetSpec, Demo, MethodSpec, Reproduction, lazy_exports

SPEC = MethodSpec(
    name="coldbrew",
    paper="Zheng et al., Cold Brew: Distilling Graph Node Representations with Incomplete or Missing Neighborhoods (ICLR 2022)",
    entry="iclr22.coldbrew.experiment:EXPERIMENT",
    datasets=(
        DatasetSpec("synthetic", "seeded power-law graph with label-correlated features, generated in-process", None),
        DatasetSpec("cora", "Planetoid Cora citation graph (2708 nodes, 7 classes)", "planetoid"),
        DatasetSpec("citeseer", "Planetoid CiteSeer (ind.citeseer.* files; not in the shared data)", "planetoid"),
        DatasetSpec("pubmed", "Planetoid PubMed (needs ind.pubmed.allx, absent from the shared data)", "planetoid"),
    ),
    extra="graphs",
    headline=("coldbrew", "acc_isolated"),
    higher_is_better=True,
    reproductions=(
        Reproduction("cora", runs=5, overrides={}, label="cora"),
        Reproduction("cora", runs=3, overrides={"split": "official"}, label="cora-official-split"),
    ),
    accepts_any_dataset_in="planetoid",
    # The setting and why (chosen before the run): docs/methods/coldbrew.md, "Demo".
    demo=Demo(
        model="coldbrew",
        baseline="graphmlp",
        metric="acc_isolated",
        claim="the distilled MLP student labels isolated nodes (no edges) more accurately than GraphMLP",
        quick=False,
        overrides={"synthetic_nodes": 2500, "models": "mlp,graphmlp,coldbrew", "train_mode_samples": 0},
        tolerance=2.0,
    ),
    verbs="iclr22.coldbrew.verbs:VERBS",
)

_LAZY = {
    "ColdBrew": "iclr22.coldbrew.estimator",
    "cold_brew": "iclr22.coldbrew.estimator",
    "validate_graph": "iclr22.coldbrew.graph",
    "GraphTensors": "iclr22.coldbrew.graph",
    "row_normalize": "iclr22.coldbrew.graph",
    "fit_teacher": "iclr22.coldbrew.train",
    "fit_student": "iclr22.coldbrew.train",
    "fit_student_part1": "iclr22.coldbrew.train",
    "fit_student_part2": "iclr22.coldbrew.train",
    "cross_fitted_embeddings": "iclr22.coldbrew.train",
    "teacher_embeddings": "iclr22.coldbrew.train",
    "TrainSettings": "iclr22.coldbrew.train",
    "feature_contribution_ratio": "iclr22.coldbrew.metrics",
    "accuracy": "iclr22.coldbrew.metrics",
    "label_propagation_predict": "iclr22.coldbrew.baselines",
    "GraphMLP": "iclr22.coldbrew.baselines",
    "SAGE": "iclr22.coldbrew.baselines",
    "GCNSE": "iclr22.coldbrew.model",
    "SEGCNConv": "iclr22.coldbrew.model",
    "ColdBrewStudent": "iclr22.coldbrew.model",
    "virtual_neighbors": "iclr22.coldbrew.model",
    "normalized_adjacency": "iclr22.coldbrew.model",
    "degree_split": "iclr22.coldbrew.splits",
    "label_split": "iclr22.coldbrew.splits",
    "isolate_nodes": "iclr22.coldbrew.splits",
    "DegreeSplit": "iclr22.coldbrew.splits",
    "make_cold_start_graph": "iclr22.coldbrew.synthetic",
    "load_planetoid_graph": "iclr22.coldbrew.experiment",
}

__all__ = ["SPEC", *_LAZY]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
