"""The sequential item model of RIM (Ma, Liu, Deoras; ICLR 2022): a GRU language model over item ids.

:class:`GRUNextItem` reads a user's items in time order and gives p(next item | history) with a softmax over
the item vocabulary. As the official ``rime/models/rnn.py``: 2 GRU layers, hidden 128, input and output
embeddings tied (the output logit of item y is ``h·e_y + b_y``), dropout 0. Token ``n_items`` is the
begin-of-sequence marker, so a user with no history still gets a distribution (the model's prior).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["GRUNextItem"]


class GRUNextItem(nn.Module):
    """p(y | x) for a user state x = the items seen so far.

    Args:
        n_items: Vocabulary size (items ``0..n_items-1``; ``n_items`` is the begin-of-sequence token).
        hidden: GRU width and embedding size (tied embeddings need them equal; paper code: 128).
        num_layers: Stacked GRU layers (paper code: 2).
        dropout: Dropout between GRU layers (paper code: 0).
    """

    def __init__(self, n_items: int, hidden: int = 128, num_layers: int = 2, dropout: float = 0.0) -> None:
        super().__init__()
        self.n_items, self.hidden, self.num_layers = n_items, hidden, num_layers
        self.embedding = nn.Embedding(n_items + 1, hidden)
        self.gru = nn.GRU(hidden, hidden, num_layers=num_layers, batch_first=True, dropout=dropout if num_layers > 1 else 0.0)
        self.bias = nn.Parameter(torch.zeros(n_items))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.embedding.weight, std=0.1)
        self.gru.reset_parameters()
        nn.init.zeros_(self.bias)

    @property
    def bos(self) -> int:
        """The begin-of-sequence token."""
        return self.n_items

    def states(self, tokens: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Top-layer GRU outputs ``[B, L, hidden]`` for input tokens ``[B, L]`` (padding after ``lengths`` is ignored
        by the caller: the GRU is causal, so padding never changes an earlier position)."""
        output, _ = self.gru(self.embedding(tokens))
        return output

    def logits(self, states: Tensor) -> Tensor:
        """Unnormalised next-item scores ``h·e_y + b_y`` over the vocabulary (tied output embedding)."""
        return states @ self.embedding.weight[: self.n_items].T + self.bias

    def forward(self, tokens: Tensor) -> Tensor:
        """Next-item logits ``[B, L, n_items]`` after each input token."""
        return self.logits(self.states(tokens))
