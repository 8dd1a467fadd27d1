"""Trans-Encoder: unsupervised sentence-pair scoring by self- and mutual distillation (Liu et al., ICLR 2022).

Give it unlabelled sentence pairs and one or two pretrained sentence encoders; it alternates a bi-encoder
(embeddings, cosine) and a cross-encoder (both sentences in one pass) that teach each other through
pseudo-labels, and returns both.

    >>> from iclr22.transencoder import TransEncoder
    >>> te = TransEncoder("minilm", cycles=3, bi_epochs=1).fit(pairs, dev=dev_pairs)
    >>> te.bi_encoder_.encode(["A man plays a guitar."])            # a BiEncoder: embeddings, cosine scores
    >>> te.cross_encoder_.score(["A man plays."], ["Someone plays."])  # a CrossEncoder: pair scores only

This module holds only the method's spec and lazy re-exports, so reading it imports no torch.
"""

from __future__ import annotations

from iclr22.core.registry import DatasetSpec, Demo, MethodSpec, Reproduction, lazy_exports

SPEC = MethodSpec(
    name="transencoder",
    paper="Liu et al., Trans-Encoder: Unsupervised Sentence-Pair Modelling through Self- and Mutual-Distillations (ICLR 2022)",
    entry="iclr22.transencoder.experiment:EXPERIMENT",
    datasets=(
        DatasetSpec("synthetic", "a generated STS-like sample (subject/action/place sentences, gold 0-5)"),
        DatasetSpec("stsb", "STS Benchmark (8,628 pairs learnt from without scores; dev selects, test reports)", "sts/stsb"),
        DatasetSpec("sts12-16", "SemEval STS 2012-2016 + STS-B pairs (the paper's sts task), tested per year", "sts/sts12-16"),
        DatasetSpec("tsv", "your pairs: --data-dir DIR with train.tsv (sentence1, sentence2); optional dev.tsv / test.tsv, with a score column to be scored",
                    user_files=True),
    ),
    extra="text",
    verbs="iclr22.transencoder.verbs:VERBS",
    headline=("bi", "spearman_test"),
    higher_is_better=True,
    # about a minute on 2 cores: 75 cross-encoder steps (lr x 5 so that they fit the teacher) and 38 bi-encoder
    # steps on 300 generated pairs, 100 held-out test pairs; why: docs/methods/transencoder.md, "Demo"
    demo=Demo(
        model="bi",
        baseline="start_bi",
        metric="spearman_test",
        claim="the self-distilled bi-encoder ranks held-out pairs better than the pretrained MiniLM it started from",
        quick=False,
        overrides={"synthetic_pairs": 300, "transductive": False, "cycles": 1, "cross_epochs": 2, "cross_batch_size": 16,
                   "cross_lr": 1e-4, "bi_epochs": 2, "bi_batch_size": 16},
        runs=1,
        tolerance=0.5,
    ),
    reproductions=(
        # CPU budget: 2 cycles of 1 bi-encoder epoch instead of 3 of 10 (see docs/methods/transencoder.md)
        Reproduction("stsb", runs=1, overrides={"cycles": 2, "bi_epochs": 1}, label="stsb"),
        Reproduction(
            "stsb",
            runs=1,
            # MPNet-base trains at ~2.4 pairs/s and scores ~10 pairs/s on 2 cores: a reduced set keeps this under 10 minutes
            overrides={"mode": "mutual", "cycles": 1, "bi_epochs": 1, "max_train_pairs": 128, "max_dev_pairs": 150,
                       "max_test_pairs": 250, "sts_avg": False},
            label="stsb-mutual",
        ),
    ),
)

_EXPORTS = {
    "TransEncoder": "iclr22.transencoder.estimator",
    "self_distill": "iclr22.transencoder.estimator",
    "mutual_distill": "iclr22.transencoder.estimator",
    "DistillConfig": "iclr22.transencoder.train",
    "DistillResult": "iclr22.transencoder.train",
    "PhaseLimitReached": "iclr22.transencoder.train",
    "distill": "iclr22.transencoder.train",
    "symmetric_pairs": "iclr22.transencoder.train",
    "average_labels": "iclr22.transencoder.train",
    "label_pairs": "iclr22.transencoder.train",
    "soft_bce_loss": "iclr22.transencoder.train",
    "cosine_mse_loss": "iclr22.transencoder.train",
    "train_cross_encoder": "iclr22.transencoder.train",
    "train_bi_encoder": "iclr22.transencoder.train",
    "evaluate": "iclr22.transencoder.train",
    "spearman": "iclr22.transencoder.train",
    "BiEncoder": "iclr22.transencoder.model",
    "CrossEncoder": "iclr22.transencoder.model",
    "resolve_model": "iclr22.transencoder.pretrained",
    "make_sts_sample": "iclr22.transencoder.synthetic",
}

__all__ = ["SPEC", *_EXPORTS]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
