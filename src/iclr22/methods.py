"""The built-in methods: a registry of lazy import paths.

Each entry of :data:`BUILTIN_SPECS` names a method package's ``SPEC``, a
:class:`~iclr22.core.registry.MethodSpec` defined in that package's ``__init__.py``. A method package's
``__init__`` holds only its spec and lazy re-exports of its API (PEP 562 ``__getattr__``), so reading
every spec imports no torch, torch_geometric or transformers, and ``iclr22 list`` stays instant.

Adding a method: write ``src/iclr22/<name>/`` (``__init__.py`` with ``SPEC``, ``model.py``, ``train.py``,
``experiment.py`` with ``run(ctx)``), then add ``"iclr22.<name>:SPEC"`` below.
"""

from __future__ import annotations

__all__ = ["BUILTIN_SPECS", "PLANNED"]

#: The ten methods of the toolkit, by CLI name, with their papers.
PLANNED: dict[str, str] = {
    "coldbrew": "Zheng et al., Cold Brew: Distilling Graph Node Representations with Incomplete or Missing Neighborhoods",
    "giant": "Chien et al., Node Feature Extraction by Self-Supervised Multi-scale Neighborhood Prediction (GIANT)",
    "grda": "Xu et al., Graph-Relational Domain Adaptation",
    "psagan": "Jeha et al., PSA-GAN: Progressive Self Attention GANs for Synthetic Time Series",
    "rim": "Ma et al., Recurrent Intensity Modeling for User Recommendation and Online Matching",
    "deepaa": "Zheng et al., Deep AutoAugment",
    "diva": "Dukler et al., DIVA: Dataset Derivative of a Learning Task",
    "transencoder": "Liu et al., Trans-Encoder: Unsupervised Sentence-Pair Modelling through Self- and Mutual-Distillations",
    "idgbench": "Schott et al., Visual Representation Learning Does Not Generalize Strongly Within the Same Domain",
    "trajshap": "Makansi et al., You Mostly Walk Alone: Analyzing Feature Attribution in Trajectory Prediction",
}

#: ``"module:attribute"`` of each landed method's spec, in ``iclr22 list`` order.
BUILTIN_SPECS: tuple[str, ...] = (
    "iclr22.coldbrew:SPEC",
    "iclr22.idgbench:SPEC",
    "iclr22.diva:SPEC",
    "iclr22.trajshap:SPEC",
    "iclr22.grda:SPEC",
    "iclr22.transencoder:SPEC",
    "iclr22.rim:SPEC",
)
