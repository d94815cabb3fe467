"""Stage 3: the ControlNet on the pre-contrast image, initialised from the trained UNet, UNet frozen."""

from __future__ import annotations

from typing import Any

import torch

from ccnet_zoo.models.autoencoder import Autoencoder
from ccnet_zoo.models.checkpoint import module_tensors
from ccnet_zoo.models.config import CCNetConfig, or_default
from ccnet_zoo.models.controlnet import Controller
from ccnet_zoo.models.text import TextEncoder
from ccnet_zoo.models.unet import Denoiser
from ccnet_zoo.train.diffusion import DiffusionObjective, drop_prompts
from ccnet_zoo.train.ema import averages
from ccnet_zoo.train.loop import Batch, Stage
from ccnet_zoo.train.runtime import Runtime, Stepper, adamw, compile_module


class ControlNetStage(Stage):
    """v-prediction MSE of the frozen UNet plus ControlNet residuals (``conditioning_scale``)."""

    name = "controlnet"

    def __init__(
        self,
        cfg: CCNetConfig,
        runtime: Runtime,
        autoencoder: Autoencoder,
        unet: Denoiser,
        text: TextEncoder,
        controlnet: Controller,
        mean: torch.nn.Module | None = None,
    ) -> None:
        tc = cfg.train["controlnet"]
        self.rt = runtime
        self.unet, self.text = runtime.place(unet), text.to(runtime.device)
        self.controlnet = runtime.place(controlnet)
        for frozen in (self.unet, self.text):
            frozen.requires_grad_(False)
            frozen.eval()
        self.text.trainable = False
        self.objective = DiffusionObjective(
            cfg,
            runtime.place(autoencoder),
            self.text,
            runtime,
            enhancement_weight=tc.enhancement_weight,
            mean=runtime.place(mean) if mean is not None else None,
        )
        self.cn_ddp = compile_module(runtime.wrap(self.controlnet), or_default(tc.compile, False))
        self.trainable = {"controlnet": self.controlnet}
        opt = adamw(self.controlnet.parameters(), tc.lr, or_default(tc.weight_decay, 0.01), runtime.device)
        self.steppers = {"controlnet": Stepper(opt, tc.clip_grad_value, runtime.scale_loss)}
        self.emas = averages(self.controlnet, "controlnet", tc.ema_decay)
        self.text_dropout = float(or_default(tc.text_dropout, 0.1))
        self.scale = float(or_default(tc.conditioning_scale, 1.0))

    def _loss(self, batch: Batch, dropout: float) -> torch.Tensor:
        batch = self.objective.prepare(batch)  # residual: the sources become mean(pre, t)
        z = self.objective.diffused(batch)
        cond = self.rt.to_device(batch["source"])
        acq = self.rt.to_device(batch["acquisition_time"])
        prompts = drop_prompts(list(batch["report"]), dropout)
        with self.rt.autocast():
            ctx = self.objective.context(prompts)
            zt, t, target = self.objective.noised(z)
            down, mid = self.cn_ddp(zt, t, cond, ctx, acq, self.scale)
            pred = self.unet(zt, t, ctx, acq, down, mid)
        weights = self.objective.weights(batch["source"], batch["target"], z.shape[-1])
        return self.objective.loss(pred, target, weights)

    def train_step(self, batch: Batch, epoch: int) -> dict[str, torch.Tensor]:
        loss = self._loss(batch, self.text_dropout)
        self.steppers["controlnet"].step(loss)
        return {"loss": loss.detach()}  # a tensor: the Trainer syncs at log intervals only

    def val_step(self, batch: Batch) -> torch.Tensor:
        return self._loss(batch, 0.0).detach()

    def best_payload(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return module_tensors("controlnet", self.controlnet), {}

    def set_train(self, mode: bool) -> None:
        self.controlnet.train(mode)
