"""Trans-Encoder's loop: self-distillation and mutual distillation of bi- and cross-encoders.

One cycle (paper §3; official ``src/self_distill.py``), for cycle = 1..T:

1. the bi-encoder(s) label every unlabelled pair: ŷ = cos(g(s), g(s′)) (averaged over the K models in
   mutual distillation) — :func:`label_pairs`, :func:`average_labels`;
2. a cross-encoder, re-initialised from the plain pretrained model, is trained on both orders of every
   pair with BCE on the soft labels ŷ (raw cosines, not rescaled) — :func:`symmetric_pairs`,
   :func:`train_cross_encoder`, :func:`soft_bce_loss`;
3. the cross-encoder(s) label the pairs (one order): ỹ = sigmoid(f(s ⊕ s′));
4. a bi-encoder, re-initialised from the original checkpoint, is trained with MSE(cos(g(s), g(s′)), ỹ) —
   :func:`train_bi_encoder`, :func:`cosine_mse_loss`.

The models of the cycle with the best dev Spearman are returned (bi and cross selected separately).
Optimisation follows sentence-transformers 2.0's ``fit()`` defaults, which the official code relies on:
AdamW (weight decay 0.01, none on biases and LayerNorm), a linear warm-up/decay schedule, gradient
clipping at norm 1, a dev evaluation every ``eval_steps`` and at the end of each epoch keeping the best
state.

Every half-cycle ("phase") is written to ``checkpoint_dir`` (model folders in safetensors, labels as
``.npy``, a ``state.json``); a rerun with the same folder resumes at the next phase.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from iclr22.core.errors import ConfigError, DataError, Iclr22Error
from iclr22.core.training import atomic_write, progress
from iclr22.data.sentence_pairs import SentencePairs
from iclr22.transencoder.model import BiEncoder, CrossEncoder

__all__ = [
    "DistillConfig",
    "DistillResult",
    "PhaseLimitReached",
    "TransEncoder",
    "self_distill",
    "mutual_distill",
    "symmetric_pairs",
    "average_labels",
    "label_pairs",
    "soft_bce_loss",
    "cosine_mse_loss",
    "train_cross_encoder",
    "train_bi_encoder",
    "spearman",
    "evaluate",
]


class PhaseLimitReached(Iclr22Error):
    """Raised when a run stops on purpose after ``max_phases`` phases; rerunning resumes from the checkpoints."""


@dataclass
class DistillConfig:
    """The loop's hyperparameters (defaults: the official ``train_self_distill.sh`` and ST-2.0 ``fit()``).

    Attributes:
        cycles: T, bi→cross→bi cycles.
        cross_epochs / bi_epochs: Epochs per training phase (paper: 1 and 10).
        cross_batch_size / bi_batch_size: 32 and 128.
        cross_lr / bi_lr: 2e-5 (ST-2.0 default) and 5e-5.
        weight_decay: AdamW weight decay (ST-2.0: 0.01, not on biases and LayerNorm weights).
        cross_warmup: Warm-up fraction of the cross-encoder's steps (ceil(0.1 · steps)).
        bi_warmup_steps: Warm-up steps of the bi-encoder (0).
        cross_max_length / bi_max_length: Token limits (64 for the pair, 32 per sentence).
        eval_steps: Dev evaluation every this many optimiser steps (and at each epoch end) when a dev set
            is given; the best state is kept (ST-2.0's save-best). 0: no evaluation during training.
        max_grad_norm: Gradient clipping (ST-2.0: 1).
        init_with_new_models: Re-initialise both students every cycle (``--init_with_new_models``): the
            cross-encoder from the plain pretrained model, the bi-encoder from the original checkpoint.
        label_batch_size: Batch size for labelling and evaluation.
    """

    cycles: int = 3
    cross_epochs: int = 1
    bi_epochs: int = 10
    cross_batch_size: int = 32
    bi_batch_size: int = 128
    cross_lr: float = 2e-5
    bi_lr: float = 5e-5
    weight_decay: float = 0.01
    cross_warmup: float = 0.1
    bi_warmup_steps: int = 0
    cross_max_length: int = 64
    bi_max_length: int = 32
    eval_steps: int = 200
    max_grad_norm: float = 1.0
    init_with_new_models: bool = True
    label_batch_size: int = 128

    def check(self) -> None:
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


# ----------------------------------------------------------------------------------------------------------- pieces


def symmetric_pairs(sentence1: Sequence[str], sentence2: Sequence[str], labels: np.ndarray) -> tuple[list[str], list[str], np.ndarray]:
    """Each pair in both orders, (s, s′, y) then (s′, s, y): the cross-encoder's training set (paper §3)."""
    labels = np.asarray(labels, dtype=np.float64)
    return list(sentence1) + list(sentence2), list(sentence2) + list(sentence1), np.concatenate([labels, labels])


def average_labels(labels: Sequence[np.ndarray]) -> np.ndarray:
    """Mutual distillation's pseudo-label: the mean of the K teachers' scores of each pair."""
    if not labels:
        raise ConfigError("average_labels needs at least one teacher's labels")
    stacked = np.stack([np.asarray(y, dtype=np.float64) for y in labels])
    return stacked.mean(axis=0)


def label_pairs(models: Sequence[BiEncoder | CrossEncoder], pairs: SentencePairs, batch_size: int = 128) -> np.ndarray:
    """Pseudo-labels of ``pairs``: cosine for bi-encoders, sigmoid(logit) for cross-encoders, averaged over ``models``."""
    return average_labels([m.score(pairs.sentence1, pairs.sentence2, batch_size) for m in models])


def soft_bce_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """BCE with logits on soft targets, −[y log σ(z) + (1 − y) log(1 − σ(z))] averaged.

    The targets are the bi-encoder's raw cosines, as in the official code; a negative cosine is kept
    (``BCEWithLogitsLoss`` accepts any real target).
    """
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype))


def cosine_mse_loss(embeddings1: torch.Tensor, embeddings2: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """sentence-transformers' ``CosineSimilarityLoss``: MSE(cos(g(s), g(s′)), ỹ)."""
    cosine = torch.nn.functional.cosine_similarity(embeddings1, embeddings2, dim=-1)
    return torch.nn.functional.mse_loss(cosine, targets.to(cosine.dtype))


def spearman(predicted: np.ndarray, gold: np.ndarray) -> float:
    """Spearman's rho × 100 (the paper's unit)."""
    from scipy.stats import spearmanr

    predicted, gold = np.asarray(predicted, dtype=np.float64), np.asarray(gold, dtype=np.float64)
    if len(gold) < 2 or np.ptp(gold) == 0 or np.ptp(predicted) == 0:
        return float("nan")
    return float(spearmanr(predicted, gold).statistic * 100.0)


def evaluate(model: BiEncoder | CrossEncoder, pairs: SentencePairs, batch_size: int = 128) -> float:
    """Spearman × 100 of the model's pair scores against the gold scores of ``pairs``."""
    if pairs.scores is None:
        raise DataError(f"{pairs.name}: evaluation needs gold scores")
    return spearman(model.score(pairs.sentence1, pairs.sentence2, batch_size), pairs.scores)


def _optimizer(module: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    # ST-2.0 fit(): no weight decay on biases and LayerNorm parameters
    no_decay = ("bias", "LayerNorm.bias", "LayerNorm.weight")
    decay, plain = [], []
    for name, param in module.named_parameters():
        if param.requires_grad:
            (plain if any(nd in name for nd in no_decay) else decay).append(param)
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}], lr=lr)


def _warmup_linear(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> torch.optim.lr_scheduler.LambdaLR:
    """ST-2.0's ``WarmupLinear``: linear warm-up to the lr, then linear decay to 0 at ``total``."""

    def factor(step: int) -> float:
        if step < warmup:
            return float(step) / float(max(1, warmup))
        return max(0.0, float(total - step) / float(max(1, total - warmup)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _fit(
    model: BiEncoder | CrossEncoder,
    loss_of_batch,
    n: int,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    warmup: int,
    max_grad_norm: float,
    eval_steps: int,
    dev: SentencePairs | None,
    seed: int,
    desc: str,
    label_batch_size: int,
) -> dict[str, Any]:
    """The shared plain-PyTorch loop of both students; returns the training log."""
    module = model.module
    module.train()
    steps_per_epoch = math.ceil(n / batch_size)
    total = steps_per_epoch * epochs
    optimizer = _optimizer(module, lr, weight_decay)
    scheduler = _warmup_linear(optimizer, warmup, total)
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # dropout: a resumed phase draws the same masks as an uninterrupted run
    best_score, best_state, best_step = -math.inf, None, -1
    losses: list[float] = []
    step = 0

    def maybe_evaluate() -> None:
        nonlocal best_score, best_state, best_step
        if dev is None:
            return
        score = evaluate(model, dev, label_batch_size)
        module.train()
        if not math.isnan(score) and score > best_score:
            best_score, best_state, best_step = score, copy.deepcopy(module.state_dict()), step

    bar = progress(range(total), desc=desc, total=total)
    for _epoch in range(epochs):
        order = torch.randperm(n, generator=generator).tolist()
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            loss = loss_of_batch(index)
            if not torch.isfinite(loss):
                raise DataError(f"{desc}: the training loss became {loss.item()} at step {step} (check the pseudo-labels and the learning rate)")
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            losses.append(float(loss.item()))
            step += 1
            next(bar, None)
            if eval_steps > 0 and step % eval_steps == 0 and step % steps_per_epoch != 0:
                maybe_evaluate()
        maybe_evaluate()
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    return {"steps": step, "first_loss": losses[0] if losses else None, "last_loss": losses[-1] if losses else None,
            "best_dev_during_training": None if best_state is None else best_score, "best_step": best_step}


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def train_cross_encoder(
    cross: CrossEncoder,
    pairs: SentencePairs,
    labels: np.ndarray,
    config: DistillConfig,
    dev: SentencePairs | None = None,
    seed: int = 0,
    desc: str = "cross",
) -> dict[str, Any]:
    """Train ``cross`` in place on both orders of every pair with BCE on the soft labels (paper §3, bi→cross)."""
    first, second, targets = symmetric_pairs(pairs.sentence1, pairs.sentence2, labels)
    target_tensor = torch.as_tensor(targets, dtype=torch.float32)
    steps = math.ceil(len(first) / config.cross_batch_size) * config.cross_epochs
    warmup = math.ceil(steps * config.cross_warmup)

    def loss_of_batch(index: list[int]) -> torch.Tensor:
        logits = cross.logits([first[i] for i in index], [second[i] for i in index])
        return soft_bce_loss(logits, target_tensor[index])

    return _fit(cross, loss_of_batch, len(first), config.cross_epochs, config.cross_batch_size, config.cross_lr, config.weight_decay,
                warmup, config.max_grad_norm, config.eval_steps, dev, seed, desc, config.label_batch_size)


def train_bi_encoder(
    bi: BiEncoder,
    pairs: SentencePairs,
    labels: np.ndarray,
    config: DistillConfig,
    dev: SentencePairs | None = None,
    seed: int = 0,
    desc: str = "bi",
) -> dict[str, Any]:
    """Train ``bi`` in place with MSE between the pair's cosine and the cross-encoder's label (paper §3, cross→bi)."""
    target_tensor = torch.as_tensor(np.asarray(labels, dtype=np.float64), dtype=torch.float32)

    def loss_of_batch(index: list[int]) -> torch.Tensor:
        emb1 = bi.embed_tensor([pairs.sentence1[i] for i in index])
        emb2 = bi.embed_tensor([pairs.sentence2[i] for i in index])
        return cosine_mse_loss(emb1, emb2, target_tensor[index])

    return _fit(bi, loss_of_batch, len(pairs), config.bi_epochs, config.bi_batch_size, config.bi_lr, config.weight_decay,
                config.bi_warmup_steps, config.max_grad_norm, config.eval_steps, dev, seed, desc, config.label_batch_size)


# ------------------------------------------------------------------------------------------------------ the loop


@dataclass
class DistillResult:
    """What :meth:`TransEncoder.fit` returns.

    Attributes:
        bi_encoders / cross_encoders: The selected students, one per pretrained model (K = 1 or 2).
        history: One row per phase and model: cycle, kind (``bi`` / ``cross``), model index, dev/test Spearman.
        start: Dev/test Spearman of the untouched bi-encoders (cycle 0), one dict per model.
        selected: ``{"bi": [cycle per model], "cross": [...]}``, chosen on dev (last cycle without dev).
        ensemble: Dev/test Spearman of the averaged scores of the K selected models, per kind (K ≥ 2).
        phase_times: Per phase: name, wall and CPU seconds, and whether it was loaded from a checkpoint.
    """

    bi_encoders: list[BiEncoder]
    cross_encoders: list[CrossEncoder]
    history: list[dict[str, Any]]
    start: list[dict[str, float | None]]
    selected: dict[str, list[int]]
    ensemble: dict[str, dict[str, float | None]] = field(default_factory=dict)
    phase_times: list[dict[str, Any]] = field(default_factory=list)

    @property
    def bi_encoder(self) -> BiEncoder:
        return self.bi_encoders[0]

    @property
    def cross_encoder(self) -> CrossEncoder:
        return self.cross_encoders[0]


def _pairs_hash(pairs: SentencePairs) -> str:
    digest = hashlib.sha256()
    for a, b in zip(pairs.sentence1, pairs.sentence2):
        digest.update(a.encode("utf-8") + b"\t" + b.encode("utf-8") + b"\n")
    return digest.hexdigest()[:16]


def _check_pairs(pairs: SentencePairs, what: str) -> None:
    if len(pairs.sentence1) != len(pairs.sentence2):
        raise DataError(f"{pairs.name}: sentence1 and sentence2 differ in length ({len(pairs.sentence1)} vs {len(pairs.sentence2)})")
    if len(pairs) == 0:
        raise DataError(f"{pairs.name}: no {what} pairs")
    for i, (a, b) in enumerate(zip(pairs.sentence1, pairs.sentence2)):
        if not a.strip() or not b.strip():
            raise DataError(f"{pairs.name}: pair {i}: empty sentence")


class TransEncoder:
    """Self-distillation (one pretrained model) or mutual distillation (two or more) of bi- and cross-encoders.

    Args:
        bi_models: The pretrained bi-encoder(s): ``minilm``, ``mpnet`` or sentence-transformers folders.
        cross_models: The plain pretrained models the cross-encoders start from each cycle, one per bi
            model; default: the same folders (their transformer gets a fresh one-logit head).
        config: :class:`DistillConfig`.
        checkpoint_dir: Where every phase is saved; a rerun with the same folder resumes.
        seed: Seed of the data order and the new heads.
        device: ``"cpu"`` or ``"cuda"``.

    Example:
        >>> te = TransEncoder("minilm", config=DistillConfig(cycles=2, bi_epochs=1))
        >>> result = te.fit(unlabelled_pairs, dev=dev_pairs)
        >>> result.cross_encoder.score(["A man plays."], ["A person plays."])
    """

    def __init__(
        self,
        bi_models: str | os.PathLike | Sequence[str | os.PathLike],
        cross_models: Sequence[str | os.PathLike] | None = None,
        config: DistillConfig | None = None,
        checkpoint_dir: str | os.PathLike | None = None,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        self.bi_models = [str(bi_models)] if isinstance(bi_models, (str, os.PathLike)) else [str(m) for m in bi_models]
        if not self.bi_models:
            raise ConfigError("TransEncoder needs at least one bi-encoder")
        self.cross_models = [str(m) for m in cross_models] if cross_models is not None else list(self.bi_models)
        if len(self.cross_models) != len(self.bi_models):
            raise ConfigError(f"{len(self.cross_models)} cross models for {len(self.bi_models)} bi models; give one per bi model")
        self.config = config or DistillConfig()
        self.config.check()
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.seed = int(seed)
        self.device = device

    # -- loading
    def _new_bi(self, k: int) -> BiEncoder:
        return BiEncoder.load(self.bi_models[k], self.config.bi_max_length, self.device)

    def _new_cross(self, k: int) -> CrossEncoder:
        torch.manual_seed(self.seed + 1000 * k)  # the new head's initialisation
        return CrossEncoder.load(self.cross_models[k], self.config.cross_max_length, self.device)

    # -- checkpoints
    def fingerprint(self, pairs: SentencePairs, dev: SentencePairs | None) -> str:
        """What a phase's result depends on: the pairs, dev, models, seed and settings. ``cycles`` is left out:
        cycle t runs the same for any T >= t, so a run can be extended (or cut) and keep its earlier phases."""
        settings = {k: v for k, v in asdict(self.config).items() if k != "cycles"}
        return hashlib.sha256(
            json.dumps({"pairs": _pairs_hash(pairs), "dev": _pairs_hash(dev) if dev else None, "bi": self.bi_models,
                        "cross": self.cross_models, "config": settings, "seed": self.seed}, sort_keys=True).encode()
        ).hexdigest()[:16]

    def _state_path(self) -> Path | None:
        return None if self.checkpoint_dir is None else self.checkpoint_dir / "state.json"

    def _read_state(self, fingerprint: str) -> dict[str, Any]:
        path = self._state_path()
        if path is None or not path.is_file():
            return {"fingerprint": fingerprint, "phases": {}}
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: unreadable checkpoint state ({exc}); delete the folder to start over") from exc
        if state.get("fingerprint") != fingerprint:
            raise ConfigError(f"{self.checkpoint_dir}: checkpoints of a different run (other pairs, models or settings); use another folder")
        return state

    def _write_state(self, state: dict[str, Any]) -> None:
        path = self._state_path()
        if path is None:
            return
        atomic_write(path, lambda tmp: tmp.write_text(json.dumps(state, indent=2), encoding="utf-8"))

    def _save_model(self, model: BiEncoder | CrossEncoder, name: str) -> None:
        if self.checkpoint_dir is None:
            return
        import shutil

        final = self.checkpoint_dir / name
        tmp = final.with_name(final.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        model.save(tmp)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)

    def _save_labels(self, labels: np.ndarray, name: str) -> None:
        if self.checkpoint_dir is not None:
            # through a handle: np.save given a path would append ".npy" to the temporary name
            atomic_write(self.checkpoint_dir / name, lambda tmp: tmp.write_bytes(_npy_bytes(labels)))

    def _load_labels(self, name: str) -> np.ndarray:
        assert self.checkpoint_dir is not None
        return np.load(self.checkpoint_dir / name, allow_pickle=False)

    def _load_bi(self, cycle: int, k: int) -> BiEncoder:
        assert self.checkpoint_dir is not None
        return BiEncoder.load(self.checkpoint_dir / f"cycle{cycle}" / f"bi{k}", self.config.bi_max_length, self.device)

    def _load_cross(self, cycle: int, k: int) -> CrossEncoder:
        assert self.checkpoint_dir is not None
        return CrossEncoder.load(self.checkpoint_dir / f"cycle{cycle}" / f"cross{k}", self.config.cross_max_length, self.device)

    # -- the loop
    def fit(
        self,
        pairs: SentencePairs,
        dev: SentencePairs | None = None,
        test: SentencePairs | None = None,
        max_phases: int | None = None,
    ) -> DistillResult:
        """Run the T cycles on the unlabelled ``pairs`` (their scores, if any, are ignored).

        Args:
            pairs: The unlabelled pairs to distil on (transductive use may include the test pairs, as the paper).
            dev: Gold-scored pairs for cycle selection and best-state keeping; without it the last cycle is kept.
            test: Gold-scored pairs evaluated after every phase (reporting only, never used for choices).
            max_phases: Stop with :class:`PhaseLimitReached` after training this many new phases (resume later).

        Raises:
            DataError: empty pairs / sentences, dev or test without scores.
            PhaseLimitReached: ``max_phases`` new phases were trained and more remain.
        """
        if self.checkpoint_dir is None:
            # the phases still go through disk (earlier cycles may be selected); a temporary folder holds them
            import tempfile

            with tempfile.TemporaryDirectory(prefix="transencoder-") as tmp:
                self.checkpoint_dir = Path(tmp)
                try:
                    return self.fit(pairs, dev, test, max_phases)
                finally:
                    self.checkpoint_dir = None
        _check_pairs(pairs, "unlabelled")
        for split, what in ((dev, "dev"), (test, "test")):
            if split is not None:
                _check_pairs(split, what)
                if split.scores is None:
                    raise DataError(f"{split.name}: the {what} pairs need gold scores")
        cfg = self.config
        unlabelled = SentencePairs(list(pairs.sentence1), list(pairs.sentence2), None, pairs.name)
        state = self._read_state(self.fingerprint(unlabelled, dev))
        K = len(self.bi_models)
        new_phases = 0

        def scores_of(model: BiEncoder | CrossEncoder) -> dict[str, float | None]:
            out: dict[str, float | None] = {}
            for split_name, split in (("dev", dev), ("test", test)):
                out[split_name] = None if split is None else evaluate(model, split, cfg.label_batch_size)
            return out

        def run_phase(name: str, body) -> Any:
            nonlocal new_phases
            if name in state["phases"]:
                return state["phases"][name]
            if max_phases is not None and new_phases >= max_phases:
                self._write_state(state)
                raise PhaseLimitReached(
                    f"stopped after {new_phases} new phase(s) as asked; {name} is next — rerun the same command to resume from {self.checkpoint_dir}"
                )
            wall, cpu = time.perf_counter(), time.process_time()
            record = body()
            record["wall_seconds"] = round(time.perf_counter() - wall, 2)
            record["cpu_seconds"] = round(time.process_time() - cpu, 2)
            state["phases"][name] = record
            new_phases += 1
            self._write_state(state)
            return record

        # in-memory students of the latest phase; None where a phase was resumed from disk
        bis: list[BiEncoder | None] = [None] * K
        crosses: list[CrossEncoder | None] = [None] * K
        resumed = set(state["phases"])

        def start_phase() -> dict[str, Any]:
            rows = []
            for k in range(K):
                bis[k] = self._new_bi(k)
                rows.append(scores_of(bis[k]))
            return {"scores": rows}

        def previous_bi(cycle: int, k: int) -> BiEncoder:
            if bis[k] is not None:
                return bis[k]  # type: ignore[return-value]
            return self._load_bi(cycle - 1, k) if cycle > 1 else self._new_bi(k)

        def cross_phase(cycle: int) -> dict[str, Any]:
            # 1. the bi-encoders label the pairs (mean over the K models)
            labels = label_pairs([previous_bi(cycle, k) for k in range(K)], unlabelled, cfg.label_batch_size)
            self._save_labels(labels, f"labels/cycle{cycle}_from_bi.npy")
            rows, logs = [], []
            for k in range(K):
                # 2. a cross-encoder, fresh from the plain PLM (or continued without init_with_new_models)
                if cfg.init_with_new_models or cycle == 1:
                    cross = self._new_cross(k)
                else:
                    cross = crosses[k] if crosses[k] is not None else self._load_cross(cycle - 1, k)
                logs.append(train_cross_encoder(cross, unlabelled, labels, cfg, dev, seed=self.seed + 7919 * cycle + k, desc=f"cycle {cycle} cross{k}"))
                crosses[k] = cross
                self._save_model(cross, f"cycle{cycle}/cross{k}")
                rows.append(scores_of(cross))
            # 3. the cross-encoders label the pairs (one order, sigmoid, mean over the K models)
            cross_labels = label_pairs(crosses, unlabelled, cfg.label_batch_size)  # type: ignore[arg-type]
            self._save_labels(cross_labels, f"labels/cycle{cycle}_from_cross.npy")
            return {"scores": rows, "train": logs, "bi_label_mean": float(labels.mean()), "bi_label_min": float(labels.min()),
                    "cross_label_mean": float(cross_labels.mean())}

        def bi_phase(cycle: int) -> dict[str, Any]:
            labels = self._load_labels(f"labels/cycle{cycle}_from_cross.npy")
            rows, logs = [], []
            for k in range(K):
                # 4. a bi-encoder, fresh from the original checkpoint (or continued without init_with_new_models)
                bi = self._new_bi(k) if cfg.init_with_new_models else previous_bi(cycle, k)
                logs.append(train_bi_encoder(bi, unlabelled, labels, cfg, dev, seed=self.seed + 104729 * cycle + k, desc=f"cycle {cycle} bi{k}"))
                bis[k] = bi
                self._save_model(bi, f"cycle{cycle}/bi{k}")
                rows.append(scores_of(bi))
            return {"scores": rows, "train": logs}

        start = run_phase("cycle0-start", start_phase)["scores"]
        for cycle in range(1, cfg.cycles + 1):
            for kind, body in (("cross", cross_phase), ("bi", bi_phase)):
                name = f"cycle{cycle}-{kind}"
                if name in state["phases"]:
                    # done in an earlier run: the next phase reads this phase's models from disk
                    if kind == "bi":
                        bis = [None] * K
                    else:
                        crosses = [None] * K
                run_phase(name, lambda body=body, cycle=cycle: body(cycle))

        # selection on dev: argmax over cycles, per kind and model (the last cycle without dev)
        history = []
        for cycle in range(1, cfg.cycles + 1):
            for kind in ("cross", "bi"):
                for k, row in enumerate(state["phases"][f"cycle{cycle}-{kind}"]["scores"]):
                    history.append({"cycle": cycle, "kind": kind, "model": k, **row})
        selected: dict[str, list[int]] = {"bi": [], "cross": []}
        for kind in ("bi", "cross"):
            for k in range(K):
                rows = [h for h in history if h["kind"] == kind and h["model"] == k]
                if dev is None:
                    selected[kind].append(rows[-1]["cycle"])
                else:
                    best = max(rows, key=lambda h: -math.inf if h["dev"] is None or math.isnan(h["dev"]) else h["dev"])
                    selected[kind].append(best["cycle"])
        last = cfg.cycles
        final_bis = [bis[k] if selected["bi"][k] == last and bis[k] is not None else self._load_bi(selected["bi"][k], k) for k in range(K)]
        final_crosses = [
            crosses[k] if selected["cross"][k] == last and crosses[k] is not None else self._load_cross(selected["cross"][k], k) for k in range(K)
        ]

        ensemble: dict[str, dict[str, float | None]] = {}
        if K > 1:
            for kind, models in (("bi", final_bis), ("cross", final_crosses)):
                ensemble[kind] = {
                    split_name: None if split is None else spearman(label_pairs(models, split, cfg.label_batch_size), split.scores)  # type: ignore[arg-type]
                    for split_name, split in (("dev", dev), ("test", test))
                }

        planned = ["cycle0-start"] + [f"cycle{c}-{kind}" for c in range(1, cfg.cycles + 1) for kind in ("cross", "bi")]
        phase_times = [
            {"phase": name, "wall_seconds": state["phases"][name].get("wall_seconds"), "cpu_seconds": state["phases"][name].get("cpu_seconds"),
             "resumed": name in resumed}
            for name in planned
        ]
        return DistillResult(final_bis, final_crosses, history, start, selected, ensemble, phase_times)  # type: ignore[arg-type]


def self_distill(pairs: SentencePairs, bi_model: str | os.PathLike = "minilm", **kwargs: Any) -> DistillResult:
    """Self-distillation from one pretrained model. ``kwargs``: :class:`TransEncoder`'s arguments and ``fit``'s
    ``dev`` / ``test`` / ``max_phases``."""
    fit_args = {k: kwargs.pop(k) for k in ("dev", "test", "max_phases") if k in kwargs}
    return TransEncoder(bi_model, **kwargs).fit(pairs, **fit_args)


def mutual_distill(pairs: SentencePairs, bi_models: Sequence[str | os.PathLike] = ("minilm", "mpnet"), **kwargs: Any) -> DistillResult:
    """Mutual distillation of two (or more) different pretrained models on averaged pseudo-labels."""
    if len(bi_models) < 2:
        raise ConfigError(f"mutual distillation needs at least two pretrained models, got {len(bi_models)}")
    fit_args = {k: kwargs.pop(k) for k in ("dev", "test", "max_phases") if k in kwargs}
    return TransEncoder(list(bi_models), **kwargs).fit(pairs, **fit_args)
