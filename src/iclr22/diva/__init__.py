"""DIVA: the dataset derivative of a learning task (Dukler et al., ICLR 2022).

Reweight a training set and find its mislabelled or harmful samples without retraining: the derivative of
the validation (or closed-form leave-one-out) loss with respect to every sample's weight, taken through
the closed-form solution of a linearised model (weighted ridge on fixed features).

    >>> from iclr22.diva import DIVA, find_label_issues
    >>> issues = find_label_issues(X, y)                          # ranked indices, most suspicious first
    >>> model = DIVA().fit(X, y)                                  # DIVA Reweight, then refit
    >>> model.weights_, model.derivative_, model.predict(X_test)

This module holds only the method's spec and lazy re-exports, so reading it imports no torch.
"""

from __future__ import annotations

from iclr22.core.registry import DatasetSpec, Demo, MethodSpec, Reproduction, lazy_exports

SPEC = MethodSpec(
    name="diva",
    paper="Dukler et al., DIVA: Dataset Derivative of a Learning Task (ICLR 2022)",
    entry="iclr22.diva.experiment:EXPERIMENT",
    datasets=(
        DatasetSpec("digits", "UCI 8x8 digits as shipped with scikit-learn (1,797 images); label noise injected"),
        DatasetSpec("mnist", "MNIST test set, IDX files (10,000 images): DIVA train/test halves", "images/mnist-t10k"),
        DatasetSpec("cifar10", "CIFAR-10 JPEG archives (1,000/class train subset, 10,000 test)", "images/cifar10-jpeg"),
        DatasetSpec("features", "your own embeddings: --data-dir DIR with DIR/features.npz (X_train, y_train, X_test, y_test)", user_files=True),
    ),
    headline=("diva", "auroc_mislabeled"),
    higher_is_better=True,
    reproductions=(
        Reproduction("digits", runs=5),
        Reproduction("mnist", runs=5),
        Reproduction("mnist", runs=5, overrides={"features": "cnn", "train_size": 3500, "test_size": 3500}, label="mnist-cnn"),
        Reproduction("cifar10", runs=3, overrides={"noise": 0.2}, label="cifar10-noise20"),
    ),
    # The setting and why (chosen before the run): docs/methods/diva.md, "Demo".
    demo=Demo(
        model="diva",
        baseline="uniform",
        metric="test_error",
        claim="one DIVA Reweight step lowers the test error (%) below uniform weights (paper Table 1), digits with 10% flipped labels",
        higher_is_better=False,
        quick=False,
        runs=5,
        tolerance=0.1,
    ),
    verbs="iclr22.diva.verbs:VERBS",
)

_EXPORTS = {
    "DIVA": "iclr22.diva.estimator",
    "find_label_issues": "iclr22.diva.estimator",
    "dataset_derivative": "iclr22.diva.estimator",
    "reweight": "iclr22.diva.estimator",
    "extend": "iclr22.diva.estimator",
    "select_reg": "iclr22.diva.estimator",
    "loo_error": "iclr22.diva.estimator",
    "ReweightResult": "iclr22.diva.estimator",
    "ExtendResult": "iclr22.diva.estimator",
    "loo_loss": "iclr22.diva.train",
    "validation_loss": "iclr22.diva.train",
    "WeightedRidgeSystem": "iclr22.diva.model",
    "loo_predictions": "iclr22.diva.model",
    "paper_loo_predictions": "iclr22.diva.model",
    "brute_force_loo_predictions": "iclr22.diva.model",
    "LinearizedNetwork": "iclr22.diva.model",
    "ntk_features": "iclr22.diva.model",
    "RandomFourierFeatures": "iclr22.diva.model",
}

__all__ = ["SPEC", *_EXPORTS]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
