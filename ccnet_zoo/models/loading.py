"""Rebuild trained components from ccnet_zoo checkpoints (each checkpoint's JSON carries its config)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ccnet_zoo.models.autoencoder import LatentCodec
from ccnet_zoo.models.checkpoint import load_checkpoint, load_module, resolve
from ccnet_zoo.models.errors import CheckpointError
from ccnet_zoo.models.factory import build_codec, build_controller, build_denoiser, build_text_encoder
from ccnet_zoo.models.text import TextEncoder
from ccnet_zoo.models.unet import Denoiser


def _expect(meta: Mapping[str, Any], stage: str, path: str | Path) -> None:
    if meta.get("stage") != stage:
        raise CheckpointError(f"{path} is a '{meta.get('stage')}' checkpoint; expected the '{stage}' stage")


def load_codec(cfg: Mapping[str, Any], ae: str | Path | None, pretrained: str | Path | None = None) -> LatentCodec:
    """Stage 1 from the AE run ``ae`` (MONAI path) or the SD VAE in ``pretrained`` (SD path)."""
    if cfg["stage1"]["kind"] == "sd":
        return build_codec(cfg, pretrained)
    if ae is None:
        raise CheckpointError("the latent stages need the trained autoencoder: pass --ae RUN (from 'train ae')")
    tensors, meta = load_checkpoint(ae)
    _expect(meta, "ae", ae)
    codec = build_codec(meta["config"])
    load_module(codec, tensors, "codec")
    return codec.eval().requires_grad_(False)


def load_ldm(ldm: str | Path, pretrained: str | Path | None = None) -> tuple[Denoiser, TextEncoder, dict[str, Any]]:
    """UNet, text encoder and metadata of an LDM run."""
    tensors, meta = load_checkpoint(ldm)
    _expect(meta, "ldm", ldm)
    cfg = meta["config"]
    pre = pretrained if pretrained is not None else meta.get("pretrained")
    unet = build_denoiser(cfg, pre)
    load_module(unet, tensors, "unet")
    text = build_text_encoder(cfg, meta=meta["text"], pretrained=pre)
    if any(k.startswith("text.") for k in tensors):
        load_module(text, tensors, "text")
    return unet.eval(), text.eval(), meta


def load_controlnet(run: str | Path, pretrained: str | Path | None = None,
                    ae: str | Path | None = None, ldm: str | Path | None = None) -> dict[str, Any]:  # fmt: skip
    """Everything generation needs from a ControlNet run: ``codec``, ``unet``, ``text``, ``controlnet``,
    ``config``, ``meta``. The AE and LDM runs recorded in its metadata are used unless given."""
    tensors, meta = load_checkpoint(run)
    _expect(meta, "controlnet", run)
    cfg = meta["config"]
    pre = pretrained if pretrained is not None else meta.get("pretrained")
    ldm_path = ldm or meta.get("ldm")
    if ldm_path is None:
        raise CheckpointError(f"{run} does not name its LDM run; pass --ldm RUN")
    unet, text, _ = load_ldm(ldm_path, pre)
    codec = load_codec(cfg, ae or meta.get("ae"), pre)
    controlnet = build_controller(cfg, unet)
    load_module(controlnet, tensors, "controlnet")
    return {"codec": codec, "unet": unet, "text": text, "controlnet": controlnet.eval(), "config": cfg,
            "meta": meta, "path": str(resolve(run))}  # fmt: skip
