"""Where and how training runs: device, threads, AMP, DDP (torchrun) and seeding.

Under torchrun (``WORLD_SIZE`` > 1) the process group is initialised with NCCL on GPUs and gloo on CPU;
each rank sees its own shard of every epoch (``DistributedSampler``) and gradients are averaged by DDP.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ccnet_zoo.models.errors import ModelError

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Device, AMP flag and the distributed rank/world of this process."""

    device: torch.device
    amp: bool = False
    rank: int = 0
    world: int = 1

    @classmethod
    def create(cls, device: str | None = None, amp: bool = True, threads: int = 1) -> Runtime:
        """Pick the device (GPU when present), set CPU threads, join the torchrun process group if any."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        name = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if name.startswith("cuda") and not torch.cuda.is_available():
            raise ModelError("--device cuda was asked for but no GPU is available; use --device cpu")
        dev = torch.device(f"cuda:{local}" if name == "cuda" and world > 1 else name)
        if dev.type == "cpu":
            torch.set_num_threads(max(1, int(threads)))
        else:
            torch.cuda.set_device(dev)
        if world > 1 and not torch.distributed.is_initialized():
            torch.distributed.init_process_group("nccl" if dev.type == "cuda" else "gloo")
            log.info("rank %d of %d on %s", rank, world, dev)
        return cls(dev, amp=bool(amp and dev.type == "cuda"), rank=rank, world=world)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def autocast(self) -> contextlib.AbstractContextManager:
        """fp16 autocast on GPU when AMP is on, else a no-op."""
        if self.amp:
            return torch.autocast(device_type="cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def wrap(self, module: nn.Module) -> nn.Module:
        """DDP-wrap a trainable module when distributed."""
        if self.world == 1:
            return module
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(module, device_ids=ids)

    def all_sum(self, values: Iterable[float]) -> list[float]:
        """Sum floats over ranks (identity when not distributed)."""
        vals = list(values)
        if self.world == 1:
            return vals
        t = torch.tensor(vals, dtype=torch.float64, device=self.device)
        torch.distributed.all_reduce(t)
        return t.tolist()

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()

    def close(self) -> None:
        if self.world > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def seed_all(seed: int, *parts: int) -> int:
    """Seed python, numpy and torch from ``(seed, *parts)``; returns the derived seed."""
    derived = int(np.random.SeedSequence([int(seed), *map(int, parts)]).generate_state(1)[0])
    random.seed(derived)
    np.random.seed(derived)
    torch.manual_seed(derived)
    return derived


@contextlib.contextmanager
def frozen_rng(seed: int) -> Iterator[None]:
    """Run a block under a fixed torch seed and restore the previous RNG state afterwards (validation)."""
    state = torch.random.get_rng_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.random.set_rng_state(state)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)


class Stepper:
    """Backward, (un)scale, clip gradients by value, step and zero one optimizer; owns its GradScaler."""

    def __init__(self, optimizer: torch.optim.Optimizer, clip_value: float | None, amp: bool) -> None:
        self.optimizer = optimizer
        self.clip_value = clip_value
        self.scaler = torch.amp.GradScaler("cuda", enabled=amp)

    def params(self) -> list[torch.Tensor]:
        return [p for g in self.optimizer.param_groups for p in g["params"] if p.grad is not None]

    def step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.clip_value is not None:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_value_(self.params(), float(self.clip_value))
        self.scaler.step(self.optimizer)
        self.scaler.update()
