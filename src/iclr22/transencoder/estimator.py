"""The public estimator :class:`TransEncoder` and its functional entry points :func:`self_distill` / :func:`mutual_distill`.

    >>> from iclr22.transencoder import TransEncoder
    >>> te = TransEncoder("minilm", cycles=3, bi_epochs=1).fit(pairs, dev=dev_pairs)
    >>> te.predict([("A man plays a guitar.", "Someone plays guitar.")])          # the bi-encoder's cosine
    >>> te.predict([("A man plays a guitar.", "Someone plays guitar.")], encoder="cross")  # sigmoid(f(s ⊕ s′))
    >>> te.bi_encoder_.encode(["A man plays a guitar."])                          # embeddings: bi-encoder only

The algorithm itself is :func:`iclr22.transencoder.train.distill`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any, Literal

import numpy as np

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.estimator import Estimator
from iclr22.core.validation import as_numpy
from iclr22.data.sentence_pairs import SentencePairs
from iclr22.transencoder.model import BiEncoder, CrossEncoder
from iclr22.transencoder.train import DistillConfig, DistillResult, distill, spearman

__all__ = ["TransEncoder", "self_distill", "mutual_distill", "as_pairs"]


def as_pairs(X: Any, name: str = "X") -> SentencePairs:
    """``X`` as :class:`SentencePairs`: those as they are, or ``n`` rows of two sentences (a list of
    ``(s, s′)`` tuples, an ``[n, 2]`` array or a two-column DataFrame).

    Raises:
        DataError: another shape, or a cell that is not a string.
    """
    if isinstance(X, SentencePairs):
        if len(X.sentence1) != len(X.sentence2):
            raise DataError(f"{X.name}: sentence1 and sentence2 differ in length ({len(X.sentence1)} vs {len(X.sentence2)})")
        return X
    rows = as_numpy(X, name)
    if rows.size == 0 and rows.ndim <= 2:
        return SentencePairs([], [], None, name)
    if rows.ndim != 2 or rows.shape[1] != 2:
        raise DataError(f"{name}: expected SentencePairs or rows of two sentences (shape [n, 2]), got shape {tuple(rows.shape)}")
    if not all(isinstance(s, str) for s in rows.ravel()):
        raise DataError(f"{name}: expected sentences (strings) in both columns")
    return SentencePairs([str(s) for s in rows[:, 0]], [str(s) for s in rows[:, 1]], None, name)


def _check_pairs(pairs: SentencePairs, what: str) -> None:
    if len(pairs) == 0:
        raise DataError(f"{pairs.name}: no {what} pairs")
    for i, (a, b) in enumerate(zip(pairs.sentence1, pairs.sentence2)):
        if not a.strip() or not b.strip():
            raise DataError(f"{pairs.name}: pair {i}: empty sentence")


class TransEncoder(Estimator):
    """Trans-Encoder: self-distillation (one pretrained model) or mutual distillation (two) of bi- and cross-encoders.

    ``fit`` learns from unlabelled sentence pairs; the fitted estimator holds the dev-selected students
    (``bi_encoders_``, ``cross_encoders_``; the first of each as ``bi_encoder_`` / ``cross_encoder_``) and the
    run's record (``result_``: per-phase scores, selected cycles, ensemble, phase times). ``predict`` scores pairs.
    Defaults: the official ``train_self_distill.sh`` and sentence-transformers 2.0's ``fit()``.

    Args:
        bi_model: The pretrained bi-encoder: ``minilm``, ``mpnet`` or a local sentence-transformers folder.
        mode: ``self``: distil one pretrained model; ``mutual``: ``bi_model`` and ``second_model`` learn from their averaged pseudo-labels.
        second_model: The second pretrained model of ``mode='mutual'`` (``minilm``, ``mpnet`` or a folder).
        cross_models: The plain pretrained models each cross-encoder restarts from, one per bi model (default: the bi models themselves, with a new one-logit head).
        cycles: T, the number of bi -> cross -> bi cycles.
        cross_epochs: Epochs of each cross-encoder phase (paper: 1).
        bi_epochs: Epochs of each bi-encoder phase (paper: 10).
        cross_batch_size: Batch size of the cross-encoder's training (pairs in both orders).
        bi_batch_size: Batch size of the bi-encoder's training.
        cross_lr: Learning rate of the cross-encoder (AdamW; ST-2.0's default).
        bi_lr: Learning rate of the bi-encoder (AdamW).
        weight_decay: AdamW weight decay, not applied to biases and LayerNorm weights (ST-2.0).
        cross_warmup: Warm-up fraction of the cross-encoder's steps (ceil(fraction x steps), then linear decay).
        bi_warmup_steps: Warm-up steps of the bi-encoder (then linear decay).
        cross_max_length: Token limit of a cross-encoder pair.
        bi_max_length: Token limit of one sentence for the bi-encoder.
        eval_steps: Dev evaluation every this many optimiser steps and at each epoch end, keeping the best state; 0: epoch ends only.
        max_grad_norm: Gradient clipping norm.
        init_with_new_models: Restart both students every cycle (the official scripts' flag): the cross-encoder from the plain pretrained model, the bi-encoder from the original checkpoint.
        label_batch_size: Batch size for pseudo-labelling and evaluation.
        checkpoint_dir: Where every phase is saved; a rerun with the same folder resumes (None: a temporary folder).
        seed: Seed of the data order, dropout masks and new heads.
        device: Where every module and tensor goes (``cpu``, ``cuda``, ``cuda:N``).
        verbose: Progress bars: None on a terminal only, True always, False never.
    """

    _fitted_attribute = "result_"

    def __init__(
        self,
        bi_model: str = "minilm",
        mode: Literal["self", "mutual"] = "self",
        second_model: str = "mpnet",
        cross_models: tuple[str, ...] | None = None,
        cycles: int = 3,
        cross_epochs: int = 1,
        bi_epochs: int = 10,
        cross_batch_size: int = 32,
        bi_batch_size: int = 128,
        cross_lr: float = 2e-5,
        bi_lr: float = 5e-5,
        weight_decay: float = 0.01,
        cross_warmup: float = 0.1,
        bi_warmup_steps: int = 0,
        cross_max_length: int = 64,
        bi_max_length: int = 32,
        eval_steps: int = 200,
        max_grad_norm: float = 1.0,
        init_with_new_models: bool = True,
        label_batch_size: int = 128,
        checkpoint_dir: str | os.PathLike | None = None,
        seed: int = 0,
        device: str = "cpu",
        verbose: bool | None = None,
    ) -> None:
        self.bi_model = bi_model
        self.mode = mode
        self.second_model = second_model
        self.cross_models = cross_models
        self.cycles = cycles
        self.cross_epochs = cross_epochs
        self.bi_epochs = bi_epochs
        self.cross_batch_size = cross_batch_size
        self.bi_batch_size = bi_batch_size
        self.cross_lr = cross_lr
        self.bi_lr = bi_lr
        self.weight_decay = weight_decay
        self.cross_warmup = cross_warmup
        self.bi_warmup_steps = bi_warmup_steps
        self.cross_max_length = cross_max_length
        self.bi_max_length = bi_max_length
        self.eval_steps = eval_steps
        self.max_grad_norm = max_grad_norm
        self.init_with_new_models = init_with_new_models
        self.label_batch_size = label_batch_size
        self.checkpoint_dir = checkpoint_dir
        self.seed = seed
        self.device = device
        self.verbose = verbose

    # -- parameters
    def _check_params(self) -> None:
        super()._check_params()
        for name in ("cycles", "cross_epochs", "bi_epochs", "cross_batch_size", "bi_batch_size", "cross_max_length", "bi_max_length", "label_batch_size"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("cross_lr", "bi_lr"):
            if not float(getattr(self, name)) > 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if not 0.0 <= float(self.cross_warmup) < 1.0:
            raise ConfigError(f"cross_warmup must lie in [0, 1), got {self.cross_warmup}")
        if int(self.eval_steps) < 0 or int(self.bi_warmup_steps) < 0:
            raise ConfigError("eval_steps and bi_warmup_steps must be non-negative")
        models = self._bi_models()
        if len(models) > 1 and models[0] == models[1]:
            raise ConfigError("mode=mutual needs two different pretrained models (bi_model and second_model are the same)")
        if self.cross_models is not None and len(self.cross_models) != len(models):
            raise ConfigError(f"{len(self.cross_models)} cross models for {len(models)} bi models; give one per bi model")

    def _bi_models(self) -> list[str]:
        return [str(self.bi_model)] + ([str(self.second_model)] if self.mode == "mutual" else [])

    def _config(self) -> DistillConfig:
        return DistillConfig(**{f.name: getattr(self, f.name) for f in fields(DistillConfig)})

    # -- fitting
    def fit(
        self,
        X: Any,
        y: None = None,
        *,
        dev: SentencePairs | None = None,
        test: SentencePairs | None = None,
        max_phases: int | None = None,
    ) -> TransEncoder:
        """Run the T cycles on the unlabelled pairs ``X`` (their scores, if any, are ignored).

        Args:
            X: The unlabelled pairs: :class:`SentencePairs` or rows of two sentences (transductive use may
                include the test pairs, as the paper).
            y: Ignored (the method learns without labels; scikit-learn's signature).
            dev: Gold-scored pairs for cycle selection and best-state keeping; without it the last cycle is kept.
            test: Gold-scored pairs evaluated after every phase (reporting only, never used for choices).
            max_phases: Stop with :class:`~iclr22.transencoder.train.PhaseLimitReached` after training this many
                new phases (rerun with the same ``checkpoint_dir`` to resume).

        Returns:
            ``self``, fitted.

        Raises:
            ConfigError: a parameter out of range.
            DataError: empty pairs / sentences, dev or test without scores.
            PhaseLimitReached: ``max_phases`` new phases were trained and more remain.
        """
        self._check_params()
        pairs = as_pairs(X, "X")
        _check_pairs(pairs, "unlabelled")
        for split, what in ((dev, "dev"), (test, "test")):
            if split is not None:
                split = as_pairs(split, what)
                _check_pairs(split, what)
                if split.scores is None:
                    raise DataError(f"{split.name}: the {what} pairs need gold scores")
        bi_models = self._bi_models()
        cross_models = [str(m) for m in self.cross_models] if self.cross_models is not None else list(bi_models)
        run = dict(bi_models=bi_models, cross_models=cross_models, config=self._config(), dev=dev, test=test, seed=int(self.seed),
                   device=self.device, verbose=self.verbose, max_phases=max_phases)
        if self.checkpoint_dir is None:
            # the phases still go through disk (earlier cycles may be selected); a temporary folder holds them
            with tempfile.TemporaryDirectory(prefix="transencoder-") as tmp:
                result = distill(pairs, checkpoint_dir=Path(tmp), **run)
        else:
            result = distill(pairs, checkpoint_dir=Path(self.checkpoint_dir), **run)
        self.bi_encoders_ = result.bi_encoders
        self.cross_encoders_ = result.cross_encoders
        self.result_ = result
        return self

    @property
    def bi_encoder_(self) -> BiEncoder:
        """The selected bi-encoder of the first pretrained model."""
        self._check_is_fitted("use its bi-encoder")
        return self.bi_encoders_[0]

    @property
    def cross_encoder_(self) -> CrossEncoder:
        """The selected cross-encoder of the first pretrained model."""
        self._check_is_fitted("use its cross-encoder")
        return self.cross_encoders_[0]

    # -- using it
    def predict(self, X: Any, encoder: Literal["bi", "cross"] = "bi", model: int = 0) -> np.ndarray:
        """Scores of the pairs ``X``: the bi-encoder's cosine in [-1, 1], or the cross-encoder's sigmoid in (0, 1).

        Args:
            X: :class:`SentencePairs` or rows of two sentences.
            encoder: ``bi`` or ``cross``.
            model: Which pretrained model's student (0, or 1 for ``second_model`` in mutual mode).
        """
        self._check_is_fitted("predict")
        if encoder not in ("bi", "cross"):
            raise ConfigError(f"encoder must be 'bi' or 'cross', got {encoder!r}")
        students = self.bi_encoders_ if encoder == "bi" else self.cross_encoders_
        if not 0 <= int(model) < len(students):
            raise ConfigError(f"model must be in 0..{len(students) - 1}, got {model}")
        pairs = as_pairs(X, "X")
        return students[int(model)].score(pairs.sentence1, pairs.sentence2, int(self.label_batch_size))

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        """float32 ``[n, dim]`` sentence embeddings of the selected bi-encoder (a cross-encoder has none)."""
        self._check_is_fitted("encode")
        return self.bi_encoders_[0].encode(list(sentences), int(self.label_batch_size))

    def score(self, X: Any, y: Any = None, encoder: Literal["bi", "cross"] = "bi") -> float:
        """Spearman x 100 of :meth:`predict` against the gold scores ``y`` (default: the scores in ``X``)."""
        pairs = as_pairs(X, "X")
        gold = pairs.scores if y is None else as_numpy(y, "y")
        if gold is None or len(gold) != len(pairs):
            raise DataError(f"y: expected {len(pairs)} gold scores (one per pair), got {None if gold is None else len(gold)}")
        return spearman(self.predict(pairs, encoder), np.asarray(gold, dtype=np.float64))

    # -- persistence: the students as sentence-transformers / Hugging Face folders beside state.pt
    def _fitted_state(self) -> dict[str, Any]:
        r = self.result_
        return {"n_models": len(self.bi_encoders_), "history": r.history, "start": r.start, "selected": r.selected,
                "ensemble": r.ensemble, "phase_times": r.phase_times}

    def _save_files(self, folder: Path) -> None:
        import shutil

        for k, (bi, cross) in enumerate(zip(self.bi_encoders_, self.cross_encoders_)):
            for name, student in ((f"bi{k}", bi), (f"cross{k}", cross)):
                shutil.rmtree(folder / name, ignore_errors=True)
                student.save(folder / name)

    def _restore_fitted_state(self, state: dict[str, Any], folder: Path) -> None:
        n = int(state["n_models"])
        for k in range(n):
            for name in (f"bi{k}", f"cross{k}"):
                if not (folder / name).is_dir():
                    raise DataError(f"{folder / name}: the saved student is missing")
        self.bi_encoders_ = [BiEncoder.load(folder / f"bi{k}", int(self.bi_max_length), self.device) for k in range(n)]
        self.cross_encoders_ = [CrossEncoder.load(folder / f"cross{k}", int(self.cross_max_length), self.device) for k in range(n)]
        self.result_ = DistillResult(self.bi_encoders_, self.cross_encoders_, state["history"], state["start"], state["selected"],
                                     state["ensemble"], state["phase_times"])


def self_distill(
    X: Any, bi_model: str = "minilm", *, dev: SentencePairs | None = None, test: SentencePairs | None = None,
    max_phases: int | None = None, **params: Any,
) -> DistillResult:
    """Self-distillation from one pretrained model: ``TransEncoder(bi_model, **params).fit(X, ...)``'s ``result_``.

    ``params``: :class:`TransEncoder`'s other parameters (``cycles``, ``bi_epochs``, ``checkpoint_dir``, ...).
    """
    return TransEncoder(bi_model, mode="self", **params).fit(X, dev=dev, test=test, max_phases=max_phases).result_


def mutual_distill(
    X: Any, bi_models: Sequence[str] = ("minilm", "mpnet"), *, dev: SentencePairs | None = None, test: SentencePairs | None = None,
    max_phases: int | None = None, **params: Any,
) -> DistillResult:
    """Mutual distillation of two different pretrained models on their averaged pseudo-labels (the paper's K = 2).

    ``params``: :class:`TransEncoder`'s other parameters.
    """
    if len(bi_models) != 2:
        raise ConfigError(f"mutual distillation takes two pretrained models, got {len(bi_models)}")
    first, second = (str(m) for m in bi_models)
    return TransEncoder(first, mode="mutual", second_model=second, **params).fit(X, dev=dev, test=test, max_phases=max_phases).result_
