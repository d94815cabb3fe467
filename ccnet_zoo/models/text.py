"""Text conditioning: the encoder interface, a word tokenizer built from the prompts and a small encoder.

The built-in pair stands in for CLIP at CPU size: ids mirror CLIP's semantics (start token, end token,
padding with the end token), so the empty prompt is ``[bos] + [eos] * (L - 1)`` as in CC-Net's dropout.

>>> tok = WordTokenizer.from_prompts(["a breast image.", "a scan"], max_length=6)
>>> tok(["a scan", ""]).tolist()
[[0, 4, 7, 1, 1, 1], [0, 1, 1, 1, 1, 1]]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ccnet_zoo.models.errors import ConfigError

_WORD = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")
SPECIALS = ("<|startoftext|>", "<|endoftext|>", "<|unk|>")


class WordTokenizer:
    """Lower-case word/punctuation tokenizer with a fixed vocabulary; pads and truncates to ``max_length``."""

    def __init__(self, vocab: Sequence[str], max_length: int) -> None:
        if list(vocab[: len(SPECIALS)]) != list(SPECIALS):
            raise ConfigError(f"a tokenizer vocabulary must start with {SPECIALS}")
        if max_length < 2:
            raise ConfigError(f"text.max_length must be >= 2, got {max_length}")
        self.vocab = list(vocab)
        self.index = {w: i for i, w in enumerate(self.vocab)}
        self.max_length = int(max_length)
        self.bos, self.eos, self.unk = 0, 1, 2

    @classmethod
    def from_prompts(cls, prompts: Iterable[str], max_length: int) -> WordTokenizer:
        """Vocabulary = the specials + every word of ``prompts`` (sorted, so the order of prompts is irrelevant)."""
        words = sorted({w for p in prompts for w in _WORD.findall(p.lower())})
        return cls([*SPECIALS, *words], max_length)

    def __len__(self) -> int:
        return len(self.vocab)

    def __call__(self, prompts: Sequence[str]) -> torch.Tensor:
        """(B, max_length) int64 ids: bos, words (truncated), eos, eos padding."""
        out = torch.full((len(prompts), self.max_length), self.eos, dtype=torch.long)
        for row, prompt in enumerate(prompts):
            ids = [self.index.get(w, self.unk) for w in _WORD.findall(prompt.lower())][: self.max_length - 2]
            out[row, 0] = self.bos
            out[row, 1 : 1 + len(ids)] = torch.tensor(ids, dtype=torch.long)
        return out


class TextEncoder(nn.Module):
    """Prompts -> cross-attention context (B, L, hidden). ``trainable`` encoders join the LDM optimizer."""

    hidden_size: int = 0
    trainable: bool = False

    def tokenize(self, prompts: Sequence[str]) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def metadata(self) -> dict[str, Any]:
        """What must be stored beside the weights to rebuild the encoder (e.g. the vocabulary)."""
        return {}

    def encode(self, prompts: Sequence[str]) -> torch.Tensor:
        """Tokenize and embed ``prompts`` on the encoder's device."""
        device = next(self.parameters()).device
        return self(self.tokenize(prompts).to(device))


class BuiltinTextEncoder(TextEncoder):
    """Token + position embedding, a small pre-norm transformer encoder and a final layer norm."""

    def __init__(
        self, tokenizer: WordTokenizer, hidden_size: int, layers: int = 1, heads: int = 2, trainable: bool = False
    ) -> None:
        super().__init__()
        if hidden_size % heads:
            raise ConfigError(f"text.hidden_size ({hidden_size}) must be divisible by text.heads ({heads})")
        self.tokenizer = tokenizer
        self.hidden_size = int(hidden_size)
        self.trainable = bool(trainable)
        self.layers, self.heads = int(layers), int(heads)
        self.token = nn.Embedding(len(tokenizer), hidden_size)
        self.position = nn.Parameter(torch.randn(tokenizer.max_length, hidden_size) * 0.02)
        layer = nn.TransformerEncoderLayer(
            hidden_size, heads, 2 * hidden_size, dropout=0.0, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(hidden_size)
        self.requires_grad_(self.trainable)

    def tokenize(self, prompts: Sequence[str]) -> torch.Tensor:
        return self.tokenizer(prompts)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.norm(self.encoder(self.token(ids) + self.position[: ids.shape[1]]))

    def metadata(self) -> dict[str, Any]:
        return {
            "kind": "builtin",
            "vocab": self.tokenizer.vocab,
            "max_length": self.tokenizer.max_length,
            "hidden_size": self.hidden_size,
            "layers": self.layers,
            "heads": self.heads,
            "trainable": self.trainable,
        }

    @classmethod
    def from_metadata(cls, meta: Mapping[str, Any]) -> BuiltinTextEncoder:
        """Rebuild (untrained weights) from :meth:`metadata`; load the state dict afterwards."""
        tok = WordTokenizer(meta["vocab"], int(meta["max_length"]))
        return cls(tok, int(meta["hidden_size"]), int(meta["layers"]), int(meta["heads"]), bool(meta["trainable"]))
