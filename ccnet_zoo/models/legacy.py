"""Load checkpoints written by monai-generative (``generative.networks.nets``) into MONAI core networks.

monai-generative named attention and upsampling layers differently; MONAI core's ``load_old_state_dict``
renames them (the AutoencoderKL must be built with ``include_fc=False``, as :class:`MonaiCodec` does).
ccnet saved ``{"diffusion"|"controlnet"|...: state_dict, "optimizer": ..., "epoch": ...}`` dicts or bare
state dicts (``torch.save``); both are accepted.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from ccnet_zoo.models.errors import CheckpointError

_KEYS = ("autoencoder", "stage1", "diffusion", "controlnet", "state_dict", "model")


def _network(model: nn.Module) -> nn.Module:
    for attr in ("autoencoder", "net"):
        if hasattr(model, attr):
            return getattr(model, attr)
    return model


def read_old(path_or_dict: str | Path | Mapping[str, torch.Tensor], key: str | None = None) -> dict:
    """The state dict inside a monai-generative ``.pth`` (or an already loaded mapping)."""
    if isinstance(path_or_dict, (str, Path)):
        path = Path(path_or_dict)
        if not path.is_file():
            raise CheckpointError(f"{path} does not exist")
        obj = torch.load(path, map_location="cpu", weights_only=True)
    else:
        obj = dict(path_or_dict)
    if key is not None:
        if key not in obj:
            raise CheckpointError(f"the checkpoint has no '{key}' entry (keys: {', '.join(map(str, obj))})")
        return dict(obj[key])
    for k in _KEYS:
        if k in obj and isinstance(obj[k], Mapping):
            return dict(obj[k])
    return obj


def load_monai_generative(
    model: nn.Module, path_or_dict: str | Path | Mapping[str, torch.Tensor], key: str | None = None
) -> nn.Module:
    """Load a monai-generative state dict into ``model`` (a MONAI net or a ccnet_zoo wrapper of one).

    The acquisition-time MLP of ccnet_zoo wrappers has no counterpart in monai-generative networks (it was
    an ``nn.Embedding`` or absent): it is kept as initialised when the checkpoint lacks it.
    """
    net = _network(model)
    old = read_old(path_or_dict, key)
    loader = getattr(net, "load_old_state_dict", None)
    if loader is None:
        raise CheckpointError(f"{type(net).__name__} has no load_old_state_dict; expected a MONAI generative net")
    own = net.state_dict()
    extra = {k: v for k, v in own.items() if k.startswith("class_embedding.") and k not in old}
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # MONAI prints a line when all keys match
            loader({**old, **extra}, verbose=False)
    except (RuntimeError, KeyError, AssertionError) as err:
        raise CheckpointError(f"the monai-generative checkpoint does not fit {type(net).__name__}: {err}") from err
    return model
