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


def load_bundle(path: str | Path, device: str = "cpu") -> Any:
    """A ready :class:`~ccnet_zoo.sample.pipeline.CCNetPipeline` from a bundle file."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    from ccnet_zoo.models.checkpoint import load_module
    from ccnet_zoo.models.factory import build_codec, build_controller, build_denoiser, build_text_encoder
    from ccnet_zoo.sample.pipeline import CCNetPipeline
    from ccnet_zoo.weights.errors import WeightsError

    with safe_open(str(path), framework="pt") as fh:
        raw = (fh.metadata() or {}).get("ccnet_zoo")
    meta = json.loads(raw) if raw else {}
    if meta.get("format") != BUNDLE_FORMAT:
        raise WeightsError(f"{path} is not a ccnet-zoo weights bundle")
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
