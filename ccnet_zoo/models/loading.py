"""Rebuild one trained component from its stage's run (each checkpoint's JSON carries its config).

Training uses these for the stages it starts from; whole pipelines load through :mod:`ccnet_zoo.pipeline`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ccnet_zoo.models.autoencoder import Autoencoder
from ccnet_zoo.models.checkpoint import load_checkpoint, load_module
from ccnet_zoo.models.config import CCNetConfig, as_config
from ccnet_zoo.models.errors import CheckpointError
from ccnet_zoo.models.factory import build_autoencoder, build_denoiser, build_mean, build_text_encoder
from ccnet_zoo.models.mean import MeanNet
from ccnet_zoo.models.text import TextEncoder
from ccnet_zoo.models.unet import Denoiser


def expect_stage(meta: Mapping[str, Any], stage: str, path: str | Path) -> None:
    if meta.get("stage") != stage:
        raise CheckpointError(f"{path} is a '{meta.get('stage')}' checkpoint; expected the '{stage}' stage")


def load_autoencoder(
    cfg: CCNetConfig | Mapping[str, Any], ae: str | Path | None, pretrained: str | Path | None = None
) -> Autoencoder:
    """Stage 1 from the AE run ``ae`` (MONAI path) or the SD VAE in ``pretrained`` (SD path)."""
    cfg = as_config(cfg)
    if cfg.autoencoder.kind == "sd":
        return build_autoencoder(cfg, pretrained)
    if ae is None:
        raise CheckpointError("the latent stages need the trained autoencoder: pass --ae RUN (from 'train ae')")
    tensors, meta = load_checkpoint(ae)
    expect_stage(meta, "ae", ae)
    autoencoder = build_autoencoder(CCNetConfig.from_dict(meta["config"], str(ae)))
    load_module(autoencoder, tensors, "codec")  # the tensor prefix of the file format
    return autoencoder.eval().requires_grad_(False)


#: The former name of :func:`load_autoencoder` (kept for one release).
load_codec = load_autoencoder


def load_mean(mean: str | Path | None) -> MeanNet:
    """The conditional-mean network of a ``mean`` run (``ldm.target: residual``), frozen."""
    if mean is None:
        raise CheckpointError(
            "ldm.target 'residual' needs the trained mean network: pass --mean RUN (from 'train mean')"
        )
    tensors, meta = load_checkpoint(mean)
    expect_stage(meta, "mean", mean)
    net = build_mean(CCNetConfig.from_dict(meta["config"], str(mean)))
    load_module(net, tensors, "mean")
    return net.eval().requires_grad_(False)


def load_ldm(ldm: str | Path, pretrained: str | Path | None = None) -> tuple[Denoiser, TextEncoder, dict[str, Any]]:
    """UNet, text encoder and metadata of an LDM run."""
    tensors, meta = load_checkpoint(ldm)
    expect_stage(meta, "ldm", ldm)
    cfg = CCNetConfig.from_dict(meta["config"], str(ldm))
    pre = pretrained if pretrained is not None else meta.get("pretrained")
    unet = build_denoiser(cfg, pre)
    load_module(unet, tensors, "unet")
    text = build_text_encoder(cfg, meta=meta["text"], pretrained=pre)
    if any(k.startswith("text.") for k in tensors):
        load_module(text, tensors, "text")
    return unet.eval(), text.eval(), meta
