"""Stage 1: the autoencoder interface, MONAI's AutoencoderKL behind it, and the patch discriminator.

:class:`Autoencoder` is what the diffusion stages see: ``encode`` gives scaled latents, ``decode`` 1-channel
images in [-1, 1]. The SD-2.1 VAE implements the same interface in :mod:`ccnet_zoo.models.sd`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ccnet_zoo.models.errors import ConfigError
from ccnet_zoo.models.monai_light import light_monai


class Autoencoder(nn.Module):
    """Image <-> latent; latents are multiplied by ``scale_factor`` after encoding (divided before decoding)."""

    scale_factor: float = 1.0
    latent_channels: int = 0
    downsample: int = 1

    def encode(self, x: torch.Tensor, sample: bool = True) -> torch.Tensor:  # pragma: no cover - interface
        """(B, 1, H, W) in [-1, 1] -> (B, C, H/f, W/f) scaled latents (posterior sample or mean)."""
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:  # pragma: no cover - interface
        """Scaled latents -> (B, 1, H, W) images."""
        raise NotImplementedError


class MonaiAutoencoder(Autoencoder):
    """MONAI ``AutoencoderKL`` (``include_fc=False``, the layout monai-generative checkpoints load into)."""

    def __init__(self, params: Mapping[str, Any], scale_factor: float = 1.0) -> None:
        super().__init__()
        light_monai()
        from monai.networks.nets import AutoencoderKL

        kwargs = {"spatial_dims": 2, "include_fc": False, "use_flash_attention": True, **params}  # SDPA attention
        try:
            self.autoencoder = AutoencoderKL(**kwargs)
        except (TypeError, ValueError, AssertionError) as err:
            raise ConfigError(f"stage1.params rejected by AutoencoderKL: {err}") from err
        self.scale_factor = float(scale_factor)
        self.latent_channels = int(kwargs.get("latent_channels", 3))
        self.downsample = 2 ** (len(kwargs.get("channels", (32, 64, 64, 64))) - 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruction, posterior mean and std (for the L1 + KL + adversarial training)."""
        return self.autoencoder(x)

    def encode(self, x: torch.Tensor, sample: bool = True) -> torch.Tensor:
        mu, sigma = self.autoencoder.encode(x)
        return self.latents_from(mu, sigma, sample)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's posterior (mean, std) of ``x``: what :meth:`encode` samples from."""
        return self.autoencoder.encode(x)

    def latents_from(self, mu: torch.Tensor, sigma: torch.Tensor, sample: bool = True) -> torch.Tensor:
        """Scaled latents from a posterior: ``encode(x) == latents_from(*posterior(x))`` for the same RNG state."""
        z = self.autoencoder.sampling(mu, sigma) if sample else mu
        return z * self.scale_factor

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.autoencoder.decode(z / self.scale_factor)


#: The former name of :class:`Autoencoder` (kept for one release).
LatentCodec = Autoencoder


def kl_loss(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma) || N(0, 1)) summed over latent dims, mean over the batch (as monai-generative)."""
    kl = 0.5 * (mu.pow(2) + sigma.pow(2) - torch.log(sigma.pow(2) + 1e-12) - 1)
    return kl.flatten(1).sum(1).mean()


def build_discriminator(params: Mapping[str, Any]) -> nn.Module:
    """MONAI ``PatchDiscriminator`` from ``discriminator.params``."""
    light_monai()
    from monai.networks.nets import PatchDiscriminator

    try:
        return PatchDiscriminator(**{"spatial_dims": 2, **params})
    except (TypeError, ValueError, AssertionError) as err:
        raise ConfigError(f"discriminator.params rejected by PatchDiscriminator: {err}") from err
