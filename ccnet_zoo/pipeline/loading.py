"""The one loader of trained CC-Nets: a ControlNet run folder, a one-file bundle, or a registered name.

A bundle is one safetensors file holding the autoencoder, UNet, text encoder and ControlNet (and the
conditional-mean network where ``ldm.target`` is ``residual``); its metadata holds
the resolved config and the text encoder's vocabulary, so a bundle is all that generation needs. Registry
entries of kind ``ccnet`` point at bundles. :meth:`CCNetPipeline.from_pretrained` and ``save_pretrained`` are
the public face of this module.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ccnet_zoo.models.checkpoint import load_checkpoint, load_module, module_tensors, resolve
from ccnet_zoo.models.config import CCNetConfig
from ccnet_zoo.models.errors import CheckpointError
from ccnet_zoo.models.factory import (
    build_autoencoder,
    build_controller,
    build_denoiser,
    build_mean,
    build_text_encoder,
)
from ccnet_zoo.models.loading import expect_stage, load_autoencoder, load_ldm, load_mean
from frd._files import create_new

BUNDLE_FORMAT = "ccnet-zoo-bundle/1"
METADATA_KEY = "ccnet_zoo"
#: Component -> its tensor prefix in bundle and checkpoint files. The autoencoder's is ``codec``, a file format
#: kept so that existing checkpoints and the shipped bundle (whose sha256 is registered) still load.
PARTS = {"autoencoder": "codec", "unet": "unet", "text": "text", "controlnet": "controlnet", "mean": "mean"}
#: parts only some configs have (``mean``: ``ldm.target: residual``)
OPTIONAL_PARTS = frozenset({"mean"})


def _residual(cfg: CCNetConfig) -> bool:
    return cfg.ldm.target == "residual"


class NotABundleError(CheckpointError):
    """A file given as CC-Net weights is not a ccnet-zoo bundle."""


def load_run(
    run: str | Path,
    pretrained: str | Path | None = None,
    ae: str | Path | None = None,
    ldm: str | Path | None = None,
    mean: str | Path | None = None,
) -> dict[str, Any]:
    """Every component of a ControlNet run: ``autoencoder``, ``unet``, ``text``, ``controlnet``, ``config``,
    ``meta`` (and ``mean`` for ``ldm.target: residual``).

    The AE, LDM and mean runs recorded in its metadata are used unless ``ae``/``ldm``/``mean`` are given.
    """
    tensors, meta = load_checkpoint(run)
    expect_stage(meta, "controlnet", run)
    cfg = CCNetConfig.from_dict(meta["config"], str(run))
    pre = pretrained if pretrained is not None else meta.get("pretrained")
    ldm_path = ldm or meta.get("ldm")
    if ldm_path is None:
        raise CheckpointError(f"{run} does not name its LDM run; pass --ldm RUN")
    unet, text, _ = load_ldm(ldm_path, pre)
    autoencoder = load_autoencoder(cfg, ae or meta.get("ae"), pre)
    controlnet = build_controller(cfg, unet)
    load_module(controlnet, tensors, "controlnet")
    out = {
        "autoencoder": autoencoder,
        "unet": unet,
        "text": text,
        "controlnet": controlnet.eval(),
        "config": cfg,
        "meta": meta,
        "path": str(resolve(run)),
    }
    if _residual(cfg):
        out["mean"] = load_mean(mean or meta.get("mean"))
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

    The config must pass the config schema (:meth:`~ccnet_zoo.models.config.CCNetConfig.from_dict`), and the networks
    it describes, built on PyTorch's ``meta`` device (shapes only, no memory), must have exactly as many
    elements as the file holds per part: a bundle cannot make ccnet-zoo build networks larger than itself.
    """
    import torch
    from safetensors import SafetensorError, safe_open

    from ccnet_zoo.models.errors import ModelError

    try:
        with safe_open(str(path), framework="pt") as fh:
            raw = (fh.metadata() or {}).get(METADATA_KEY)
    except (SafetensorError, OSError) as err:  # not safetensors
        raise NotABundleError(f"{path} is not a ccnet-zoo weights bundle ({str(err).splitlines()[0]})") from err
    if raw is None or len(raw) > MAX_METADATA_BYTES:
        raise NotABundleError(f"{path} is not a ccnet-zoo weights bundle (no '{BUNDLE_FORMAT}' metadata under 1 MiB)")
    try:
        meta = json.loads(raw)
    except ValueError as err:
        raise NotABundleError(f"{path}: bundle metadata is not JSON ({err})") from err
    if not isinstance(meta, dict) or meta.get("format") != BUNDLE_FORMAT:
        raise NotABundleError(f"{path} is not a ccnet-zoo weights bundle (no '{BUNDLE_FORMAT}' metadata)")
    cfg, text = meta.get("config"), meta.get("text")
    if not isinstance(cfg, dict) or not isinstance(text, dict):
        raise CheckpointError(f"{path}: bundle metadata lacks its config or text encoder")
    if (cfg.get("stage1") or {}).get("kind") != "monai" or (cfg.get("ldm") or {}).get("kind") != "monai":
        raise CheckpointError(f"{path}: a bundle holds MONAI networks only (stage1.kind and ldm.kind 'monai')")
    try:
        config = CCNetConfig.from_dict(cfg, where=str(path))
        with torch.device("meta"):
            unet = build_denoiser(config)
            parts = {
                PARTS["autoencoder"]: build_autoencoder(config),
                "unet": unet,
                "text": build_text_encoder(config, meta=text),
                "controlnet": build_controller(config, unet),
            }
            if _residual(config):
                parts["mean"] = build_mean(config)
    except ModelError as err:  # ConfigError: the schema, or values MONAI rejects
        raise CheckpointError(f"{path}: invalid bundle config: {err}") from err
    except (TypeError, KeyError, AttributeError) as err:  # text metadata of the wrong shape
        raise CheckpointError(f"{path}: invalid bundle metadata: {type(err).__name__}: {err}") from err
    held = _numel_by_part(path)
    for name, module in parts.items():
        want = sum(t.numel() for t in module.state_dict().values())
        if want != held.get(name, 0):
            raise CheckpointError(
                f"{path}: the config's {name} has {want} elements but the file holds "
                f"{held.get(name, 0)}; refusing to build it"
            )
    return meta


def read_bundle(path: str | Path) -> dict[str, Any]:
    """The components of a bundle file, as :func:`load_run` returns them; :class:`NotABundleError` otherwise.

    The bundle is validated first (:func:`check_bundle`): no tensor is read and no network built before.
    """
    from safetensors.torch import load_file

    meta = check_bundle(path)
    cfg = CCNetConfig.from_dict(meta["config"], str(path))
    tensors = load_file(str(path))
    autoencoder, unet = build_autoencoder(cfg), build_denoiser(cfg)
    text = build_text_encoder(cfg, meta=meta["text"])
    load_module(autoencoder, tensors, PARTS["autoencoder"])
    load_module(unet, tensors, "unet")
    load_module(text, tensors, "text")
    controlnet = build_controller(cfg, unet)
    load_module(controlnet, tensors, "controlnet")
    out = {
        "autoencoder": autoencoder,
        "unet": unet,
        "text": text,
        "controlnet": controlnet,
        "config": cfg,
        "meta": meta,
        "path": str(path),
    }
    if _residual(cfg):
        out["mean"] = build_mean(cfg)
        load_module(out["mean"], tensors, "mean")
        out["mean"].eval()
    return out


def write_bundle(parts: Mapping[str, Any], config: CCNetConfig, out: str | Path, *, description: str = "") -> Path:
    """Write ``parts`` (the modules named in :data:`PARTS`; ``mean`` only where the config has it) and ``config``
    to the new file ``out``.

    Never replaces a file: an existing ``out`` raises :class:`~ccnet_zoo.models.errors.CheckpointError`.
    """
    from safetensors.torch import save_file

    out = Path(out)
    if out.exists():
        raise CheckpointError(f"{out} exists; choose another file name")
    tensors: dict[str, Any] = {}
    for name, prefix in PARTS.items():
        if name in OPTIONAL_PARTS and name not in parts:
            continue
        tensors.update({k: v.detach().to("cpu").contiguous() for k, v in module_tensors(prefix, parts[name]).items()})
    meta = {
        "format": BUNDLE_FORMAT,
        "config": config.to_dict(),
        "text": parts["text"].metadata(),
        "description": description,
    }
    return create_new(out, lambda tmp: save_file(tensors, tmp, metadata={METADATA_KEY: json.dumps(meta)}))


def load_components(
    source: str | Path,
    *,
    registry: Any = None,
    pretrained: str | Path | None = None,
    ae: str | Path | None = None,
    ldm: str | Path | None = None,
    mean: str | Path | None = None,
) -> dict[str, Any]:
    """Components from a run folder (or its checkpoint JSON), a bundle file, or a registry name."""
    p = Path(source)
    if p.is_dir() or (p.is_file() and p.suffix == ".json"):
        return load_run(p, pretrained=pretrained, ae=ae, ldm=ldm, mean=mean)
    if p.is_file():
        return read_bundle(p)
    if p.suffix == ".safetensors":
        raise CheckpointError(f"{source} does not exist (expected a bundle file)")
    if len(p.parts) > 1 or p.suffix:  # reads as a path, not as a name: say what a run folder holds
        return load_run(p, pretrained=pretrained, ae=ae, ldm=ldm, mean=mean)
    from ccnet_zoo.weights import Registry

    return read_bundle((registry or Registry.load()).path(str(source)))
