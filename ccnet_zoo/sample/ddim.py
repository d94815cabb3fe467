"""The DDIM sampling loop of CC-Net (ccnet ``run_controlnet_inference.py``), batched.

Classifier-free guidance: ``guidance_scale=0`` uses the unconditional (empty-prompt) branch only (the
paper's evaluated setting), ``None`` the text branch only, otherwise ``uncond + g * (text - uncond)``.
"""

from __future__ import annotations

import torch

from ccnet_zoo.models.controlnet import Controller
from ccnet_zoo.models.errors import ModelError
from ccnet_zoo.models.unet import Denoiser


def _predict(
    unet: Denoiser,
    controlnet: Controller,
    z: torch.Tensor,
    t: torch.Tensor,
    cond: torch.Tensor,
    ctx: torch.Tensor,
    acq: torch.Tensor,
    scale: float,
) -> torch.Tensor:
    down, mid = controlnet(z, t, cond, ctx, acq, scale)
    return unet(z, t, ctx, acq, down, mid)


def partial_timesteps(timesteps: torch.Tensor, strength: float) -> torch.Tensor:
    """The last ``round(strength * len(timesteps))`` (at least one) of the descending ``timesteps``."""
    if not 0 < strength <= 1:
        raise ModelError(f"strength must be within (0, 1], got {strength}")
    n = max(1, min(len(timesteps), round(strength * len(timesteps))))
    return timesteps[len(timesteps) - n :]


@torch.no_grad()
def ddim_sample(
    unet: Denoiser,
    controlnet: Controller,
    scheduler,
    noise: torch.Tensor,
    cond: torch.Tensor,
    acq: torch.Tensor,
    text_ctx: torch.Tensor,
    empty_ctx: torch.Tensor,
    guidance_scale: float | None = 0.0,
    conditioning_scale: float = 1.0,
    start: torch.Tensor | None = None,
    strength: float = 1.0,
    eta: float = 0.0,
    step_noise: torch.Tensor | None = None,
) -> torch.Tensor:
    """Denoise ``noise`` (B, C, h, w) over ``scheduler.timesteps``; returns the final latents.

    ``strength`` < 1 (with ``start``, e.g. the pre-contrast image's latents) is SDEdit-style partial diffusion:
    only the last ``round(strength * steps)`` steps run, from ``start`` noised to the first of them by
    q(z_t | start); ``strength = 1`` starts from pure ``noise`` over all steps (the paper).
    ``eta`` > 0 adds fresh noise at every step (DDIM's eta: 0 deterministic, the paper; 1 the DDPM posterior's
    variance), step k taking ``step_noise[:, k]`` ((B, steps, C, h, w), drawn per item by the caller).
    """
    timesteps = partial_timesteps(scheduler.timesteps, strength)
    b = noise.shape[0]
    if strength < 1:
        if start is None:
            raise ModelError("strength < 1 needs the latents to start from")
        t0 = torch.full((b,), int(timesteps[0]), device=noise.device, dtype=torch.long)
        z = scheduler.add_noise(original_samples=start.to(noise.dtype), noise=noise, timesteps=t0)
    else:
        z = noise
    for k, step in enumerate(timesteps):
        t = torch.full((b,), int(step), device=z.device, dtype=torch.long)
        if guidance_scale is None or guidance_scale == 0:
            ctx = text_ctx if guidance_scale is None else empty_ctx
            pred = _predict(unet, controlnet, z, t, cond, ctx, acq, conditioning_scale)
        else:
            both = _predict(
                unet,
                controlnet,
                torch.cat([z, z]),
                torch.cat([t, t]),
                torch.cat([cond, cond]),
                torch.cat([empty_ctx, text_ctx]),
                torch.cat([acq, acq]),
                conditioning_scale,
            )
            uncond, text = both.chunk(2)
            pred = uncond + guidance_scale * (text - uncond)
        if eta > 0:
            if step_noise is None:
                raise ModelError("eta > 0 needs the noise of every step")
            z = ddim_step(scheduler, pred, int(step), z, eta, step_noise[:, k].to(z))
        else:
            z, _ = scheduler.step(pred, int(step), z)
    return z


def ddim_step(
    scheduler, pred: torch.Tensor, step: int, z: torch.Tensor, eta: float, noise: torch.Tensor
) -> torch.Tensor:
    """One DDIM step with ``eta`` (formulas 12 and 16 of Song et al. 2021, as MONAI's ``DDIMScheduler.step``),
    taking the step's noise from the caller so that each item's draw does not depend on the batch."""
    _, x0 = scheduler.step(pred, step, z)  # the predicted clean latents (the deterministic step is discarded)
    prev = step - scheduler.num_train_timesteps // scheduler.num_inference_steps
    alphas = scheduler.alphas_cumprod.to(z)
    a_t = alphas[step]
    a_prev = alphas[prev] if prev >= 0 else scheduler.final_alpha_cumprod.to(z)
    eps = (z - a_t.sqrt() * x0) / (1 - a_t).sqrt()
    std = eta * ((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)).sqrt()
    return a_prev.sqrt() * x0 + (1 - a_prev - std**2).clamp_min(0).sqrt() * eps + std * noise
