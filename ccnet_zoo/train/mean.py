"""The ``mean`` stage of ``ldm.target: residual``: the regression of E[post | pre, t] (:mod:`ccnet_zoo.models.mean`).

Loss: the squared error of ``base = mean(pre, t)`` against the post-contrast image, each pixel weighted by
``1 + w * |post - pre| / 2`` (``train.mean.enhancement_weight``, as the diffusion stages weight theirs), so the
few enhancing pixels count more than the unchanged background.
"""

from __future__ import annotations

from typing import Any

import torch

from ccnet_zoo.models.checkpoint import module_tensors
from ccnet_zoo.models.config import CCNetConfig, or_default
from ccnet_zoo.models.mean import MeanNet
from ccnet_zoo.train.loop import Batch, Stage
from ccnet_zoo.train.runtime import Runtime, Stepper, adamw


def weighted_error(base: torch.Tensor, pre: torch.Tensor, post: torch.Tensor, weight: float) -> torch.Tensor:
    """The weighted mean squared error of ``base`` against ``post`` (weights from the change ``post - pre``)."""
    w = 1.0 + weight * (post - pre).abs() / 2  # images in [-1, 1]: the change in [0, 1]
    return ((base - post) ** 2 * w).sum() / w.sum()


class MeanStage(Stage):
    """Weighted MSE of the conditional-mean network (float32: a regression of small differences)."""

    name = "mean"

    def __init__(self, cfg: CCNetConfig, runtime: Runtime, net: MeanNet) -> None:
        tc = cfg.train["mean"]
        self.rt = runtime
        self.net = runtime.place(net)
        self.net_ddp = runtime.wrap(self.net)
        self.trainable = {"mean": self.net}
        opt = adamw(self.net.parameters(), tc.lr, or_default(tc.weight_decay, 0.01), runtime.device)
        self.steppers = {"mean": Stepper(opt, tc.clip_grad_value, False)}
        self.weight = float(or_default(tc.enhancement_weight, 0.0))

    def _loss(self, batch: Batch) -> torch.Tensor:
        pre, post = self.rt.to_device(batch["source"]), self.rt.to_device(batch["target"])
        base = self.net_ddp(pre, self.rt.to_device(batch["acquisition_time"]))
        return weighted_error(base.float(), pre.float(), post.float(), self.weight)

    def train_step(self, batch: Batch, epoch: int) -> dict[str, torch.Tensor]:
        loss = self._loss(batch)
        self.steppers["mean"].step(loss)
        return {"loss": loss.detach()}

    def val_step(self, batch: Batch) -> torch.Tensor:
        return self._loss(batch).detach()

    def best_payload(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return module_tensors("mean", self.net), {}
