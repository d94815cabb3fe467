"""The conditional-mean network of ``ldm.target: residual``: ``base = pre + f(pre, t)``, a regression of
E[post | pre, t] (MONAI's ``BasicUNet`` on the pre-contrast image and the acquisition time as a second channel).

Why: a deterministic regression learns the post-contrast image's mean in a few minutes of CPU, texture included
(the enhancement is the pre-contrast texture times a smooth factor), where a diffusion model of the whole change
draws its own blotchy texture. With ``residual`` the diffusion stages learn only what the mean leaves (noise,
lesion variation): a mean/residual split as in CorrDiff (Mardani et al., 2025, Commun. Earth Environ.).

>>> import torch
>>> net = MeanNet({"features": [8, 8, 8, 8, 8, 8]}, acq_time_scale=1e-3)
>>> net(torch.zeros(2, 1, 32, 32), torch.tensor([[0.0], [207.0]])).shape  # four 2x poolings: 32 px and up
torch.Size([2, 1, 32, 32])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ccnet_zoo.models.errors import ConfigError
from ccnet_zoo.models.monai_light import light_monai


class MeanNet(nn.Module):
    """``forward(pre, acq_time) -> base``: (B, 1, S, S) images in [-1, 1] and (B, 1) seconds; base is not clamped."""

    def __init__(self, params: Mapping[str, Any] | None = None, acq_time_scale: float = 1e-3) -> None:
        super().__init__()
        light_monai()
        from monai.networks.nets import BasicUNet

        try:
            self.net = BasicUNet(spatial_dims=2, in_channels=2, out_channels=1, **dict(params or {}))
        except (TypeError, ValueError, AssertionError) as err:
            raise ConfigError(f"mean.params rejected by BasicUNet: {err}") from err
        self.acq_time_scale = float(acq_time_scale)

    def forward(self, pre: torch.Tensor, acq_time: torch.Tensor) -> torch.Tensor:
        t = (acq_time.reshape(-1, 1, 1, 1).to(pre.dtype) * self.acq_time_scale).expand_as(pre)
        return pre + self.net(torch.cat([pre, t], 1))
