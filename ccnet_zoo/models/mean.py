"""The conditional-mean network of ``ldm.target: residual``: ``base = pre + f(pre, t)``, a regression of
E[post | pre, t] (MONAI's ``BasicUNet`` on the pre-contrast image and the acquisition time as a second channel).

Why: a deterministic regression learns the post-contrast image's mean in a few minutes of CPU, texture included
(the enhancement is the pre-contrast texture times a smooth factor), where a diffusion model of the whole change
draws its own blotchy texture. With ``residual`` the diffusion stages learn only what the mean leaves (noise,
lesion variation): a mean/residual split as in CorrDiff (Mardani et al., 2025, Commun. Earth Environ.).

Optionally (``mean.noise``) a second, smaller BasicUNet predicts the post-contrast image's acquisition-noise
level, one per image (``noise_sd(pre, t)``), as :func:`noise_level` measures it: the robust (median absolute
deviation) estimate on the finest diagonal wavelet detail (Donoho & Johnstone, 1994). Sampling then tops the
synthetic image's own noise level up to the predicted one with fresh white noise.
Why: a regression averages the noise away (the mean's level is ~2.5 grey levels where the real images have ~3.4)
and the residual diffusion, at CPU budget, does not learn white pixel noise back (docs/reproduce.md, fifth round);
MRI noise is thermal, stationary and independent between acquisitions, so one level per image and a fresh draw.

>>> import torch
>>> net = MeanNet({"features": [8, 8, 8, 8, 8, 8]}, acq_time_scale=1e-3, noise={"features": [4, 4, 4, 4, 4, 4]})
>>> pre, t = torch.zeros(2, 1, 32, 32), torch.tensor([[0.0], [207.0]])
>>> net(pre, t).shape  # four 2x poolings: 32 px and up
torch.Size([2, 1, 32, 32])
>>> net.noise_sd(pre, t).shape  # one level per image
torch.Size([2, 1, 1, 1])
>>> white = torch.randn(1, 1, 256, 256, generator=torch.Generator().manual_seed(0)) * 0.1
>>> round(float(noise_level(white)[0]), 2)  # the level of white noise is its standard deviation
0.1
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, overload

import torch
from torch import nn

from ccnet_zoo.models.errors import ConfigError
from ccnet_zoo.models.monai_light import light_monai

#: the noise head's starting level, two grey levels of an 8-bit image in [-1, 1] units: its output is added to the
#: log of this, so training starts near the right scale (Adam moves a log by ~lr per step, too slow from 1)
_NOISE_SD_START = 4.0 / 255.0
#: the MAD of a standard normal: median(|N(0, 1)|)
_MAD_NORMAL = 0.6744897501960817
#: the smallest level :func:`noise_level` reports (1/16 grey level of images in [-1, 1]): a constant image has
#: none, and the head's loss takes its log
_MIN_LEVEL = 1.0 / (8 * 255)


def noise_level(images: torch.Tensor) -> torch.Tensor:
    """The white-noise standard deviation of each image, (B, 1, H, W) -> (B,), in the images' units: the median
    absolute orthonormal Haar HH coefficient (one per 2x2 block) over 0.6745 (Donoho & Johnstone's estimator;
    the median ignores the few blocks where edges, not noise, fill the HH band). At least ``_MIN_LEVEL``."""
    x = images[..., : images.shape[-2] // 2 * 2, : images.shape[-1] // 2 * 2].float()
    hh = (x[..., 0::2, 0::2] - x[..., 0::2, 1::2] - x[..., 1::2, 0::2] + x[..., 1::2, 1::2]) / 2
    return (hh.flatten(1).abs().median(dim=1).values / _MAD_NORMAL).clamp_min(_MIN_LEVEL)


def _basic_unet(params: Mapping[str, Any] | None, out_channels: int, what: str) -> nn.Module:
    from monai.networks.nets import BasicUNet

    try:
        return BasicUNet(spatial_dims=2, in_channels=2, out_channels=out_channels, **dict(params or {}))
    except (TypeError, ValueError, AssertionError) as err:
        raise ConfigError(f"{what} rejected by BasicUNet: {err}") from err


class MeanNet(nn.Module):
    """``forward(pre, acq_time) -> base``: (B, 1, S, S) images in [-1, 1] and (B, 1) seconds; base is not clamped.

    ``noise`` (BasicUNet params) adds the noise-level head ``noise_sd``; without it ``has_noise`` is False.
    """

    def __init__(
        self,
        params: Mapping[str, Any] | None = None,
        acq_time_scale: float = 1e-3,
        noise: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        light_monai()
        self.net = _basic_unet(params, 1, "mean.params")
        # built second: the mean network's initial weights do not depend on whether there is a noise head
        self.noise_net = _basic_unet(noise, 1, "mean.noise") if noise is not None else None
        self.acq_time_scale = float(acq_time_scale)

    @property
    def has_noise(self) -> bool:
        return self.noise_net is not None

    def _inputs(self, pre: torch.Tensor, acq_time: torch.Tensor) -> torch.Tensor:
        t = (acq_time.reshape(-1, 1, 1, 1).to(pre.dtype) * self.acq_time_scale).expand_as(pre)
        return torch.cat([pre, t], 1)

    @overload
    def forward(self, pre: torch.Tensor, acq_time: torch.Tensor, with_noise: Literal[False] = ...) -> torch.Tensor: ...

    @overload
    def forward(
        self, pre: torch.Tensor, acq_time: torch.Tensor, with_noise: Literal[True]
    ) -> tuple[torch.Tensor, torch.Tensor]: ...

    def forward(
        self, pre: torch.Tensor, acq_time: torch.Tensor, with_noise: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """``base``; with ``with_noise`` also :meth:`log_noise_sd` (one call, so DDP sees both networks used)."""
        x = self._inputs(pre, acq_time)
        base = pre + self.net(x)
        return (base, self._log_sd(x)) if with_noise else base

    def _log_sd(self, x: torch.Tensor) -> torch.Tensor:
        if self.noise_net is None:
            raise ConfigError("this mean network has no noise head (config section mean.noise)")
        # one level per image (the noise is stationary): the map's spatial mean
        return self.noise_net(x).mean(dim=(2, 3), keepdim=True) + math.log(_NOISE_SD_START)

    def log_noise_sd(self, pre: torch.Tensor, acq_time: torch.Tensor) -> torch.Tensor:
        """The log of the post-contrast image's predicted :func:`noise_level`, (B, 1, 1, 1)."""
        return self._log_sd(self._inputs(pre, acq_time))

    def noise_sd(self, pre: torch.Tensor, acq_time: torch.Tensor) -> torch.Tensor:
        """The post-contrast image's predicted :func:`noise_level` in the images' [-1, 1] units, (B, 1, 1, 1)."""
        return self.log_noise_sd(pre, acq_time).exp()


def top_up_noise(images: torch.Tensor, level: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """``images`` plus white ``noise`` (standard normal, their shape) scaled so that their :func:`noise_level`
    reaches ``level`` (B, 1, 1, 1): the variances add, and images already at or above it get none."""
    own = noise_level(images).reshape(-1, 1, 1, 1)
    return images + (level**2 - own**2).clamp_min(0).sqrt() * noise
