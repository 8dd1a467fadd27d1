"""The two encoder types of Trans-Encoder.

* :class:`BiEncoder` embeds each sentence on its own (a sentence-transformers ``SentenceTransformer``:
  transformer + the folder's own pooling); a pair's score is the cosine of the two embeddings.
* :class:`CrossEncoder` reads both sentences in one pass (``s ⊕ s′``) through a transformer with a
  one-logit head (``AutoModelForSequenceClassification``, ``num_labels=1``); a pair's score is
  ``sigmoid(logit)``. It has no ``encode``: a cross-encoder is never a sentence embedder (the trap of
  the official release's issue #8).

Both load offline only (``local_files_only=True``); where their weights come from: :mod:`.pretrained`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from iclr22.core.errors import ConfigError, DataError
from iclr22.transencoder.pretrained import resolve_model, transformer_folder

__all__ = ["BiEncoder", "CrossEncoder"]


def _quiet_transformers() -> None:
    """Loading a checkpoint into a new one-logit head prints a load report per model; the new head is expected."""
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def _batches(n: int, size: int) -> list[slice]:
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


class BiEncoder:
    """A sentence embedder g: ``score(s, s′) = cos(g(s), g(s′))``.

    Args:
        model: A ``sentence_transformers.SentenceTransformer`` (transformer + pooling [+ normalisation]).

    Use :meth:`load` to read a folder; :attr:`module` is the ``torch.nn.Module`` that training updates.
    """

    def __init__(self, model) -> None:
        self.module = model

    @classmethod
    def load(cls, name_or_path: str | os.PathLike, max_seq_length: int | None = 32, device: str = "cpu") -> BiEncoder:
        """Read a sentence-transformers folder (or ``minilm`` / ``mpnet``) offline.

        Args:
            name_or_path: See :func:`resolve_model`.
            max_seq_length: Token limit per sentence (the paper's bi-encoder uses 32); ``None`` keeps the folder's.
            device: ``"cpu"`` or ``"cuda"``.
        """
        from sentence_transformers import SentenceTransformer

        _quiet_transformers()
        path = resolve_model(name_or_path)
        try:
            model = SentenceTransformer(str(path), device=device, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: cannot load a sentence-transformers model offline ({exc})") from exc
        if max_seq_length is not None:
            model.max_seq_length = int(max_seq_length)
        return cls(model)

    def tokenize(self, sentences: Sequence[str]) -> dict[str, torch.Tensor]:
        device = next(self.module.parameters()).device
        # sentence-transformers >= 6 calls it preprocess (tokenize is its deprecated alias)
        prepare = getattr(self.module, "preprocess", None) or self.module.tokenize
        return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in prepare(list(sentences)).items()}

    def embed_tensor(self, sentences: Sequence[str]) -> torch.Tensor:
        """Embeddings with gradients (for training)."""
        return self.module(self.tokenize(sentences))["sentence_embedding"]

    @torch.no_grad()
    def encode(self, sentences: Sequence[str], batch_size: int = 128) -> np.ndarray:
        """float32 ``[n, dim]`` embeddings."""
        was_training = self.module.training
        self.module.eval()
        chunks = [self.embed_tensor(list(sentences)[s]).float().cpu() for s in _batches(len(sentences), batch_size)]
        self.module.train(was_training)
        if not chunks:
            return np.zeros((0, self.module.get_sentence_embedding_dimension() or 0), dtype=np.float32)
        return torch.cat(chunks).numpy()

    def score(self, sentence1: Sequence[str], sentence2: Sequence[str], batch_size: int = 128) -> np.ndarray:
        """Cosine similarity of each pair, in [-1, 1] (not rescaled, as the paper's pseudo-labels)."""
        if len(sentence1) != len(sentence2):
            raise DataError(f"sentence1 and sentence2 differ in length ({len(sentence1)} vs {len(sentence2)})")
        a = torch.from_numpy(self.encode(sentence1, batch_size))
        b = torch.from_numpy(self.encode(sentence2, batch_size))
        return torch.nn.functional.cosine_similarity(a, b, dim=-1).numpy().astype(np.float64)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.module.load_state_dict(state)

    def save(self, path: str | os.PathLike) -> Path:
        """Write a sentence-transformers folder (safetensors)."""
        path = Path(path)
        self.module.save(str(path))
        return path


class CrossEncoder:
    """A pair scorer f: ``score(s, s′) = sigmoid(f(s ⊕ s′))``, one logit per pair.

    Args:
        model: A Hugging Face ``...ForSequenceClassification`` with ``num_labels=1``.
        tokenizer: Its tokenizer (pairs are encoded as ``[CLS] s [SEP] s′ [SEP]``).
        max_length: Token limit for the pair (the paper uses 64).
    """

    def __init__(self, model, tokenizer, max_length: int = 64) -> None:
        self.module = model
        self.tokenizer = tokenizer
        self.max_length = int(max_length)

    @classmethod
    def load(cls, name_or_path: str | os.PathLike, max_length: int = 64, device: str = "cpu") -> CrossEncoder:
        """A cross-encoder from a model folder, offline. From a bi-encoder's folder (a pretrained language
        model without a pair head) the one-logit head is newly initialised, as ``CrossEncoder(plm, num_labels=1)``."""
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        _quiet_transformers()
        folder = transformer_folder(resolve_model(name_or_path))
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            model = AutoModelForSequenceClassification.from_pretrained(str(folder), num_labels=1, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{folder}: cannot load a cross-encoder offline ({exc})") from exc
        return cls(model.to(device), tokenizer, max_length)

    def tokenize(self, sentence1: Sequence[str], sentence2: Sequence[str]) -> dict[str, torch.Tensor]:
        device = next(self.module.parameters()).device
        features = self.tokenizer(
            list(sentence1), list(sentence2), padding=True, truncation="longest_first", max_length=self.max_length, return_tensors="pt"
        )
        return {k: v.to(device) for k, v in features.items()}

    def logits(self, sentence1: Sequence[str], sentence2: Sequence[str]) -> torch.Tensor:
        """Raw logits ``[n]`` with gradients (for training)."""
        return self.module(**self.tokenize(sentence1, sentence2)).logits.view(-1)

    @torch.no_grad()
    def score(self, sentence1: Sequence[str], sentence2: Sequence[str], batch_size: int = 128) -> np.ndarray:
        """``sigmoid`` of the logit of each pair ``s ⊕ s′``, in (0, 1)."""
        if len(sentence1) != len(sentence2):
            raise DataError(f"sentence1 and sentence2 differ in length ({len(sentence1)} vs {len(sentence2)})")
        was_training = self.module.training
        self.module.eval()
        s1, s2 = list(sentence1), list(sentence2)
        out = [torch.sigmoid(self.logits(s1[s], s2[s])).float().cpu() for s in _batches(len(s1), batch_size)]
        self.module.train(was_training)
        return torch.cat(out).numpy().astype(np.float64) if out else np.zeros(0)

    predict = score

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.module.load_state_dict(state)

    def save(self, path: str | os.PathLike) -> Path:
        """Write a Hugging Face folder (safetensors) that ``sentence_transformers.CrossEncoder(path)`` also reads."""
        path = Path(path)
        self.module.save_pretrained(str(path))
        self.tokenizer.save_pretrained(str(path))
        return path
