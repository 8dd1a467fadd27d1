"""GRDA — Graph-Relational Domain Adaptation (Xu, He, Lee, Wang, Wang; ICLR 2022).

Adapt a model from a few labelled domains to many unlabelled ones when the domains are the nodes of a
known graph (e.g. US states and their borders). ``GRDA(...).fit(X, y, domain, adjacency)`` adapts;
``predict(X, domain)`` serves any domain. The baselines of the paper (source-only, DANN, CDANN, ADDA, MDD)
run through :class:`AdversarialAdapter` on the same networks. Files: ``train.py`` (the algorithm),
``estimator.py`` (:class:`GRDA`, :func:`fit_grda`), ``baselines.py`` (:class:`AdversarialAdapter`), ``model.py``
(the networks), ``graph.py`` (the domain graph), ``synthetic.py`` (the spiral), ``tpt48.py`` (the TPT-48
protocol), ``experiment.py`` and ``figures.py`` (the paper's experiment and its report).

This module holds only the registry entry and lazy re-exports: importing it loads no torch.
"""

from __future__ import annotations

from iclr22.core.registry import DatasetSpec, Demo, MethodSpec, Reproduction, lazy_exports

SPEC = MethodSpec(
    name="grda",
    paper="Xu et al., Graph-Relational Domain Adaptation (ICLR 2022)",
    entry="iclr22.grda.experiment:EXPERIMENT",
    datasets=(
        DatasetSpec("spiral", "synthetic spiral of 15 domains on a graph, DG-15-like (generated, seeded)"),
        DatasetSpec("dg15", "DG-15: 15 toy domains, 2-D inputs, binary labels (grda/dg15/dg15.npz); any dgN.npz works", "grda/dg15"),
        DatasetSpec(
            "tpt48", "TPT-48: monthly temperature of 48 US states, E->W and N->S (grda/tpt48)", "grda/tpt48",
            paired=(("mse_target_ew", False), ("mse_target_ns", False)),
        ),
    ),
    headline=("grda", "acc_target"),
    higher_is_better=True,
    reproductions=(
        Reproduction("dg15", runs=5, label="dg15"),
        Reproduction("tpt48", runs=2, label="tpt48"),
    ),
    accepts_any_dataset_in="grda/dg15",
    # The setting and why, chosen before the run: docs/methods/grda.md, "Demo". The label-free row, because the
    # experiment's grda row reads target labels through the spiral's class-sorted file order.
    demo=Demo(
        model="grda_random_pairing",
        baseline="dann",
        metric="acc_target",
        claim="GRDA (label-free pairs) beats DANN on the target domains of a 15-domain spiral whose graph links close angles",
        overrides={"models": "source_only,dann,grda,grda_random_pairing"},
        quick=False,
        runs=3,
        tolerance=2.0,
    ),
    verbs="iclr22.grda.verbs:VERBS",
)

# Public API, imported on first use (PEP 562) so that reading SPEC stays light.
_EXPORTS = {
    "GRDA": "iclr22.grda.estimator",
    "fit_grda": "iclr22.grda.estimator",
    "AdversarialAdapter": "iclr22.grda.baselines",
    "METHODS": "iclr22.grda.train",
    "as_adjacency": "iclr22.grda.graph",
    "adjacency_from_edges": "iclr22.grda.graph",
    "adjacency_from_similarity": "iclr22.grda.graph",
    "graph_distance_to": "iclr22.grda.graph",
    "sample_domain_subgraph": "iclr22.grda.train",
    "graph_discriminator_loss": "iclr22.grda.train",
    "domain_index_loss": "iclr22.grda.train",
    "fit_domain_embedding": "iclr22.grda.train",
    "make_spiral_domains": "iclr22.grda.synthetic",
    "tpt48_windows": "iclr22.grda.tpt48",
    "tpt48_task_sources": "iclr22.grda.tpt48",
    "TPT48_EAST_STATES": "iclr22.grda.tpt48",
    "Encoder": "iclr22.grda.model",
    "Predictor": "iclr22.grda.model",
    "GraphDiscriminator": "iclr22.grda.model",
    "DomainIndexNet": "iclr22.grda.model",
    "DomainClassifier": "iclr22.grda.model",
    "BinaryDomainDiscriminator": "iclr22.grda.model",
}

__all__ = ["SPEC", *_EXPORTS]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
