"""The DDIM sampling loop of CC-Net (ccnet ``run_controlnet_inference.py``), batched.

Classifier-free guidance: ``guidance_scale=0`` uses the unconditional (empty-prompt) branch only (the
paper's evaluated setting), ``None`` the text branch only, otherwise ``uncond + g * (text - uncond)``.
"""

from __future__ import annotations

import torch

from ccnet_zoo.models.controlnet import Controller
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
) -> torch.Tensor:
    """Denoise ``noise`` (B, C, h, w) over ``scheduler.timesteps``; returns the final latents."""
    z = noise
    b = z.shape[0]
    for step in scheduler.timesteps:
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
        z, _ = scheduler.step(pred, int(step), z)
    return z
