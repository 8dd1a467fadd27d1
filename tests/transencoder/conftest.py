"""Tiny randomly initialised sentence-transformers folders built in-process, so the loop's tests run in seconds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

_WORDS = (
    "a an the man guy woman lady child kid dog puppy cat kitten chef cook student pupil old elderly girl young boy is "
    "playing guitar strumming riding bicycle cycling on bike cutting onion slicing reading book novel cooking pasta making "
    "noodles running jogging swimming doing laps in water eating apple biting into sleeping taking nap dancing moving to "
    "music talking phone making call painting picture drawing park at street road kitchen inside beach by sea home house "
    "classroom school room ."
).split()


def make_tiny_model(folder: Path, seed: int, hidden: int = 32) -> Path:
    """A 2-layer BERT with a 100-word vocabulary and mean pooling, saved as a sentence-transformers folder."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    hf = folder / "hf"
    hf.mkdir(parents=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *dict.fromkeys(_WORDS)]
    (hf / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(hf / "vocab.txt"), do_lower_case=True).save_pretrained(str(hf))
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=2 * hidden, max_position_embeddings=64)
    BertModel(config).save_pretrained(str(hf))
    try:  # sentence-transformers >= 6 moved the modules
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:
        from sentence_transformers.models import Pooling, Transformer
    transformer = Transformer(str(hf), max_seq_length=32)
    dimension = getattr(transformer, "get_embedding_dimension", None) or transformer.get_word_embedding_dimension
    pooling = Pooling(dimension(), "mean")
    out = folder / "st"
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(out))
    return out


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny_a"), seed=0)


@pytest.fixture(scope="session")
def tiny_model_b(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny_b"), seed=1, hidden=24)
