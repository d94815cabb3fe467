"""``CCNetPipeline``: pre-contrast image + acquisition time (+ prompt) -> synthetic post-contrast image.

>>> # pipe = CCNetPipeline.from_run("runs/controlnet")                          # doctest: +SKIP
>>> # images = pipe(pre, torch.tensor([[207.0]]), ["..."], steps=200, seed=42)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ccnet_zoo.models.autoencoder import LatentCodec
from ccnet_zoo.models.controlnet import Controller
from ccnet_zoo.models.errors import ModelError
from ccnet_zoo.models.schedulers import build_ddim
from ccnet_zoo.models.text import TextEncoder
from ccnet_zoo.models.unet import Denoiser
from ccnet_zoo.sample.ddim import ddim_sample

FROM_CONFIG: Any = "from-config"  # default of the sampling options: take the config's ``sample`` value


def item_noise(shape: Sequence[int], seed: int, keys: Sequence[int]) -> torch.Tensor:
    """One noise tensor per item, drawn from ``(seed, key)``: results do not depend on the batching."""
    out = []
    for key in keys:
        g = torch.Generator().manual_seed(int(np.random.SeedSequence([int(seed), int(key)]).generate_state(1)[0]))
        out.append(torch.randn(tuple(shape), generator=g))
    return torch.stack(out)


class CCNetPipeline:
    """The trained codec, UNet, ControlNet and text encoder, with the config's scheduler."""

    def __init__(self, codec: LatentCodec, unet: Denoiser, controlnet: Controller, text: TextEncoder,
                 config: Mapping[str, Any], device: str | torch.device = "cpu") -> None:  # fmt: skip
        self.device = torch.device(device)
        self.codec, self.unet = codec.to(self.device).eval(), unet.to(self.device).eval()
        self.controlnet, self.text = controlnet.to(self.device).eval(), text.to(self.device).eval()
        self.config = dict(config)
        self.image_size = int(config["image_size"])

    @classmethod
    def from_run(cls, controlnet_run: str | Path, device: str | torch.device = "cpu", **paths: Any) -> CCNetPipeline:
        """From a ControlNet run (its metadata names the AE and LDM runs; ``ae=``, ``ldm=``, ``pretrained=``
        override them)."""
        from ccnet_zoo.models.loading import load_controlnet

        parts = load_controlnet(controlnet_run, **paths)
        return cls(parts["codec"], parts["unet"], parts["controlnet"], parts["text"], parts["config"], device)

    def latent_shape(self) -> tuple[int, int, int]:
        f = self.codec.downsample
        return (self.codec.latent_channels, self.image_size // f, self.image_size // f)

    @torch.no_grad()
    def __call__(self, pre: torch.Tensor, acq_time: torch.Tensor, prompts: Sequence[str] | None = None, *,
                 steps: int | None = None, guidance_scale: float | None = FROM_CONFIG,
                 conditioning_scale: float | None = None,
                 seed: int = 42, keys: Sequence[int] | None = None) -> torch.Tensor:  # fmt: skip
        """(B, 1, S, S) pre-contrast in [-1, 1] and (B, 1) seconds -> (B, 1, S, S) synthetic images in [-1, 1].

        ``keys`` (default 0..B-1) pick each item's noise, so item k gets the same image in any batch.
        Defaults come from the config's ``sample`` section; ``guidance_scale=None`` = the text branch only.
        """
        s = self.config["sample"]
        steps = int(steps if steps is not None else s["steps"])
        gs = s["guidance_scale"] if guidance_scale is FROM_CONFIG else guidance_scale
        cs = float(conditioning_scale if conditioning_scale is not None else s["conditioning_scale"])
        b = pre.shape[0]
        if pre.shape[1:] != (1, self.image_size, self.image_size):
            raise ModelError(f"pre-contrast images must be (B, 1, {self.image_size}, {self.image_size}), "
                             f"got {tuple(pre.shape)}")  # fmt: skip
        prompts = list(prompts) if prompts is not None else [""] * b
        keys = list(keys) if keys is not None else list(range(b))
        noise = item_noise(self.latent_shape(), seed, keys).to(self.device)
        text_ctx = self.text.encode(prompts)
        empty_ctx = self.text.encode([""] * b)
        scheduler = build_ddim(self.config["scheduler"], steps)
        z = ddim_sample(self.unet, self.controlnet, scheduler, noise, pre.to(self.device),
                        acq_time.reshape(b, 1).float().to(self.device), text_ctx, empty_ctx, gs, cs)  # fmt: skip
        return self.codec.decode(z).clamp(-1, 1).cpu()


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[-1, 1] -> uint8 as CC-Net: ``rint((clip(x, -1, 1) + 1) / 2 * 255)``; (B, 1, H, W) -> (B, H, W)."""
    x = ((images.clamp(-1, 1) + 1) / 2 * 255).numpy()
    return np.rint(x[:, 0]).astype(np.uint8)
