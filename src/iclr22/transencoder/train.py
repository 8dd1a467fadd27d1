"""Trans-Encoder's algorithm: self-distillation and mutual distillation of bi- and cross-encoders.

One cycle (paper §3; official ``src/self_distill.py``), for cycle = 1..T — :func:`distill`:

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

Every half-cycle ("phase") is written to a checkpoint folder (:mod:`.checkpoints`); a rerun with the same
folder resumes at the next phase. The public estimator is :class:`~iclr22.transencoder.estimator.TransEncoder`.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from iclr22.core.errors import ConfigError, DataError, Iclr22Error
from iclr22.core.training import progress
from iclr22.data.sentence_pairs import SentencePairs
from iclr22.transencoder.checkpoints import PhaseStore, run_fingerprint
from iclr22.transencoder.model import BiEncoder, CrossEncoder

__all__ = [
    "DistillConfig",
    "DistillResult",
    "PhaseLimitReached",
    "distill",
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


@dataclass(frozen=True)
class DistillConfig:
    """The loop's settings, as :class:`~iclr22.transencoder.estimator.TransEncoder` passes them (its
    ``__init__`` holds their defaults and meanings: the official ``train_self_distill.sh`` and ST-2.0 ``fit()``)."""

    cycles: int
    cross_epochs: int
    bi_epochs: int
    cross_batch_size: int
    bi_batch_size: int
    cross_lr: float
    bi_lr: float
    weight_decay: float
    cross_warmup: float
    bi_warmup_steps: int
    cross_max_length: int
    bi_max_length: int
    eval_steps: int
    max_grad_norm: float
    init_with_new_models: bool
    label_batch_size: int


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
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, targets.to(device=logits.device, dtype=logits.dtype))


def cosine_mse_loss(embeddings1: torch.Tensor, embeddings2: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """sentence-transformers' ``CosineSimilarityLoss``: MSE(cos(g(s), g(s′)), ỹ)."""
    cosine = torch.nn.functional.cosine_similarity(embeddings1, embeddings2, dim=-1)
    return torch.nn.functional.mse_loss(cosine, targets.to(device=cosine.device, dtype=cosine.dtype))


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
    verbose: bool | None = None,
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

    bar = progress(range(total), desc=desc, total=total, verbose=verbose)
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


def train_cross_encoder(
    cross: CrossEncoder,
    pairs: SentencePairs,
    labels: np.ndarray,
    config: DistillConfig,
    dev: SentencePairs | None = None,
    seed: int = 0,
    desc: str = "cross",
    verbose: bool | None = None,
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
                warmup, config.max_grad_norm, config.eval_steps, dev, seed, desc, config.label_batch_size, verbose)


def train_bi_encoder(
    bi: BiEncoder,
    pairs: SentencePairs,
    labels: np.ndarray,
    config: DistillConfig,
    dev: SentencePairs | None = None,
    seed: int = 0,
    desc: str = "bi",
    verbose: bool | None = None,
) -> dict[str, Any]:
    """Train ``bi`` in place with MSE between the pair's cosine and the cross-encoder's label (paper §3, cross→bi)."""
    target_tensor = torch.as_tensor(np.asarray(labels, dtype=np.float64), dtype=torch.float32)

    def loss_of_batch(index: list[int]) -> torch.Tensor:
        emb1 = bi.embed_tensor([pairs.sentence1[i] for i in index])
        emb2 = bi.embed_tensor([pairs.sentence2[i] for i in index])
        return cosine_mse_loss(emb1, emb2, target_tensor[index])

    return _fit(bi, loss_of_batch, len(pairs), config.bi_epochs, config.bi_batch_size, config.bi_lr, config.weight_decay,
                config.bi_warmup_steps, config.max_grad_norm, config.eval_steps, dev, seed, desc, config.label_batch_size, verbose)


# ------------------------------------------------------------------------------------------------------ the loop


@dataclass
class DistillResult:
    """What :func:`distill` returns (and :attr:`TransEncoder.result_ <iclr22.transencoder.estimator.TransEncoder>` holds).

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


def distill(
    pairs: SentencePairs,
    bi_models: Sequence[str],
    cross_models: Sequence[str],
    config: DistillConfig,
    checkpoint_dir: Path,
    dev: SentencePairs | None = None,
    test: SentencePairs | None = None,
    seed: int = 0,
    device: str = "cpu",
    verbose: bool | None = None,
    max_phases: int | None = None,
) -> DistillResult:
    """Run the T cycles on the unlabelled ``pairs`` (their scores, if any, are ignored), K = ``len(bi_models)``.

    Args:
        pairs: The unlabelled pairs (checked by the caller: non-empty, no empty sentence).
        bi_models: The pretrained bi-encoders (names or folders, see :func:`.pretrained.resolve_model`).
        cross_models: The plain pretrained models the cross-encoders restart from, one per bi model.
        config: The settings.
        checkpoint_dir: Where every phase is saved; a rerun with the same folder resumes.
        dev: Gold-scored pairs for cycle selection and best-state keeping; without it the last cycle is kept.
        test: Gold-scored pairs evaluated after every phase (reporting only, never used for choices).
        seed: Seed of the data order, the dropout masks and the new heads.
        device: Where every module and tensor goes.
        verbose: Progress bars (``None``: on a terminal only).
        max_phases: Stop with :class:`PhaseLimitReached` after training this many new phases (resume later).

    Raises:
        PhaseLimitReached: ``max_phases`` new phases were trained and more remain.
        ConfigError: ``checkpoint_dir`` holds another run's phases.
    """
    cfg = config
    bi_models, cross_models = list(bi_models), list(cross_models)
    K = len(bi_models)
    unlabelled = SentencePairs(list(pairs.sentence1), list(pairs.sentence2), None, pairs.name)
    store = PhaseStore(Path(checkpoint_dir), run_fingerprint(unlabelled, dev, bi_models, cross_models, asdict(cfg), seed))
    state = store.read_state()
    new_phases = 0

    def new_bi(k: int) -> BiEncoder:
        return BiEncoder.load(bi_models[k], cfg.bi_max_length, device)

    def new_cross(k: int) -> CrossEncoder:
        torch.manual_seed(seed + 1000 * k)  # the new head's initialisation
        return CrossEncoder.load(cross_models[k], cfg.cross_max_length, device)

    def saved_bi(cycle: int, k: int) -> BiEncoder:
        return BiEncoder.load(store.model_path(f"cycle{cycle}/bi{k}"), cfg.bi_max_length, device)

    def saved_cross(cycle: int, k: int) -> CrossEncoder:
        return CrossEncoder.load(store.model_path(f"cycle{cycle}/cross{k}"), cfg.cross_max_length, device)

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
            store.write_state(state)
            raise PhaseLimitReached(
                f"stopped after {new_phases} new phase(s) as asked; {name} is next — rerun the same command to resume from {store.folder}"
            )
        wall, cpu = time.perf_counter(), time.process_time()
        record = body()
        record["wall_seconds"] = round(time.perf_counter() - wall, 2)
        record["cpu_seconds"] = round(time.process_time() - cpu, 2)
        state["phases"][name] = record
        new_phases += 1
        store.write_state(state)
        return record

    # in-memory students of the latest phase; None where a phase was resumed from disk
    bis: list[BiEncoder | None] = [None] * K
    crosses: list[CrossEncoder | None] = [None] * K
    resumed = set(state["phases"])

    def start_phase() -> dict[str, Any]:
        rows = []
        for k in range(K):
            bis[k] = new_bi(k)
            rows.append(scores_of(bis[k]))
        return {"scores": rows}

    def previous_bi(cycle: int, k: int) -> BiEncoder:
        if bis[k] is not None:
            return bis[k]  # type: ignore[return-value]
        return saved_bi(cycle - 1, k) if cycle > 1 else new_bi(k)

    def cross_phase(cycle: int) -> dict[str, Any]:
        # 1. the bi-encoders label the pairs (mean over the K models)
        labels = label_pairs([previous_bi(cycle, k) for k in range(K)], unlabelled, cfg.label_batch_size)
        store.save_labels(labels, f"labels/cycle{cycle}_from_bi.npy")
        rows, logs = [], []
        for k in range(K):
            # 2. a cross-encoder, fresh from the plain PLM (or continued without init_with_new_models)
            if cfg.init_with_new_models or cycle == 1:
                cross = new_cross(k)
            else:
                cross = crosses[k] if crosses[k] is not None else saved_cross(cycle - 1, k)
            logs.append(train_cross_encoder(cross, unlabelled, labels, cfg, dev, seed=seed + 7919 * cycle + k, desc=f"cycle {cycle} cross{k}",
                                            verbose=verbose))
            crosses[k] = cross
            store.save_model(cross, f"cycle{cycle}/cross{k}")
            rows.append(scores_of(cross))
        # 3. the cross-encoders label the pairs (one order, sigmoid, mean over the K models)
        cross_labels = label_pairs(crosses, unlabelled, cfg.label_batch_size)  # type: ignore[arg-type]
        store.save_labels(cross_labels, f"labels/cycle{cycle}_from_cross.npy")
        return {"scores": rows, "train": logs, "bi_label_mean": float(labels.mean()), "bi_label_min": float(labels.min()),
                "cross_label_mean": float(cross_labels.mean())}

    def bi_phase(cycle: int) -> dict[str, Any]:
        labels = store.load_labels(f"labels/cycle{cycle}_from_cross.npy")
        rows, logs = [], []
        for k in range(K):
            # 4. a bi-encoder, fresh from the original checkpoint (or continued without init_with_new_models)
            bi = new_bi(k) if cfg.init_with_new_models else previous_bi(cycle, k)
            logs.append(train_bi_encoder(bi, unlabelled, labels, cfg, dev, seed=seed + 104729 * cycle + k, desc=f"cycle {cycle} bi{k}",
                                         verbose=verbose))
            bis[k] = bi
            store.save_model(bi, f"cycle{cycle}/bi{k}")
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

    # 5. selection on dev: argmax over cycles, per kind and model (the last cycle without dev)
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
    final_bis = [bis[k] if selected["bi"][k] == last and bis[k] is not None else saved_bi(selected["bi"][k], k) for k in range(K)]
    final_crosses = [
        crosses[k] if selected["cross"][k] == last and crosses[k] is not None else saved_cross(selected["cross"][k], k) for k in range(K)
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
