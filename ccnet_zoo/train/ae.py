"""Stage 1: AutoencoderKL with L1 + KL + least-squares patch-adversarial loss (perceptual loss optional).

The adversarial terms start at ``adv_start_epoch``. The perceptual loss needs pretrained LPIPS networks,
which cannot be downloaded here; ``perceptual.enabled: true`` uses MONAI's ``PerceptualLoss`` when its
weights are already cached on the machine.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ccnet_zoo.models.autoencoder import MonaiAutoencoder, build_discriminator, kl_loss
from ccnet_zoo.models.checkpoint import module_tensors
from ccnet_zoo.models.config import CCNetConfig, or_default
from ccnet_zoo.models.errors import ConfigError
from ccnet_zoo.models.monai_light import light_monai
from ccnet_zoo.train.loop import Batch, Stage
from ccnet_zoo.train.runtime import Runtime, Stepper, adamw, compile_module


class AutoencoderStage(Stage):
    """Trains the autoencoder (generator) and a patch discriminator."""

    name = "ae"

    def __init__(self, cfg: CCNetConfig, runtime: Runtime) -> None:
        light_monai()
        from monai.losses import PatchAdversarialLoss

        if cfg.autoencoder.kind != "monai":
            raise ConfigError(
                "stage1.kind 'sd' uses the pretrained SD VAE, which CC-Net does not train; "
                "skip 'train ae' and pass --pretrained to the ldm stage"
            )
        tc = cfg.train["ae"]
        self.rt = runtime
        self.autoencoder = runtime.place(MonaiAutoencoder(cfg.autoencoder.params or {}, cfg.autoencoder.scale_factor))
        self.disc = runtime.place(build_discriminator(cfg.discriminator.params))
        self.autoencoder_ddp = compile_module(runtime.wrap(self.autoencoder), or_default(tc.compile, False))
        self.disc_ddp = runtime.wrap(self.disc)
        # "codec": the autoencoder's tensor prefix in checkpoint files (a format; resumes of older runs need it)
        self.trainable = {"codec": self.autoencoder, "disc": self.disc}
        wd = or_default(tc.weight_decay, 0.01)
        clip = tc.clip_grad_value
        dev = runtime.device
        self.steppers = {
            "g": Stepper(adamw(self.autoencoder.parameters(), tc.lr, wd, dev), clip, runtime.scale_loss),
            "d": Stepper(
                adamw(self.disc.parameters(), or_default(tc.disc_lr, tc.lr), wd, dev), clip, runtime.scale_loss
            ),
        }
        self.kl_weight = float(or_default(tc.kl_weight, 1e-8))
        self.adv_weight = float(or_default(tc.adv_weight, 0.005))
        self.adv_start = int(or_default(tc.adv_start_epoch, 0))
        self.adv = PatchAdversarialLoss(criterion="least_squares")
        self.perceptual = None
        if cfg.perceptual.enabled and or_default(tc.perceptual_weight, 0) > 0:
            light_monai()
            from monai.losses import PerceptualLoss

            net = or_default(cfg.perceptual.network_type, "squeeze")
            self.perceptual = PerceptualLoss(spatial_dims=2, network_type=net).to(runtime.device)
            self.perceptual_weight = float(tc.perceptual_weight)
        self.cfg = cfg

    def _recon_loss(self, x: torch.Tensor, recon: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> dict:
        out = {"l1": F.l1_loss(recon.float(), x.float()), "kl": kl_loss(mu.float(), sigma.float())}
        if self.perceptual is not None:
            out["perceptual"] = self.perceptual(recon.float(), x.float())
        return out

    def train_step(self, batch: Batch, epoch: int) -> dict[str, torch.Tensor]:
        x = self.rt.to_device(batch["image"])
        adversarial = epoch >= self.adv_start and self.adv_weight > 0
        with self.rt.autocast():
            recon, mu, sigma = self.autoencoder_ddp(x)
            parts = self._recon_loss(x, recon, mu, sigma)
            loss_g = parts["l1"] + self.kl_weight * parts["kl"]
            if self.perceptual is not None:
                loss_g = loss_g + self.perceptual_weight * parts["perceptual"]
            if adversarial:
                self.disc.requires_grad_(False)
                logits = self.disc(recon.contiguous().float())[-1]
                parts["adv_g"] = self.adv(logits, target_is_real=True, for_discriminator=False)
                loss_g = loss_g + self.adv_weight * parts["adv_g"]
                self.disc.requires_grad_(True)
        self.steppers["g"].step(loss_g)
        logs = {k: v.detach() for k, v in parts.items()}  # tensors: no host sync per step
        logs["loss"] = loss_g.detach()
        if adversarial:
            with self.rt.autocast():
                logits = self.disc_ddp(torch.cat([recon.detach().float(), x.float()]).contiguous())[-1]
                fake, real = logits.chunk(2)
                loss_d = (
                    self.adv_weight
                    * 0.5
                    * (
                        self.adv(fake, target_is_real=False, for_discriminator=True)
                        + self.adv(real, target_is_real=True, for_discriminator=True)
                    )
                )
            self.steppers["d"].step(loss_d)
            logs["disc"] = loss_d.detach()
        return logs

    def val_step(self, batch: Batch) -> torch.Tensor:
        x = self.rt.to_device(batch["image"])
        with self.rt.autocast():
            recon, _mu, _sigma = self.autoencoder(x)
        return F.l1_loss(recon.float(), x.float()).detach()

    def best_payload(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return module_tensors("codec", self.autoencoder), {}
