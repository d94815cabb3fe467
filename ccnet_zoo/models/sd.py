"""The paper's final model: Stable Diffusion 2.1-base components (diffusers) behind CC-Net's interfaces.

From a local SD folder (``vae/``, ``unet/``, ``text_encoder/``, ``tokenizer/``): the VAE is frozen (grey ->
3-channel repeat, posterior sample, ``scale_factor`` 0.1, channel 0 of the decoding), the UNet is fine-tuned
with its class embedding replaced by the acquisition-time MLP, and the ControlNet is built with
``ControlNetModel.from_unet`` (1 conditioning channel) plus a fresh acquisition-time MLP.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from ccnet_zoo.models.acq_time import AcquisitionTimeEmbedding
from ccnet_zoo.models.autoencoder import Autoencoder
from ccnet_zoo.models.controlnet import Controller
from ccnet_zoo.models.errors import ConfigError
from ccnet_zoo.models.unet import Denoiser


def _diffusers():
    try:
        import diffusers
    except ImportError as err:
        raise ConfigError("the SD-2.1 path (kind 'sd') needs diffusers: pip install diffusers") from err
    return diffusers


def _subfolder(folder: str | Path, sub: str) -> Path:
    path = Path(folder) / sub
    if not path.is_dir():
        raise ConfigError(f"{folder} has no '{sub}' folder; pass a local Stable-Diffusion-2.1-base folder")
    return path


class SDAutoencoder(Autoencoder):
    """Frozen diffusers ``AutoencoderKL`` (``folder/vae``)."""

    def __init__(self, folder: str | Path, scale_factor: float = 0.1) -> None:
        super().__init__()
        self.vae = _diffusers().AutoencoderKL.from_pretrained(_subfolder(folder, "vae"), local_files_only=True)
        self.vae.requires_grad_(False)
        self.scale_factor = float(scale_factor)
        self.latent_channels = int(self.vae.config.latent_channels)
        self.downsample = 2 ** (len(self.vae.config.block_out_channels) - 1)

    def encode(self, x: torch.Tensor, sample: bool = True) -> torch.Tensor:
        dist = self.vae.encode(x.repeat(1, 3, 1, 1)).latent_dist
        return (dist.sample() if sample else dist.mode()) * self.scale_factor

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(z / self.scale_factor).sample[:, :1]


class SDDenoiser(Denoiser):
    """diffusers ``UNet2DConditionModel`` (``folder/unet``) with the acquisition-time MLP as class embedding."""

    def __init__(self, folder: str | Path, acq_time_scale: float = 1.0) -> None:
        super().__init__()
        unet_cls = _diffusers().UNet2DConditionModel
        self.unet = unet_cls.from_pretrained(_subfolder(folder, "unet"), local_files_only=True)
        self.unet.class_embedding = AcquisitionTimeEmbedding(self.unet.config.block_out_channels[0] * 4, acq_time_scale)

    def forward(
        self,
        x: torch.Tensor,
        timesteps: torch.Tensor,
        context: torch.Tensor,
        acq_time: torch.Tensor,
        down_residuals: Sequence[torch.Tensor] | None = None,
        mid_residual: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.unet(
            x,
            timesteps,
            encoder_hidden_states=context,
            class_labels=acq_time,
            down_block_additional_residuals=tuple(down_residuals) if down_residuals is not None else None,
            mid_block_additional_residual=mid_residual,
        ).sample


class SDController(Controller):
    """diffusers ``ControlNetModel.from_unet`` (1 conditioning channel) with a fresh acquisition-time MLP."""

    def __init__(
        self, denoiser: SDDenoiser, cond_channels: Sequence[int] = (16, 32, 96, 256), acq_time_scale: float = 1.0
    ) -> None:
        super().__init__()
        cn_cls = _diffusers().ControlNetModel
        self.controlnet = cn_cls.from_unet(
            denoiser.unet, conditioning_channels=1, conditioning_embedding_out_channels=tuple(cond_channels)
        )
        dim = denoiser.unet.config.block_out_channels[0] * 4
        self.controlnet.class_embedding = AcquisitionTimeEmbedding(dim, acq_time_scale)
        self.cond_downsample = 2 ** (len(cond_channels) - 1)

    def forward(
        self,
        x: torch.Tensor,
        timesteps: torch.Tensor,
        cond: torch.Tensor,
        context: torch.Tensor,
        acq_time: torch.Tensor,
        scale: float = 1.0,
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        out = self.controlnet(
            x,
            timesteps,
            encoder_hidden_states=context,
            controlnet_cond=cond,
            conditioning_scale=scale,
            class_labels=acq_time,
            return_dict=False,
        )
        return list(out[0]), out[1]

    def init_from(self, denoiser: torch.nn.Module) -> int:
        """``from_unet`` already copied the UNet's weights at construction; nothing left to copy."""
        return 0
