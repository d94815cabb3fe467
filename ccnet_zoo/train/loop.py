"""The epoch loop shared by the three stages: seeded epochs, validation, checkpoints, resume, loss logs.

Every epoch starts from ``seed_all(seed, epoch, rank)`` and a sampler seeded by ``(seed, epoch)``, so all of
an epoch's randomness (order, augmentations, noise, timesteps, dropout of prompts) follows from the seed and
the epoch; ``checkpoints/last`` is written at epoch ends, hence a run resumed after an interruption ends
with exactly the weights of an uninterrupted one.

Host work stays off the GPU's critical path: losses stay on the device and are read (one sync) every
``log_every`` steps and at the epoch end; checkpoints are written every ``checkpoint_every`` epochs (0: when
``CHECKPOINT_SECONDS`` have passed) and after the last epoch; ``losses.png`` (matplotlib) only at the end.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, RandomSampler, SequentialSampler

from ccnet_zoo.models.checkpoint import (
    load_checkpoint,
    load_module,
    load_optimizer,
    module_tensors,
    optimizer_tensors,
    save_checkpoint,
)
from ccnet_zoo.models.errors import CheckpointError, ModelError
from ccnet_zoo.train.ema import EMA
from ccnet_zoo.train.history import plot_losses, write_csv
from ccnet_zoo.train.runtime import Runtime, Stepper, frozen_rng, seed_all

log = logging.getLogger(__name__)
Batch = Mapping[str, Any]
LOG_EVERY = 50  # steps between reads of the losses (a host sync each)
CHECKPOINT_SECONDS = 60.0  # checkpoint_every 0: at most this much work is lost to an interruption


class Stage:
    """One training stage. Subclasses fill ``trainable`` and ``steppers`` and implement the steps."""

    name = "stage"
    trainable: dict[str, nn.Module]
    steppers: dict[str, Stepper]
    #: moving averages of trainable modules (same keys; ``train.<stage>.ema_decay``), none by default
    emas: Mapping[str, EMA] = MappingProxyType({})

    def train_step(self, batch: Batch, epoch: int) -> dict[str, torch.Tensor]:  # pragma: no cover - interface
        """Losses of the step as detached 0-d tensors (reading them would sync with the device)."""
        raise NotImplementedError

    def val_step(self, batch: Batch) -> torch.Tensor:  # pragma: no cover - interface
        """Mean validation loss of the batch."""
        raise NotImplementedError

    def best_payload(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:  # pragma: no cover - interface
        """Tensors and metadata of the inference checkpoint (``best``)."""
        raise NotImplementedError

    def set_train(self, mode: bool) -> None:
        for m in self.trainable.values():
            m.train(mode)

    def averaged(self) -> contextlib.ExitStack:
        """A block in which the trainable modules hold their moving averages (if any)."""
        stack = contextlib.ExitStack()
        for ema in self.emas.values():
            stack.enter_context(ema.applied())
        return stack


def _loader(ds: Dataset, batch: int, rt: Runtime, seed: int, epoch: int, train: bool, workers: int) -> DataLoader:
    """Workers decode and augment while the device computes; pinned batches copy asynchronously to a GPU."""
    if rt.world > 1:
        sampler = DistributedSampler(ds, rt.world, rt.rank, shuffle=train, seed=seed, drop_last=train)
        sampler.set_epoch(epoch)
    elif train:
        sampler = RandomSampler(ds, generator=torch.Generator().manual_seed(seed * 100003 + epoch))
    else:
        sampler = SequentialSampler(ds)
    return DataLoader(
        ds,
        batch_size=batch,
        sampler=sampler,
        drop_last=train,
        num_workers=workers,
        pin_memory=rt.device.type == "cuda",
        persistent_workers=False,
        prefetch_factor=4 if workers > 0 else None,
    )


class Trainer:
    """Runs ``stage`` for ``epochs`` into ``out`` (``checkpoints/``, ``losses.csv``, ``losses.png``)."""

    def __init__(
        self,
        stage: Stage,
        train_ds: Dataset,
        val_ds: Dataset | None,
        runtime: Runtime,
        out: Path,
        *,
        epochs: int,
        batch_size: int,
        seed: int,
        meta: Mapping[str, Any],
        num_workers: int = 0,
        progress: bool = True,
        log_every: int = LOG_EVERY,
        checkpoint_every: int = 0,
    ) -> None:
        if len(train_ds) < batch_size * runtime.world:
            raise ModelError(
                f"{stage.name}: {len(train_ds)} training items cannot fill one batch of {batch_size} "
                f"x {runtime.world} process(es); lower train.{stage.name}.batch_size"
            )
        self.stage, self.train_ds, self.val_ds, self.rt = stage, train_ds, val_ds, runtime
        self.out, self.ckpt = Path(out), Path(out) / "checkpoints"
        self.epochs, self.batch_size, self.seed, self.workers = epochs, batch_size, seed, num_workers
        self.meta = dict(meta)
        self.progress = progress and runtime.is_main
        self.history: list[dict[str, float]] = []
        self.best = math.inf
        self.start_epoch = 0
        self.step = 0
        self.log_every, self.checkpoint_every = max(1, int(log_every)), max(0, int(checkpoint_every))
        self._pending_best: tuple[dict[str, torch.Tensor], dict[str, Any]] | None = None
        self._last_save = time.monotonic()

    # --- checkpoints -------------------------------------------------------------------------------------------
    def _save_last(self, epoch: int) -> None:
        tensors: dict[str, torch.Tensor] = {}
        for name, module in self.stage.trainable.items():
            tensors.update(module_tensors(f"model.{name}", module))
        optim: dict[str, Any] = {}
        for name, stepper in self.stage.steppers.items():
            t, rest = optimizer_tensors(f"optim.{name}", stepper.optimizer)
            tensors.update(t)
            optim[name] = {"optimizer": rest, "scaler": stepper.scaler.state_dict()}
        for name, ema in self.stage.emas.items():
            tensors.update(ema.tensors(f"ema.{name}"))
        meta = {
            **self.meta,
            "kind": "last",
            "epoch": epoch,
            "step": self.step,
            "best_loss": self.best,
            "history": self.history,
            "optim": optim,
            "ema_updates": {name: ema.updates for name, ema in self.stage.emas.items()},
        }
        save_checkpoint(self.ckpt, "last", tensors, meta)

    def resume(self) -> bool:
        """Load ``checkpoints/last`` if present; returns whether training continues from it."""
        if not (self.ckpt / "last.json").is_file():
            return False
        tensors, meta = load_checkpoint(self.ckpt / "last.json")
        if meta.get("stage") != self.stage.name:
            raise CheckpointError(f"{self.ckpt} holds a '{meta.get('stage')}' run, not '{self.stage.name}'")
        for name, module in self.stage.trainable.items():
            load_module(module, tensors, f"model.{name}")
        for name, stepper in self.stage.steppers.items():
            load_optimizer(stepper.optimizer, tensors, f"optim.{name}", meta["optim"][name]["optimizer"])
            stepper.scaler.load_state_dict(meta["optim"][name]["scaler"])
        for name, ema in self.stage.emas.items():
            updates = meta.get("ema_updates", {}).get(name)
            if updates is None:
                raise CheckpointError(f"{self.ckpt} was trained without train.{self.stage.name}.ema_decay")
            ema.load(tensors, f"ema.{name}", updates)
        self.start_epoch, self.step = int(meta["epoch"]) + 1, int(meta["step"])
        self.best, self.history = float(meta["best_loss"]), list(meta["history"])
        log.info("%s: resuming after epoch %d (best val loss %.5g)", self.stage.name, self.start_epoch, self.best)
        return True

    # --- epochs --------------------------------------------------------------------------------------------------
    def _train_epoch(self, epoch: int) -> dict[str, float]:
        from tqdm import tqdm

        seed_all(self.seed, epoch, self.rt.rank)
        if hasattr(self.train_ds, "set_epoch"):
            self.train_ds.set_epoch(epoch)
        loader = _loader(self.train_ds, self.batch_size, self.rt, self.seed, epoch, True, self.workers)
        self.stage.set_train(True)
        sums: dict[str, torch.Tensor] = {}
        n = 0
        bar = tqdm(
            loader,
            desc=f"{self.stage.name} {epoch + 1}/{self.epochs}",
            leave=False,
            disable=not self.progress,
            unit="step",
        )
        for batch in bar:
            logs = self.stage.train_step(batch, epoch)
            for ema in self.stage.emas.values():
                ema.update()
            for k, v in logs.items():  # summed on the device: no host sync per step
                sums[k] = sums[k] + v.float() if k in sums else v.detach().float().clone()
            n += 1
            self.step += 1
            if self.progress and n % self.log_every == 0:
                bar.set_postfix({k: f"{float(v) / n:.4g}" for k, v in sums.items()})
        means = [float(v) for v in sums.values()]  # the epoch's one sync
        totals = self.rt.all_sum([*means, n])
        return {f"train_{k}": v / max(totals[-1], 1) for k, v in zip(sums, totals[:-1], strict=True)}

    @torch.no_grad()
    def _validate(self, epoch: int) -> float:
        if self.val_ds is None or len(self.val_ds) == 0:
            return math.nan
        self.stage.set_train(False)
        total: torch.Tensor | float = 0.0
        count = 0
        with frozen_rng(self.seed + 7919 + self.rt.rank), self.stage.averaged():  # the weights sampling will use
            for batch in _loader(self.val_ds, self.batch_size, self.rt, self.seed, epoch, False, self.workers):
                b = len(next(iter(batch.values())))
                total = total + self.stage.val_step(batch).float() * b
                count += b
        total, count = self.rt.all_sum([float(total), count])
        return total / max(count, 1)

    def fit(self) -> list[dict[str, float]]:
        """Train the remaining epochs; returns the history (one dict per epoch)."""
        for epoch in range(self.start_epoch, self.epochs):
            t0 = time.perf_counter()
            row: dict[str, float] = {"epoch": epoch, **self._train_epoch(epoch)}
            val = self._validate(epoch)
            row["val_loss"] = val
            row["step"] = self.step
            row["seconds"] = round(time.perf_counter() - t0, 3)
            self.history.append(row)
            score = val if val == val else row.get("train_loss", math.inf)
            improved = score < self.best
            if improved:
                self.best = score
                if self.rt.is_main:  # a copy on the host; written with the next checkpoint
                    with self.stage.averaged():
                        tensors, meta = self.stage.best_payload()
                        tensors = {k: v.detach().to("cpu", copy=True) for k, v in tensors.items()}
                    meta = {**self.meta, **meta, "kind": "best", "epoch": epoch, "val_loss": score}
                    self._pending_best = (tensors, meta)
            if self.rt.is_main and self._checkpoint_due(epoch):
                self._checkpoint(epoch)
            log.info(
                "%s epoch %d/%d: %s",
                self.stage.name,
                epoch + 1,
                self.epochs,
                ", ".join(f"{k}={v:.4g}" for k, v in row.items() if k != "epoch"),
            )
            self.rt.barrier()
        if self.rt.is_main and self.history:
            plot_losses(self.out / "losses.png", self.history, f"{self.stage.name}: {self.out.name}")
        return self.history

    def _checkpoint_due(self, epoch: int) -> bool:
        if epoch == self.epochs - 1:
            return True
        if self.checkpoint_every:
            return (epoch + 1) % self.checkpoint_every == 0
        return time.monotonic() - self._last_save >= CHECKPOINT_SECONDS

    def _checkpoint(self, epoch: int) -> None:
        """``best`` (if it improved since the last checkpoint), then ``last`` and ``losses.csv``."""
        if self._pending_best is not None:
            save_checkpoint(self.ckpt, "best", *self._pending_best)
            self._pending_best = None
        self._save_last(epoch)
        write_csv(self.out / "losses.csv", self.history)
        self._last_save = time.monotonic()
