"""Build CC-Net's components from a validated config (``kind: monai`` networks or the ``kind: sd`` path).

>>> from ccnet_zoo.models.config import load_config
>>> cfg = load_config("tiny", typed=True)
>>> autoencoder = build_autoencoder(cfg)
>>> (autoencoder.latent_channels, autoencoder.downsample)
(2, 1)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ccnet_zoo.models.autoencoder import Autoencoder, MonaiAutoencoder
from ccnet_zoo.models.config import CCNetConfig, as_config
from ccnet_zoo.models.controlnet import Controller, MonaiController
from ccnet_zoo.models.errors import ConfigError
from ccnet_zoo.models.mean import MeanNet
from ccnet_zoo.models.text import BuiltinTextEncoder, TextEncoder, WordTokenizer
from ccnet_zoo.models.unet import Denoiser, MonaiDenoiser

#: A typed config; a plain mapping is also accepted (validated and converted once, at the call)
Config = CCNetConfig | Mapping[str, Any]


def _need(pretrained: str | Path | None, what: str) -> Path:
    if pretrained is None:
        raise ConfigError(f"{what} needs a local Stable-Diffusion-2.1-base folder: pass --pretrained DIR")
    return Path(pretrained)


def build_autoencoder(cfg: Config, pretrained: str | Path | None = None) -> Autoencoder:
    """Stage 1: MONAI AutoencoderKL, or the frozen SD VAE from ``pretrained``."""
    s1 = as_config(cfg).autoencoder
    if s1.kind == "sd":
        from ccnet_zoo.models.sd import SDAutoencoder

        return SDAutoencoder(_need(pretrained, "stage1.kind 'sd'"), s1.scale_factor)
    return MonaiAutoencoder(s1.params or {}, s1.scale_factor)


#: The former name of :func:`build_autoencoder` (kept for one release).
build_codec = build_autoencoder


def build_denoiser(cfg: Config, pretrained: str | Path | None = None) -> Denoiser:
    """The LDM UNet with the acquisition-time MLP."""
    ldm = as_config(cfg).ldm
    if ldm.kind == "sd":
        from ccnet_zoo.models.sd import SDDenoiser

        return SDDenoiser(_need(pretrained, "ldm.kind 'sd'"), ldm.acq_time_scale)
    return MonaiDenoiser(ldm.params or {}, ldm.acq_time_scale)


def build_mean(cfg: Config) -> MeanNet:
    """The conditional-mean network of ``ldm.target: residual`` (section ``mean``)."""
    mean = as_config(cfg).mean
    if mean is None:
        raise ConfigError("the config has no 'mean' section (the conditional-mean network)")
    return MeanNet(mean.params or {}, mean.acq_time_scale, noise=mean.noise)


def build_controller(cfg: Config, denoiser: Denoiser) -> Controller:
    """The ControlNet, shaped like ``denoiser`` (the SD path copies it at construction)."""
    cfg = as_config(cfg)
    params = cfg.controlnet.params
    scale = cfg.ldm.acq_time_scale
    if cfg.ldm.kind == "sd":
        from ccnet_zoo.models.sd import SDController, SDDenoiser

        if not isinstance(denoiser, SDDenoiser):
            raise ConfigError("ldm.kind 'sd' needs an SD denoiser to build the ControlNet from")
        return SDController(denoiser, params.get("conditioning_embedding_num_channels", (16, 32, 96, 256)), scale)
    return MonaiController(params, scale)


def build_text_encoder(
    cfg: Config,
    prompts: Iterable[str] = (),
    meta: Mapping[str, Any] | None = None,
    pretrained: str | Path | None = None,
) -> TextEncoder:
    """Built-in encoder (vocabulary from ``prompts``, or rebuilt from checkpoint ``meta``) or CLIP."""
    cfg = as_config(cfg)
    text = cfg.text
    if text.kind == "clip":
        from ccnet_zoo.models.clip import ClipTextEncoder

        folder = (meta or {}).get("folder") if pretrained is None else pretrained
        return ClipTextEncoder(_need(folder, "text.kind 'clip'"), text.max_length, text.trainable)
    if meta is not None:
        return BuiltinTextEncoder.from_metadata(meta)
    hidden = text.hidden_size or (cfg.ldm.params or {}).get("cross_attention_dim")
    cross = (cfg.ldm.params or {}).get("cross_attention_dim")
    if hidden is None or (cross is not None and hidden != cross):
        raise ConfigError(f"text.hidden_size ({hidden}) must equal ldm.params.cross_attention_dim ({cross})")
    tok = WordTokenizer.from_prompts(["", *prompts], text.max_length)
    layers, heads = text.layers if text.layers is not None else 1, text.heads if text.heads is not None else 2
    return BuiltinTextEncoder(tok, int(hidden), layers, heads, text.trainable)
