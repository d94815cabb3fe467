"""The acquisition-time embedding of CC-Net: ``Linear(1, D) -> SiLU -> Linear(D, D)`` on seconds.

It replaces the class embedding of the UNet and the ControlNet, so its output is added to the timestep
embedding (ccnet ``util.py::adjust_class_embedding``). The paper feeds raw seconds (``scale=1``).

>>> import torch
>>> emb = AcquisitionTimeEmbedding(16, scale=1e-3)
>>> emb(torch.tensor([[0.0], [207.0]])).shape
torch.Size([2, 16])
"""

from __future__ import annotations

import torch
from torch import nn


class AcquisitionTimeEmbedding(nn.Module):
    """Map acquisition times (B, 1) in seconds to (B, ``dim``); ``scale`` multiplies the seconds first."""

    def __init__(self, dim: int, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = float(scale)
        self.mlp = nn.Sequential(nn.Linear(1, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, seconds: torch.Tensor) -> torch.Tensor:
        x = seconds.reshape(-1, 1).to(self.mlp[0].weight.dtype) * self.scale
        return self.mlp(x)
