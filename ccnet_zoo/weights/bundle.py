"""One-file CC-Net weights: codec, UNet, text encoder and ControlNet in one safetensors file.

The file's metadata holds the resolved config and the text encoder's vocabulary, so a bundle is
all that generation needs (``load_bundle``); registry entries of kind ``ccnet`` point at bundles.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

BUNDLE_FORMAT = "ccnet-zoo-bundle/1"
_PARTS = ("codec", "unet", "text", "controlnet")


def export_bundle(controlnet_run: str | Path, out: str | Path, *, description: str = "") -> Path:
    """Write the trained CC-Net of ``controlnet_run`` (with the AE and LDM runs it names) to ``out``."""
    from safetensors.torch import save_file

    from ccnet_zoo.models.checkpoint import module_tensors
    from ccnet_zoo.models.loading import load_controlnet
    from ccnet_zoo.weights.errors import WeightsError

    out = Path(out)
    if out.exists():
        raise WeightsError(f"{out} exists; choose another file name")
    parts = load_controlnet(controlnet_run)
    tensors: dict[str, Any] = {}
    for name in _PARTS:
        tensors.update({k: v.contiguous() for k, v in module_tensors(name, parts[name]).items()})
    meta = {"format": BUNDLE_FORMAT, "config": parts["config"], "text": parts["text"].metadata(),
            "description": description}  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".tmp-", suffix=".safetensors")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={"ccnet_zoo": json.dumps(meta)})
        os.link(tmp, out)
    finally:
        os.unlink(tmp)
    return out


MAX_METADATA_BYTES = 1 << 20  # the config and the vocabulary: kilobytes in practice


def _numel_by_part(path: str | Path) -> dict[str, int]:
    """Elements per part (``codec``, ``unet``...) of the tensors in a safetensors file, read from its header only."""
    from safetensors import safe_open

    out: dict[str, int] = {}
    with safe_open(str(path), framework="pt") as fh:
        for key in fh.keys():  # noqa: SIM118 - safe_open has no __iter__
            n = 1
            for d in fh.get_slice(key).get_shape():
                n *= int(d)
            part = key.split(".", 1)[0]
            out[part] = out.get(part, 0) + n
    return out


def check_bundle(path: str | Path) -> dict[str, Any]:
    """Validate a bundle before any network is allocated; returns its metadata.

    The config must pass the config schema (:func:`~ccnet_zoo.models.config.validate_config`), and the networks
    it describes, built on PyTorch's ``meta`` device (shapes only, no memory), must have exactly as many
    elements as the file holds per part: a bundle cannot ask for networks larger than itself.
    """
    import torch
    from safetensors import SafetensorError, safe_open

    from ccnet_zoo.models.config import validate_config
    from ccnet_zoo.models.errors import ModelError
    from ccnet_zoo.models.factory import build_codec, build_controller, build_denoiser, build_text_encoder
    from ccnet_zoo.weights.errors import WeightsError

    try:
        with safe_open(str(path), framework="pt") as fh:
            raw = (fh.metadata() or {}).get("ccnet_zoo")
    except (SafetensorError, OSError) as err:
        raise WeightsError(f"{path} is not a safetensors file: {err}") from err
    if raw is None or len(raw) > MAX_METADATA_BYTES:
        raise WeightsError(f"{path} is not a ccnet-zoo weights bundle (metadata missing or over 1 MiB)")
    try:
        meta = json.loads(raw)
    except ValueError as err:
        raise WeightsError(f"{path}: bundle metadata is not JSON: {err}") from err
    if not isinstance(meta, dict) or meta.get("format") != BUNDLE_FORMAT:
        raise WeightsError(f"{path} is not a ccnet-zoo weights bundle")
    cfg, text = meta.get("config"), meta.get("text")
    if not isinstance(cfg, dict) or not isinstance(text, dict):
        raise WeightsError(f"{path}: bundle metadata lacks its config or text encoder")
    if cfg.get("stage1", {}).get("kind") != "monai" or cfg.get("ldm", {}).get("kind") != "monai":
        raise WeightsError(f"{path}: a bundle holds MONAI networks only (stage1.kind and ldm.kind 'monai')")
    try:
        validate_config(cfg, where=str(path))
        with torch.device("meta"):
            unet = build_denoiser(cfg)
            parts = {"codec": build_codec(cfg), "unet": unet, "text": build_text_encoder(cfg, meta=text),
                     "controlnet": build_controller(cfg, unet)}  # fmt: skip
    except (ModelError, TypeError, KeyError) as err:  # ConfigError, or metadata of the wrong shape
        raise WeightsError(f"{path}: invalid bundle config: {err}") from err
    held = _numel_by_part(path)
    for name, module in parts.items():
        want = sum(t.numel() for t in module.state_dict().values())
        if want != held.get(name, 0):
            raise WeightsError(f"{path}: the config's {name} has {want} elements but the file holds "
                               f"{held.get(name, 0)}; refusing to build it")  # fmt: skip
    return meta


def load_bundle(path: str | Path, device: Any = "cpu") -> Any:
    """A ready :class:`~ccnet_zoo.sample.pipeline.CCNetPipeline` from a bundle file (validated first)."""
    from safetensors.torch import load_file

    from ccnet_zoo.models.checkpoint import load_module
    from ccnet_zoo.models.factory import build_codec, build_controller, build_denoiser, build_text_encoder
    from ccnet_zoo.sample.pipeline import CCNetPipeline

    meta = check_bundle(path)
    cfg = meta["config"]
    tensors = load_file(str(path))
    codec, unet = build_codec(cfg), build_denoiser(cfg)
    text = build_text_encoder(cfg, meta=meta["text"])
    load_module(codec, tensors, "codec")
    load_module(unet, tensors, "unet")
    load_module(text, tensors, "text")
    controlnet = build_controller(cfg, unet)
    load_module(controlnet, tensors, "controlnet")
    return CCNetPipeline(codec, unet, controlnet, text, cfg, device)
