"""The controller interface and MONAI's ``ControlNet`` behind it (pre-contrast image + acquisition time).

A :class:`Controller` maps the noisy latents, timesteps, the pre-contrast image (``cond``, pixel space),
the text context and the acquisition time to residuals for the denoiser's skip connections, multiplied by
``scale`` (the conditioning scale). It starts as a copy of the trained UNet (:meth:`init_from`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ccnet_zoo.models.acq_time import AcquisitionTimeEmbedding
from ccnet_zoo.models.errors import ConfigError
from ccnet_zoo.models.monai_light import light_monai

log = logging.getLogger(__name__)


class Controller(nn.Module):
    """``forward(x, timesteps, cond, context, acq_time, scale=1.0) -> (down_residuals, mid_residual)``."""

    def forward(
        self,
        x: torch.Tensor,
        timesteps: torch.Tensor,
        cond: torch.Tensor,
        context: torch.Tensor,
        acq_time: torch.Tensor,
        scale: float = 1.0,
    ) -> tuple[list[torch.Tensor], torch.Tensor]:  # pragma: no cover - interface
        raise NotImplementedError

    def init_from(self, denoiser: nn.Module) -> int:  # pragma: no cover - interface
        """Copy the matching weights of a trained denoiser; returns how many tensors were copied."""
        raise NotImplementedError


class MonaiController(Controller):
    """MONAI ``ControlNet`` whose class embedding is the acquisition-time MLP."""

    def __init__(self, params: Mapping[str, Any], acq_time_scale: float = 1.0) -> None:
        super().__init__()
        light_monai()
        from monai.networks.nets import ControlNet

        # use_flash_attention: torch SDPA (flash / memory-efficient kernels on GPUs), same weights as the naive path
        kwargs = {
            "spatial_dims": 2,
            "with_conditioning": True,
            "num_class_embeds": 1,
            "use_flash_attention": True,
            **params,
        }
        try:
            self.net = ControlNet(**kwargs)
        except (TypeError, ValueError, AssertionError) as err:
            raise ConfigError(f"controlnet.params rejected by ControlNet: {err}") from err
        self.net.class_embedding = AcquisitionTimeEmbedding(self.net.block_out_channels[0] * 4, acq_time_scale)
        n = len(kwargs.get("conditioning_embedding_num_channels", (16, 32, 96, 256)))
        self.cond_downsample = 2 ** (n - 1)

    def forward(
        self,
        x: torch.Tensor,
        timesteps: torch.Tensor,
        cond: torch.Tensor,
        context: torch.Tensor,
        acq_time: torch.Tensor,
        scale: float = 1.0,
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        down, mid = self.net(
            x, timesteps, controlnet_cond=cond, conditioning_scale=scale, context=context, class_labels=acq_time
        )
        return list(down), mid

    def init_from(self, denoiser: nn.Module) -> int:
        """Copy every UNet tensor of the same name and shape (ccnet: ``load_state_dict(strict=False)``)."""
        source = getattr(denoiser, "net", denoiser).state_dict()
        target = self.net.state_dict()
        updated = {k: v for k, v in source.items() if k in target and target[k].shape == v.shape}
        self.net.load_state_dict({**target, **updated})
        log.info("controlnet: copied %d of %d tensors from the UNet", len(updated), len(source))
        return len(updated)
