"""CLIP text conditioning via transformers, loaded from a local Stable-Diffusion folder (no downloads).

The folder holds ``tokenizer/`` (vocab.json, merges.txt) and ``text_encoder/`` (config + weights), as an
SD-2.1-base snapshot does. The encoder is frozen, as in CC-Net; the context is the last hidden state.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ccnet_zoo.models.errors import ConfigError
from ccnet_zoo.models.text import TextEncoder


class ClipTextEncoder(TextEncoder):
    """``CLIPTokenizer`` + ``CLIPTextModel`` from ``folder/tokenizer`` and ``folder/text_encoder``."""

    def __init__(self, folder: str | Path, max_length: int = 77, trainable: bool = False) -> None:
        super().__init__()
        try:
            from transformers import CLIPTextModel, CLIPTokenizer
        except ImportError as err:
            raise ConfigError("text.kind 'clip' needs transformers: pip install transformers") from err
        folder = Path(folder)
        for sub in ("tokenizer", "text_encoder"):
            if not (folder / sub).is_dir():
                raise ConfigError(f"{folder} has no '{sub}' folder; pass a local Stable-Diffusion-2.1-base folder")
        self.folder = str(folder)
        self.tokenizer = CLIPTokenizer.from_pretrained(folder / "tokenizer", local_files_only=True)
        self.model = CLIPTextModel.from_pretrained(folder / "text_encoder", local_files_only=True)
        self.max_length = int(max_length)
        self.hidden_size = int(self.model.config.hidden_size)
        self.trainable = bool(trainable)
        self.requires_grad_(self.trainable)

    def tokenize(self, prompts: Sequence[str]) -> torch.Tensor:
        out = self.tokenizer(
            list(prompts), padding="max_length", max_length=self.max_length, truncation=True, return_tensors="pt"
        )
        return out.input_ids

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model(ids)[0]

    def metadata(self) -> dict[str, Any]:
        return {"kind": "clip", "folder": self.folder, "max_length": self.max_length, "trainable": self.trainable}
