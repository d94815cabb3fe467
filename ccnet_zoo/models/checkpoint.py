"""Checkpoints: tensors in safetensors, config and metadata in JSON, written atomically.

``save_checkpoint(dir, "best", tensors, meta)`` writes ``best-<token>.safetensors`` then ``best.json``
(naming that file and its sha256) by rename, then removes the previous tensor file: a reader sees either the
old or the new checkpoint, never a mix, whenever the writer is interrupted.

>>> import tempfile, torch
>>> d = Path(tempfile.mkdtemp())
>>> _ = save_checkpoint(d, "best", {"w": torch.ones(2)}, {"epoch": 3})
>>> tensors, meta = load_checkpoint(d / "best.json")
>>> tensors["w"].tolist(), meta["epoch"]
([1.0, 1.0], 3)
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ccnet_zoo.models.errors import CheckpointError
from frd._files import replace_owned, replace_owned_text

FORMAT = "ccnet_zoo/1"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_checkpoint(folder: Path, name: str, tensors: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> Path:
    """Write ``folder/name.json`` + its tensor file atomically; returns the JSON path."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / f"{name}.json"
    old = _tensor_file(json_path) if json_path.is_file() else None
    tensor_name = f"{name}-{uuid.uuid4().hex[:12]}.safetensors"
    cpu = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    replace_owned(folder / tensor_name, lambda tmp: save_file(cpu, tmp))
    doc = {"format": FORMAT, "tensors": tensor_name, "sha256": _sha256(folder / tensor_name), **meta}
    replace_owned_text(json_path, json.dumps(doc, indent=1, sort_keys=True, default=str) + "\n")
    if old is not None and old.name != tensor_name and old.is_file():
        old.unlink()
    return json_path


_TENSOR_NAME = re.compile(r"^[A-Za-z0-9_-]+-[0-9a-f]{12}\.safetensors$")


def tensor_path(json_path: Path, name: object) -> Path:
    """The tensor file a checkpoint JSON names, confined to the JSON's folder: only a plain file name of the
    form this module writes is accepted (a crafted ``../x`` or absolute path would be read or deleted)."""
    if not isinstance(name, str) or not _TENSOR_NAME.match(name):
        raise CheckpointError(f"{json_path} names the tensor file {name!r}, which is not a file of its folder")
    folder = json_path.parent.resolve()
    path = (folder / name).resolve()
    if path.parent != folder:  # a symlinked name pointing elsewhere
        raise CheckpointError(f"{json_path}: {name} resolves outside {folder}")
    return json_path.parent / name


def _tensor_file(json_path: Path) -> Path | None:
    try:
        doc = json.loads(json_path.read_text(encoding="utf-8"))
        return tensor_path(json_path, doc["tensors"])
    except (OSError, ValueError, KeyError, TypeError):  # CheckpointError is a ValueError: nothing to remove
        return None


def resolve(path: str | Path, name: str = "best") -> Path:
    """A checkpoint JSON from a JSON path, or from a run folder (``<run>/checkpoints/<name>.json``)."""
    p = Path(path)
    for cand in (p, p / "checkpoints" / f"{name}.json", p / f"{name}.json"):
        if cand.is_file() and cand.suffix == ".json":
            return cand
    raise CheckpointError(
        f"no checkpoint at {p} (expected a .json file or a run folder with "
        f"checkpoints/{name}.json); train that stage first"
    )


def load_checkpoint(path: str | Path, verify: bool = True) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors and metadata of a checkpoint (``path``: JSON file or run folder)."""
    from safetensors.torch import load_file

    json_path = resolve(path)
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise CheckpointError(f"{json_path} is not valid JSON: {err}") from err
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{json_path} is not a ccnet_zoo checkpoint (format {meta.get('format')!r})")
    tensors = tensor_path(json_path, meta.get("tensors"))
    if not tensors.is_file():
        raise CheckpointError(f"{json_path} names {tensors.name}, which is missing")
    if verify and _sha256(tensors) != meta.get("sha256"):
        raise CheckpointError(f"{tensors} does not match the sha256 recorded in {json_path}")
    return load_file(str(tensors)), meta


def module_tensors(prefix: str, module: nn.Module) -> dict[str, torch.Tensor]:
    """``{prefix.key: tensor}`` of a module's state dict."""
    return {f"{prefix}.{k}": v for k, v in module.state_dict().items()}


def load_module(module: nn.Module, tensors: Mapping[str, torch.Tensor], prefix: str) -> None:
    """Load ``prefix.*`` tensors into ``module`` (all keys must match)."""
    sd = {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    if not sd:
        raise CheckpointError(f"the checkpoint holds no '{prefix}' weights")
    try:
        module.load_state_dict(sd, strict=True)
    except RuntimeError as err:
        raise CheckpointError(
            f"'{prefix}' weights do not fit the model built from the config: {str(err).splitlines()[0]}"
        ) from err


def optimizer_tensors(prefix: str, optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimizer state into tensors (safetensors) and a JSON-able rest."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    rest: dict[str, Any] = {"param_groups": sd["param_groups"], "state": {}}
    for idx, state in sd["state"].items():
        rest["state"][str(idx)] = {}
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{idx}.{key}"] = value
                rest["state"][str(idx)][key] = "__tensor__"
            else:
                rest["state"][str(idx)][key] = value
    return tensors, rest


def load_optimizer(
    optimizer: torch.optim.Optimizer, tensors: Mapping[str, torch.Tensor], prefix: str, rest: Mapping[str, Any]
) -> None:
    """Inverse of :func:`optimizer_tensors`."""
    state: dict[int, dict[str, Any]] = {}
    for idx, entries in rest["state"].items():
        state[int(idx)] = {k: (tensors[f"{prefix}.{idx}.{k}"] if v == "__tensor__" else v) for k, v in entries.items()}
    optimizer.load_state_dict({"state": state, "param_groups": rest["param_groups"]})
