"""Exponential moving average (EMA) of a module's weights, for sampling from a short training run.

``train.<stage>.ema_decay: d`` (LDM and ControlNet stages; absent or 0 = off) keeps, after every optimizer
step n, ``ema = r * ema + (1 - r) * weights`` with ``r = min(d, (1 + n) / (10 + n))`` (the warm-up lets the
average follow the fast early changes). Validation, the ``best`` checkpoint (what sampling uses) and the
next stage see the averaged weights; ``last`` holds both, so a resumed run ends where an uninterrupted one does.

>>> import torch
>>> lin = torch.nn.Linear(1, 1, bias=False)
>>> ema = EMA(lin, 0.9)
>>> with torch.no_grad():
...     _ = lin.weight.fill_(1.0)
>>> ema.update()  # step 1: r = min(0.9, 2 / 11)
>>> round(ema.rate(), 4), ema.updates
(0.1818, 1)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

import torch
from torch import nn

from ccnet_zoo.models.errors import CheckpointError, ModelError


class EMA:
    """The moving average of ``module``'s floating-point state (parameters and buffers)."""

    def __init__(self, module: nn.Module, decay: float) -> None:
        if not 0 < decay < 1:
            raise ModelError(f"train.<stage>.ema_decay must be within (0, 1), got {decay}")
        self.module, self.decay, self.updates = module, float(decay), 0
        self.shadow = {k: v.detach().clone() for k, v in module.state_dict().items() if v.is_floating_point()}

    def rate(self) -> float:
        """The decay of the last update (warm-up: ``(1 + n) / (10 + n)`` until it reaches ``decay``)."""
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self) -> None:
        """Fold the module's current weights into the average (after an optimizer step)."""
        self.updates += 1
        r = self.rate()
        state = self.module.state_dict()
        for k, v in self.shadow.items():
            v.lerp_(state[k].detach().to(v.dtype), 1.0 - r)

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        """The module holds the averaged weights inside the block, its own ones again afterwards."""
        backup = {k: v.detach().clone() for k, v in self.module.state_dict().items() if k in self.shadow}
        self.module.load_state_dict(self.shadow, strict=False)
        try:
            yield
        finally:
            self.module.load_state_dict(backup, strict=False)

    def tensors(self, prefix: str) -> dict[str, torch.Tensor]:
        """``{prefix.key: averaged tensor}`` for a checkpoint."""
        return {f"{prefix}.{k}": v for k, v in self.shadow.items()}

    def load(self, tensors: Mapping[str, torch.Tensor], prefix: str, updates: int) -> None:
        """Restore the average saved by :meth:`tensors` after ``updates`` steps."""
        missing = sorted(k for k in self.shadow if f"{prefix}.{k}" not in tensors)
        if missing:
            raise CheckpointError(f"the checkpoint holds no moving average '{prefix}.{missing[0]}'")
        with torch.no_grad():
            for k, v in self.shadow.items():
                v.copy_(tensors[f"{prefix}.{k}"])
        self.updates = int(updates)


def averages(module: nn.Module, name: str, decay: float | None) -> dict[str, EMA]:
    """``{name: EMA(module, decay)}``, or ``{}`` when ``decay`` is ``None`` or 0 (no moving average)."""
    return {name: EMA(module, float(decay))} if decay else {}
