"""The ``mean`` stage of ``ldm.target: residual``: the regression of E[post | pre, t] (:mod:`ccnet_zoo.models.mean`).

Loss: the squared error of ``base = mean(pre, t)`` against the post-contrast image, each pixel weighted by
``1 + w * |post - pre| / 2`` (``train.mean.enhancement_weight``, as the diffusion stages weight theirs), so the
few enhancing pixels count more than the unchanged background.

With a noise head (``mean.noise``) the loss adds :func:`noise_level_error`: the head learns the post-contrast
image's noise level. The head is a separate network, so the term does not move the mean; validation (the best
checkpoint) scores the mean alone.
"""

from __future__ import annotations

from typing import Any

import torch

from ccnet_zoo.models.checkpoint import module_tensors
from ccnet_zoo.models.config import CCNetConfig, or_default
from ccnet_zoo.models.mean import MeanNet, noise_level
from ccnet_zoo.train.loop import Batch, Stage
from ccnet_zoo.train.runtime import Runtime, Stepper, adamw


def weighted_error(base: torch.Tensor, pre: torch.Tensor, post: torch.Tensor, weight: float) -> torch.Tensor:
    """The weighted mean squared error of ``base`` against ``post`` (weights from the change ``post - pre``)."""
    w = 1.0 + weight * (post - pre).abs() / 2  # images in [-1, 1]: the change in [0, 1]
    return ((base - post) ** 2 * w).sum() / w.sum()


def noise_level_error(post: torch.Tensor, log_sd: torch.Tensor) -> torch.Tensor:
    """Squared error, on the log scale, of the predicted noise level (B, 1, 1, 1) against the post-contrast
    image's :func:`~ccnet_zoo.models.mean.noise_level` (a ratio error: the same for quiet and noisy scanners)."""
    return ((log_sd.flatten() - noise_level(post).log()) ** 2).mean()


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

    def _losses(self, batch: Batch, noise: bool) -> dict[str, torch.Tensor]:
        pre, post = self.rt.to_device(batch["source"]), self.rt.to_device(batch["target"])
        acq = self.rt.to_device(batch["acquisition_time"])
        if not (noise and self.net.has_noise):
            base = self.net_ddp(pre, acq)
            return {"loss": weighted_error(base.float(), pre.float(), post.float(), self.weight)}
        base, log_sd = self.net_ddp(pre, acq, with_noise=True)
        return {
            "loss": weighted_error(base.float(), pre.float(), post.float(), self.weight),
            "noise_level": noise_level_error(post.float(), log_sd.float()),
        }

    def train_step(self, batch: Batch, epoch: int) -> dict[str, torch.Tensor]:
        losses = self._losses(batch, noise=True)
        total = losses["loss"] + losses["noise_level"] if "noise_level" in losses else losses["loss"]
        self.steppers["mean"].step(total)  # separate networks: each term moves only its own
        return {k: v.detach() for k, v in losses.items()}

    def val_step(self, batch: Batch) -> torch.Tensor:
        return self._losses(batch, noise=False)["loss"].detach()

    def best_payload(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return module_tensors("mean", self.net), {}
