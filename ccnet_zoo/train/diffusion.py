"""What the LDM and ControlNet stages share: frozen stage-1 encoding, prompt dropout, the v-prediction loss.

``train.<stage>.enhancement_weight: w`` (absent or 0: the paper's plain MSE) weights each latent pixel's squared
error by ``1 + w * m``, ``m`` the mean of ``|post - pre| / 2`` (images in [-1, 1]) over the pixels the latent
pixel covers, normalised by the batch's mean weight: the few enhancing pixels (lesions) count more than the
unchanged background. It needs no lesion mask, so it applies to Duke as to the phantom.

``ldm.target: change`` diffuses the change latents ``(z_post - z_pre) * ldm.change_scale`` instead of ``z_post``
(the paper), ``z_pre`` the pre-contrast image's posterior mean as at sampling (:meth:`DiffusionObjective.diffused`).
``ldm.target: residual`` does the same around ``base = mean(pre, t)`` (the frozen ``mean`` stage): each batch's
source is replaced by its base (:meth:`DiffusionObjective.prepare`), which the ControlNet is then conditioned on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from ccnet_zoo.models.autoencoder import Autoencoder
from ccnet_zoo.models.config import CCNetConfig, or_default
from ccnet_zoo.models.errors import ModelError
from ccnet_zoo.models.schedulers import build_ddpm
from ccnet_zoo.models.text import TextEncoder
from ccnet_zoo.train.runtime import Runtime


def drop_prompts(prompts: Sequence[str], p: float) -> list[str]:
    """Replace each prompt by the empty prompt with probability ``p`` (torch's global RNG)."""
    if p <= 0:
        return list(prompts)
    keep = torch.rand(len(prompts)) >= p
    return [s if k else "" for s, k in zip(prompts, keep.tolist(), strict=True)]


class DiffusionObjective:
    """Noise latents at random timesteps and compute the scheduler's target (v for CC-Net)."""

    def __init__(
        self,
        cfg: CCNetConfig,
        autoencoder: Autoencoder,
        text: TextEncoder,
        runtime: Runtime,
        text_forward: torch.nn.Module | None = None,
        enhancement_weight: float | None = None,
        mean: torch.nn.Module | None = None,
    ) -> None:
        self.ddpm = build_ddpm(cfg.scheduler)
        self.enhancement_weight = float(enhancement_weight or 0.0)
        if self.enhancement_weight < 0:
            raise ModelError(f"train.<stage>.enhancement_weight must be >= 0, got {self.enhancement_weight}")
        self.autoencoder, self.text, self.rt = autoencoder, text, runtime
        self.text_forward = text_forward or text  # the DDP wrapper of a trainable encoder
        self.sample_posterior = bool(or_default(cfg.autoencoder.sample_posterior, True))
        self.target = or_default(cfg.ldm.target, "post")
        self.change_scale = float(or_default(cfg.ldm.change_scale, 1.0))
        if (self.target == "residual") != (mean is not None):
            raise ModelError("ldm.target 'residual' needs the trained mean network (and only it takes one)")
        self.mean = mean.requires_grad_(False).eval() if mean is not None else None
        autoencoder.requires_grad_(False)
        autoencoder.eval()
        self.cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}  # image path -> posterior (mu, sigma)

    @torch.no_grad()
    def bases(self, pre: torch.Tensor, acq_time: torch.Tensor) -> torch.Tensor:
        """``mean(pre, t)`` clamped to the images' range [-1, 1], as sampling computes it."""
        assert self.mean is not None
        return self.mean(self.rt.to_device(pre).float(), self.rt.to_device(acq_time).float()).clamp(-1, 1)

    def prepare(self, batch: Mapping[str, Any]) -> Mapping[str, Any]:
        """The batch the stage trains on: as given, or with ``residual`` each source replaced by its base (under
        the key ``base:<target path>``, so cached latents of one pair's base are never another's)."""
        if self.mean is None:
            return batch
        keys = [f"base:{p}" for p in batch["target_path"]] if "target_path" in batch else None
        return {**batch, "source": self.bases(batch["source"], batch["acquisition_time"]), "source_path": keys}

    @torch.no_grad()
    def cache_posteriors(self, paths: Sequence[str], images: Callable[[str], torch.Tensor], batch: int = 32) -> None:
        """Encode every image of ``paths`` once (the frozen encoder's posterior mean and std, in a fixed order and
        batching, so that every run and every rank gets the same numbers): later steps reuse them for targets
        that no augmentation changed (most of them), instead of running the encoder again."""
        if not hasattr(self.autoencoder, "posterior"):  # e.g. the SD-2.1 VAE: encoded every step
            return
        todo = sorted(set(paths) - set(self.cache))
        for start in range(0, len(todo), batch):
            chunk = todo[start : start + batch]
            mu, sigma = self.autoencoder.posterior(self.rt.to_device(torch.stack([images(p) for p in chunk])))
            for p, m, s in zip(chunk, mu, sigma, strict=True):
                self.cache[p] = (m, s)

    @torch.no_grad()
    def latents(
        self,
        x: torch.Tensor,
        paths: Sequence[str] | None = None,
        augmented: Sequence[bool] | torch.Tensor | None = None,
        sample: bool | None = None,
    ) -> torch.Tensor:
        """Scaled latents of the images ``x``; rows whose ``paths`` entry is cached and not ``augmented`` take the
        cached posterior. The posterior sample (``sample``, default ``stage1.sample_posterior``; False: the
        posterior mean) draws the same random numbers either way."""
        sample = self.sample_posterior if sample is None else sample
        if not self.cache or paths is None:
            return self.autoencoder.encode(self.rt.to_device(x), sample=sample).float()
        aug = augmented.tolist() if isinstance(augmented, torch.Tensor) else list(augmented or [True] * len(paths))
        fresh = [i for i, (p, a) in enumerate(zip(paths, aug, strict=True)) if a or p not in self.cache]
        post: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        if fresh:
            mu, sigma = self.autoencoder.posterior(self.rt.to_device(x[fresh]))
            post.update({i: (m, s) for i, m, s in zip(fresh, mu, sigma, strict=True)})
        parts = [post[i] if i in post else self.cache[p] for i, p in enumerate(paths)]
        mu, sigma = torch.stack([m for m, _ in parts]), torch.stack([s for _, s in parts])
        return self.autoencoder.latents_from(mu, sigma, sample).float()

    def diffused(self, batch: Mapping[str, Any]) -> torch.Tensor:
        """The latents the stage learns to generate: the target's (``ldm.target: post``) or the change
        ``(z_post - z_pre) * change_scale`` (``change``; ``residual`` after :meth:`prepare`, z_pre is the base's)
        of the posterior means: a posterior sample would add the encoder's noise, which in the channels the
        decoder hardly uses is most of the variance."""
        if self.target == "post":
            return self.latents(batch["target"], batch.get("target_path"), batch.get("augmented"))
        z = self.latents(batch["target"], batch.get("target_path"), batch.get("augmented"), sample=False)
        # the source's posterior mean, as sampling starts from it (cached rows that no augmentation changed)
        z0 = self.latents(batch["source"], batch.get("source_path"), batch.get("augmented"), sample=False)
        return (z - z0) * self.change_scale

    def context(self, prompts: Sequence[str]) -> torch.Tensor:
        ids = self.text.tokenize(prompts).to(self.rt.device)
        if self.text.trainable:
            return self.text_forward(ids)
        with torch.no_grad():
            return self.text(ids)

    def noised(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(noisy latents, timesteps, target)."""
        # drawn on the CPU (same numbers on every device for a seed), copied without a host sync
        noise = torch.randn(z.shape).to(z.device, non_blocking=True)
        t = torch.randint(0, self.ddpm.num_train_timesteps, (z.shape[0],)).to(z.device, non_blocking=True)
        zt = self.ddpm.add_noise(original_samples=z, noise=noise, timesteps=t)
        if self.ddpm.prediction_type == "v_prediction":
            target = self.ddpm.get_velocity(z, noise, t)
        elif self.ddpm.prediction_type == "epsilon":
            target = noise
        else:
            target = z
        return zt, t, target

    def weights(self, source: torch.Tensor, target: torch.Tensor, latent_size: int) -> torch.Tensor | None:
        """(B, 1, h, w) loss weights ``1 + w * m`` from the images' change (module docstring); None when off."""
        if self.enhancement_weight <= 0:
            return None
        change = (target.float() - source.float()).abs() / 2  # images in [-1, 1]: change in [0, 1]
        factor = change.shape[-1] // latent_size
        if factor > 1:
            change = F.avg_pool2d(change, factor)
        return 1.0 + self.enhancement_weight * change

    @staticmethod
    def loss(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """MSE, or with ``weights`` (broadcast over channels) the weighted mean over the batch's weights."""
        if weights is None:
            return F.mse_loss(pred.float(), target.float())
        w = weights.to(pred.device).expand_as(pred)
        return ((pred.float() - target.float()) ** 2 * w).sum() / w.sum()
