"""The one device rule of every ``ccnet-zoo`` command: the GPU when present, and ``cuda`` means ``cuda:LOCAL_RANK``.

``torch.cuda.set_device`` and DDP need an index, so a bare ``cuda`` is always given this process's local rank
(0 outside torchrun). Training, generation (also inside ``reproduce``) and the metrics all resolve their
``--device`` here, so a GPU machine uses its GPU without any option.

>>> resolve_device("cpu")
device(type='cpu')
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ccnet_zoo.errors import CCNetZooError

if TYPE_CHECKING:
    import torch

AUTO = ("", "auto")


class DeviceError(CCNetZooError, ValueError):
    """A ``--device`` that this machine cannot honour (no GPU, bad name or index)."""


def local_rank() -> int:
    """This process's rank on its node (torchrun's ``LOCAL_RANK``; 0 otherwise)."""
    try:
        return int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        raise DeviceError(f"LOCAL_RANK={os.environ['LOCAL_RANK']!r} is not an integer") from None


def resolve_device(name: str | None = None) -> torch.device:
    """``None``/``auto`` -> ``cuda:LOCAL_RANK`` when a GPU is present, else ``cpu``; ``cuda`` -> ``cuda:LOCAL_RANK``.

    Raises :class:`DeviceError` for a GPU that is not there (``cuda`` without CUDA, an index past the count).
    """
    import torch

    text = (name or "").strip().lower()
    if text in AUTO:
        text = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(text)
    except RuntimeError as err:  # torch's message for "cuda:x", "gpu", ...
        raise DeviceError(f"--device {name!r} is not a device (use cpu, cuda or cuda:N)") from err
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"--device {name} was asked for but no GPU is available; use --device cpu")
        index = local_rank() if dev.index is None else dev.index
        if index >= torch.cuda.device_count():
            raise DeviceError(f"--device cuda:{index}: this machine has {torch.cuda.device_count()} GPU(s)")
        dev = torch.device("cuda", index)
    return dev


def use_device(name: str | None = None, threads: int = 1) -> torch.device:
    """:func:`resolve_device`, then make it current: ``torch.cuda.set_device`` on a GPU, CPU threads on the CPU."""
    import torch

    dev = resolve_device(name)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    elif dev.type == "cpu":
        torch.set_num_threads(max(1, int(threads)))
    return dev


def bf16_supported(dev: torch.device) -> bool:
    """Whether autocast may use bfloat16 on ``dev`` (Ampere and later GPUs)."""
    import torch

    return dev.type == "cuda" and bool(torch.cuda.is_bf16_supported())
