"""The paper's baselines — source-only, DANN, CDANN, ADDA, MDD — as one estimator on GRDA's networks.

:class:`AdversarialAdapter` is :class:`~iclr22.grda.estimator.GRDA` with the adversary chosen by ``method``;
the adversaries' losses are in :mod:`iclr22.grda.train` (:data:`~iclr22.grda.train.ADVERSARIES`).
"""

from __future__ import annotations

from typing import Any

from iclr22.grda.estimator import GRDA
from iclr22.grda.train import METHODS, Method

__all__ = ["AdversarialAdapter", "METHODS"]


class AdversarialAdapter(GRDA):
    """GRDA or one of the paper's baselines (source-only, DANN, CDANN, ADDA, MDD) on the same networks.

    Takes every parameter of :class:`GRDA` (same names, defaults and meaning), plus the method.

    Args:
        method: grda (graph discriminator, Eq. 3), dann (D classifies the domain id), cdann (D conditioned
            on the prediction), adda (D separates source from target), mdd (margin disparity discrepancy
            with an adversarial predictor) or source_only.

    Example:
        >>> dann = AdversarialAdapter("dann", hidden=64, epochs=100).fit(X, y, domain, A, source_domains)
    """

    def __init__(self, method: Method = "grda", **params: Any) -> None:
        self.method = method
        super().__init__(**params)

    @classmethod
    def _get_param_names(cls) -> list[str]:
        """``method`` plus GRDA's parameters (scikit-learn's get_params / clone read this)."""
        return sorted(["method", *GRDA._get_param_names()])

    @property
    def _method(self) -> str:
        return self.method
