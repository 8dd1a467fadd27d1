"""Training helpers shared by the methods: progress bars, early stopping, checkpoints, an epoch loop.

These are small on purpose. A method's ``train.py`` keeps its algorithm in plain view and calls these
for the chores: a tqdm bar that goes quiet when nobody watches, keeping the best model on a validation
metric, and saving/resuming state safely (``torch.load(..., weights_only=True)``: a checkpoint can
never run code).
"""

from __future__ import annotations

import copy
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from iclr22.core.errors import ConfigError, DataError

__all__ = [
    "atomic_write","progress", "progress_enabled", "EarlyStopping", "save_checkpoint", "load_checkpoint", "fit_epochs"]

T = TypeVar("T")


#: Seconds between two progress lines when the output is a log file rather than a terminal.
LOG_INTERVAL = 30.0


def progress_enabled(verbose: bool | None = None) -> bool:
    """Whether to show progress: ``verbose`` when given (an estimator's parameter, ``--quiet`` sets it false);
    else ``ICLR22_PROGRESS=0`` turns it off (tests, CI) and anything else leaves it on. Read, never written."""
    if verbose is not None:
        return bool(verbose)
    setting = os.environ.get("ICLR22_PROGRESS")
    if setting is not None:
        return setting not in ("0", "false", "False", "")
    return True


def progress(
    iterable: Iterable[T], desc: str = "", total: int | None = None, leave: bool = False, verbose: bool | None = None, **kwargs: Any
) -> Iterator[T]:
    """Progress over ``iterable``, silent unless :func:`progress_enabled` (``verbose`` as there).

    On a terminal: a tqdm bar. When stderr is a file or a pipe (a log, ``nohup``, CI): one plain line at most
    every :data:`LOG_INTERVAL` seconds and one at the end (``[desc] 40/100 (40%), 35 s, ~52 s left``), so a
    long run shows that it moves without filling the log with carriage returns.
    """
    if not progress_enabled(verbose):
        return iter(iterable)
    if not sys.stderr.isatty():
        return _log_lines(iterable, desc, total if total is not None else _len(iterable), int(kwargs.get("initial", 0)))
    from tqdm.auto import tqdm

    return iter(tqdm(iterable, desc=desc, total=total, leave=leave, dynamic_ncols=True, **kwargs))


def _len(iterable: Any) -> int | None:
    try:
        return len(iterable)
    except TypeError:
        return None


def _log_lines(iterable: Iterable[T], desc: str, total: int | None, initial: int = 0) -> Iterator[T]:
    import time

    started = last = time.monotonic()
    done, printed = initial, False
    label = f"[{desc}] " if desc else ""
    for item in iterable:
        yield item
        done += 1
        now = time.monotonic()
        # the closing line only for loops long enough to have said something (a 2-second loop stays quiet)
        finished = total is not None and done >= total and (printed or now - started >= LOG_INTERVAL / 6)
        if now - last >= LOG_INTERVAL or finished:
            printed = True
            last = now
            elapsed = now - started
            if total:
                rate = (done - initial) / elapsed if elapsed > 0 else 0.0
                left = f", ~{(total - done) / rate:.0f} s left" if rate > 0 and not finished else ""
                print(f"{label}{done}/{total} ({100 * done / total:.0f}%), {elapsed:.0f} s{left}", file=sys.stderr, flush=True)
            else:
                print(f"{label}{done} done, {elapsed:.0f} s", file=sys.stderr, flush=True)


class EarlyStopping:
    """Keep the best state seen on a validation metric and say when to stop.

    Args:
        patience: Evaluations without improvement before :attr:`should_stop` turns true
            (``None``: never stop early, only track the best).
        mode: ``"max"`` for accuracy-like metrics, ``"min"`` for losses.
        min_delta: An improvement must exceed this to count.

    Example:
        >>> stopper = EarlyStopping(patience=50, mode="max")
        >>> for epoch in range(max_epochs):
        ...     train_one_epoch(model)
        ...     if stopper.step(val_accuracy(model), model.state_dict()):
        ...         break
        >>> model.load_state_dict(stopper.best_state)
    """

    def __init__(self, patience: int | None = 100, mode: str = "max", min_delta: float = 0.0) -> None:
        if mode not in ("max", "min"):
            raise ConfigError(f"EarlyStopping mode must be 'max' or 'min', got {mode!r}")
        self.patience, self.mode, self.min_delta = patience, mode, min_delta
        self.best_value: float = -math.inf if mode == "max" else math.inf
        self.best_state: Any = None
        self.best_step: int = -1
        self.num_steps = 0
        self.bad_steps = 0

    def improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.mode == "max":
            return value > self.best_value + self.min_delta
        return value < self.best_value - self.min_delta

    def step(self, value: float, state: Any = None) -> bool:
        """Record one evaluation; deep-copies ``state`` when it is the best so far. Returns :attr:`should_stop`."""
        if self.improved(value):
            self.best_value, self.best_step, self.bad_steps = float(value), self.num_steps, 0
            self.best_state = copy.deepcopy(state)
        else:
            self.bad_steps += 1
        self.num_steps += 1
        return self.should_stop

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.bad_steps >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("best_value", "best_state", "best_step", "num_steps", "bad_steps")}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)


def atomic_write(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` on a file next to ``path``, then rename it to ``path``.

    An interrupted save never leaves a truncated file behind: readers see the old file or the new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)
    return path


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write ``state`` (tensors, numbers, strings, lists and dicts of them) atomically (:func:`atomic_write`)."""
    import torch

    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``: only tensors and plain containers, never code.

    Raises:
        DataError: the file is missing, truncated, or holds anything but weights and plain data.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: checkpoint file not found")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError... for bad files
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: not a readable weights-only checkpoint ({first_line})") from exc


@dataclass
class FitResult:
    """What :func:`fit_epochs` returns."""

    epochs_run: int
    best_value: float
    best_epoch: int
    history: list[dict[str, float]] = field(default_factory=list)
    resumed_from: int | None = None


def fit_epochs(
    model: Any,
    optimizer: Any,
    train_epoch: Callable[[int], dict[str, float]],
    evaluate: Callable[[], float] | None,
    max_epochs: int,
    *,
    early_stopping: EarlyStopping | None = None,
    eval_every: int = 1,
    checkpoint_path: str | os.PathLike | None = None,
    checkpoint_every: int = 0,
    desc: str = "train",
    restore_best: bool = True,
    fingerprint: str | None = None,
    verbose: bool | None = None,
) -> FitResult:
    """Run ``train_epoch(epoch)`` for up to ``max_epochs``, evaluating, stopping early and checkpointing.

    The loop is the CleanRL kind: you pass the one-epoch step of your algorithm, and this does the
    chores around it. With ``checkpoint_path`` set, the model, optimizer, early-stopping state, RNG
    states and the epoch are saved every ``checkpoint_every`` epochs and at the end; calling again with
    the same path resumes where the last save left off and gives the same numbers as an uninterrupted
    run.

    Args:
        model: A ``torch.nn.Module``.
        optimizer: Its ``torch.optim.Optimizer`` (or ``None``).
        train_epoch: Trains one epoch; returns scalars to log (e.g. ``{"loss": 0.3}``).
        evaluate: Returns the validation metric that :class:`EarlyStopping` watches; ``None`` for none.
        max_epochs: Upper bound on epochs.
        early_stopping: Tracks the best state; a default one (patience ``None``) is made when omitted.
        eval_every: Evaluate every this many epochs.
        checkpoint_path: Where to save and resume from.
        checkpoint_every: Save every this many epochs (0: only at the end).
        desc: Label of the progress bar.
        restore_best: Load the best state into ``model`` before returning.
        fingerprint: A string that identifies the run's settings (e.g. a hash of its config). It is saved
            in the checkpoint, and resuming from a checkpoint saved with another fingerprint raises
            :class:`ConfigError` instead of silently continuing someone else's training.
        verbose: Progress bar: ``None`` on a terminal only (see :func:`progress_enabled`), else on / off.
    """
    from iclr22.core.seed import rng_state, set_rng_state

    stopper = early_stopping or EarlyStopping(patience=None, mode="max")
    history: list[dict[str, float]] = []
    start_epoch, resumed_from = 0, None
    if checkpoint_path is not None and Path(checkpoint_path).is_file():
        state = load_checkpoint(checkpoint_path)
        if state.get("fingerprint") != fingerprint:
            raise ConfigError(
                f"{checkpoint_path}: this checkpoint was saved by a run with other settings "
                f"({state.get('fingerprint')!r} != {fingerprint!r}); delete it or write to another folder"
            )
        model.load_state_dict(state["model"])
        if optimizer is not None and state.get("optimizer") is not None:
            optimizer.load_state_dict(state["optimizer"])
        stopper.load_state_dict(state["early_stopping"])
        history = list(state.get("history", []))
        set_rng_state(state["rng"])
        start_epoch = resumed_from = int(state["epoch"])

    def save(epoch: int) -> None:
        if checkpoint_path is None:
            return
        save_checkpoint(
            checkpoint_path,
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict() if optimizer is not None else None,
                "early_stopping": stopper.state_dict(),
                "history": history,
                "rng": rng_state(),
                "epoch": epoch,
                "fingerprint": fingerprint,
            },
        )

    next_epoch = start_epoch
    for epoch in progress(range(start_epoch, max_epochs), desc=desc, total=max_epochs, initial=start_epoch, verbose=verbose):
        if stopper.should_stop:
            break
        logs = dict(train_epoch(epoch) or {})
        for name, value in logs.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise DataError(
                    f"{desc}: training diverged at epoch {epoch} ({name} = {value}); "
                    "lower the learning rate or check the inputs for extreme values"
                )
        if evaluate is not None and (epoch + 1) % eval_every == 0:
            logs["val"] = float(evaluate())
            stopper.step(logs["val"], model.state_dict())
        logs["epoch"] = epoch
        history.append(logs)
        next_epoch = epoch + 1
        if checkpoint_every and next_epoch % checkpoint_every == 0:
            save(next_epoch)
    save(next_epoch)
    if restore_best and stopper.best_state is not None:
        model.load_state_dict(stopper.best_state)
    best_epoch = (stopper.best_step + 1) * eval_every - 1 if stopper.best_step >= 0 else -1
    return FitResult(len(history), stopper.best_value, best_epoch, history, resumed_from)
