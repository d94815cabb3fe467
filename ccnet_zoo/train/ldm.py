"""Stage 2: the latent diffusion UNet on post-contrast latents, conditioned on text and acquisition time."""

from __future__ import annotations

from typing import Any

import torch

from ccnet_zoo.models.autoencoder import Autoencoder
from ccnet_zoo.models.checkpoint import module_tensors
from ccnet_zoo.models.config import CCNetConfig, or_default
from ccnet_zoo.models.text import TextEncoder
from ccnet_zoo.models.unet import Denoiser
from ccnet_zoo.train.diffusion import DiffusionObjective, drop_prompts
from ccnet_zoo.train.ema import averages
from ccnet_zoo.train.loop import Batch, Stage
from ccnet_zoo.train.runtime import Runtime, Stepper, adamw, compile_module


class LDMStage(Stage):
    """v-prediction MSE of ``unet`` (and of a trainable text encoder) on latents of the targets."""

    name = "ldm"

    def __init__(
        self,
        cfg: CCNetConfig,
        runtime: Runtime,
        autoencoder: Autoencoder,
        unet: Denoiser,
        text: TextEncoder,
        mean: torch.nn.Module | None = None,
    ) -> None:
        tc = cfg.train["ldm"]
        self.rt = runtime
        self.unet, self.text = runtime.place(unet), text.to(runtime.device)
        self.unet_ddp = compile_module(runtime.wrap(self.unet), or_default(tc.compile, False))
        self.trainable: dict[str, torch.nn.Module] = {"unet": self.unet}
        params = list(self.unet.parameters())
        if text.trainable:
            self.trainable["text"] = self.text
            params += list(self.text.parameters())
        else:
            self.text.eval()
        text_forward = runtime.wrap(self.text) if text.trainable else self.text
        self.objective = DiffusionObjective(
            cfg,
            runtime.place(autoencoder),
            self.text,
            runtime,
            text_forward,
            tc.enhancement_weight,
            runtime.place(mean) if mean is not None else None,
        )
        opt = adamw(params, tc.lr, or_default(tc.weight_decay, 0.01), runtime.device)
        self.steppers = {"unet": Stepper(opt, tc.clip_grad_value, runtime.scale_loss)}
        self.emas = averages(self.unet, "unet", tc.ema_decay)
        self.text_dropout = float(or_default(tc.text_dropout, 0.1))

    def _loss(self, batch: Batch, dropout: float) -> torch.Tensor:
        batch = self.objective.prepare(batch)  # residual: the sources become mean(pre, t)
        z = self.objective.diffused(batch)
        acq = self.rt.to_device(batch["acquisition_time"])
        prompts = drop_prompts(list(batch["report"]), dropout)
        with self.rt.autocast():
            ctx = self.objective.context(prompts)
            zt, t, target = self.objective.noised(z)
            pred = self.unet_ddp(zt, t, ctx, acq)
        weights = self.objective.weights(batch["source"], batch["target"], z.shape[-1])
        return self.objective.loss(pred, target, weights)

    def train_step(self, batch: Batch, epoch: int) -> dict[str, torch.Tensor]:
        loss = self._loss(batch, self.text_dropout)
        self.steppers["unet"].step(loss)
        return {"loss": loss.detach()}  # a tensor: the Trainer syncs at log intervals only

    def val_step(self, batch: Batch) -> torch.Tensor:
        return self._loss(batch, 0.0).detach()

    def best_payload(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors = module_tensors("unet", self.unet)
        if self.text.metadata().get("kind") == "builtin" or self.text.trainable:
            tensors.update(module_tensors("text", self.text))
        return tensors, {"text": self.text.metadata()}
