"""The denoiser interface and MONAI's ``DiffusionModelUNet`` behind it (cross-attention text + acquisition time).

A :class:`Denoiser` predicts the diffusion target (v for CC-Net) from noisy latents, timesteps, the text
embedding (cross-attention context) and the acquisition time, optionally with ControlNet residuals added to
its skip connections. The SD-2.1 UNet implements the same interface in :mod:`ccnet_zoo.models.sd`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ccnet_zoo.models.acq_time import AcquisitionTimeEmbedding
from ccnet_zoo.models.errors import ConfigError
from ccnet_zoo.models.monai_light import light_monai


class Denoiser(nn.Module):
    """``forward(x, timesteps, context, acq_time, down_residuals=None, mid_residual=None) -> prediction``."""

    def forward(
        self,
        x: torch.Tensor,
        timesteps: torch.Tensor,
        context: torch.Tensor,
        acq_time: torch.Tensor,
        down_residuals: Sequence[torch.Tensor] | None = None,
        mid_residual: torch.Tensor | None = None,
    ) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError


class MonaiDenoiser(Denoiser):
    """MONAI ``DiffusionModelUNet`` whose class embedding is the acquisition-time MLP."""

    def __init__(self, params: Mapping[str, Any], acq_time_scale: float = 1.0) -> None:
        super().__init__()
        light_monai()
        from monai.networks.nets import DiffusionModelUNet

        # use_flash_attention: torch SDPA (flash / memory-efficient kernels on GPUs), same weights as the naive path
        kwargs = {
            "spatial_dims": 2,
            "with_conditioning": True,
            "num_class_embeds": 1,
            "use_flash_attention": True,
            **params,
        }
        try:
            self.net = DiffusionModelUNet(**kwargs)
        except (TypeError, ValueError, AssertionError) as err:
            raise ConfigError(f"ldm.params rejected by DiffusionModelUNet: {err}") from err
        self.net.class_embedding = AcquisitionTimeEmbedding(self.net.block_out_channels[0] * 4, acq_time_scale)

    def forward(
        self,
        x: torch.Tensor,
        timesteps: torch.Tensor,
        context: torch.Tensor,
        acq_time: torch.Tensor,
        down_residuals: Sequence[torch.Tensor] | None = None,
        mid_residual: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.net(
            x,
            timesteps,
            context=context,
            class_labels=acq_time,
            down_block_additional_residuals=tuple(down_residuals) if down_residuals is not None else None,
            mid_block_additional_residual=mid_residual,
        )
