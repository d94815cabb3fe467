"""``CCNetPipeline``: pre-contrast image + acquisition time (+ prompt) -> synthetic post-contrast image.

>>> # pipe = CCNetPipeline.from_pretrained("ccnet-tiny-phantom")   # or a run folder, or a bundle file
>>> # images = pipe(pre, torch.tensor([[207.0]]), ["..."], steps=200, seed=42)  # doctest: +SKIP
>>> # pipe.save_pretrained("my-ccnet.safetensors")                 # then: ccnet-zoo weights add NAME --file ...
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeAlias

import numpy as np
import torch

from ccnet_zoo.models.autoencoder import Autoencoder
from ccnet_zoo.models.config import CCNetConfig, as_config, or_default
from ccnet_zoo.models.controlnet import Controller
from ccnet_zoo.models.errors import ModelError
from ccnet_zoo.models.mean import MeanNet, top_up_noise
from ccnet_zoo.models.schedulers import build_ddim
from ccnet_zoo.models.text import TextEncoder
from ccnet_zoo.models.unet import Denoiser
from ccnet_zoo.sample.ddim import ddim_sample

#: Classifier-free guidance: ``"uncond"`` the empty-prompt branch only (the paper's evaluated setting, also
#: ``0.0``), ``"text"`` the prompt branch only, a float ``g`` mixes ``uncond + g * (text - uncond)``.
Guidance: TypeAlias = Literal["uncond", "text"] | float


def guidance_scale_of(guidance: Guidance | None) -> float | None:
    """The DDIM loop's ``guidance_scale`` (``0.0`` = unconditional, ``None`` = text branch) of ``guidance``."""
    if guidance == "uncond":
        return 0.0
    if guidance == "text" or guidance is None:
        return None
    if isinstance(guidance, bool) or not isinstance(guidance, (int, float)):
        raise ModelError(f"guidance must be 'uncond', 'text' or a number, got {guidance!r}")
    return float(guidance)


def config_guidance(config: CCNetConfig) -> Guidance:
    """The config's ``sample.guidance_scale`` as a :data:`Guidance` (``null`` in the YAML is the text branch)."""
    gs = config.sample.guidance_scale
    return "text" if gs is None else float(gs)


def item_noise(shape: Sequence[int], seed: int, keys: Sequence[int], stream: int = 0) -> torch.Tensor:
    """One noise tensor per item, drawn from ``(seed, key)`` (``stream`` > 0: another independent draw, e.g. the
    noise of the sampling steps): results do not depend on the batching."""
    out = []
    for key in keys:
        entropy = [int(seed), int(key)] + ([int(stream)] if stream else [])
        g = torch.Generator().manual_seed(int(np.random.SeedSequence(entropy).generate_state(1)[0]))
        out.append(torch.randn(tuple(shape), generator=g))
    return torch.stack(out)


class CCNetPipeline:
    """The trained autoencoder, UNet, ControlNet and text encoder (and, for ``ldm.target: residual``, the
    conditional-mean network), with the config's scheduler."""

    def __init__(
        self,
        autoencoder: Autoencoder,
        unet: Denoiser,
        controlnet: Controller,
        text: TextEncoder,
        config: CCNetConfig | Mapping[str, Any],
        device: str | torch.device = "cpu",
        mean: MeanNet | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.autoencoder, self.unet = autoencoder.to(self.device).eval(), unet.to(self.device).eval()
        self.controlnet, self.text = controlnet.to(self.device).eval(), text.to(self.device).eval()
        self.config = as_config(config)
        self.image_size = int(self.config.image_size)
        if (or_default(self.config.ldm.target, "post") == "residual") != (mean is not None):
            raise ModelError("ldm.target 'residual' needs the conditional-mean network (and only it takes one)")
        self.mean = mean.to(self.device).eval() if mean is not None else None

    @classmethod
    def from_pretrained(
        cls,
        source: str | Path,
        device: str | torch.device = "cpu",
        *,
        registry: Any = None,
        ae: str | Path | None = None,
        ldm: str | Path | None = None,
        mean: str | Path | None = None,
        pretrained: str | Path | None = None,
    ) -> CCNetPipeline:
        """A trained CC-Net from a registered name, a ControlNet run folder or a bundle file.

        A run's metadata names its AE, LDM and mean runs (``ae=``, ``ldm=``, ``mean=``, ``pretrained=`` override
        them); a name is
        looked up in ``registry`` (default: :meth:`ccnet_zoo.weights.Registry.load`) and never downloaded here.
        A file that is not a bundle raises :class:`~ccnet_zoo.pipeline.loading.NotABundleError`.
        """
        from ccnet_zoo.pipeline.loading import load_components

        parts = load_components(source, registry=registry, pretrained=pretrained, ae=ae, ldm=ldm, mean=mean)
        return cls(
            parts["autoencoder"],
            parts["unet"],
            parts["controlnet"],
            parts["text"],
            parts["config"],
            device,
            mean=parts.get("mean"),
        )

    @classmethod
    def from_run(cls, controlnet_run: str | Path, device: str | torch.device = "cpu", **paths: Any) -> CCNetPipeline:
        """Same as :meth:`from_pretrained` on a run folder (kept for one release)."""
        return cls.from_pretrained(controlnet_run, device, **paths)

    def save_pretrained(self, path: str | Path, *, description: str = "") -> Path:
        """Write this CC-Net as one bundle file (never over an existing file); returns its path.

        Register it with ``ccnet-zoo weights add NAME --file PATH --kind ccnet`` and generate with ``--weights NAME``.
        """
        from ccnet_zoo.pipeline.loading import write_bundle

        parts = {"autoencoder": self.autoencoder, "unet": self.unet, "text": self.text, "controlnet": self.controlnet}
        if self.mean is not None:
            parts["mean"] = self.mean
        return write_bundle(parts, self.config, path, description=description)

    @property
    def codec(self) -> Autoencoder:
        """The former name of :attr:`autoencoder` (kept for one release)."""
        return self.autoencoder

    def latent_shape(self) -> tuple[int, int, int]:
        f = self.autoencoder.downsample
        return (self.autoencoder.latent_channels, self.image_size // f, self.image_size // f)

    @torch.no_grad()
    def __call__(
        self,
        pre: torch.Tensor,
        acq_time: torch.Tensor,
        prompts: Sequence[str] | None = None,
        *,
        steps: int | None = None,
        guidance: Guidance | None = None,
        conditioning_scale: float | None = None,
        strength: float | None = None,
        eta: float | None = None,
        acquisition_noise: bool | None = None,
        seed: int = 42,
        keys: Sequence[int] | None = None,
        **legacy: Any,
    ) -> torch.Tensor:
        """(B, 1, S, S) pre-contrast in [-1, 1] and (B, 1) seconds -> (B, 1, S, S) synthetic images in [-1, 1].

        ``keys`` (default 0..B-1) pick each item's noise, so item k gets the same image in any batch.
        Options left at ``None`` come from the config's ``sample`` section; ``guidance`` is a :data:`Guidance`.
        ``strength`` in (0, 1]: 1 samples from pure noise over all ``steps`` (the paper); below 1 the sampling
        starts from the pre-contrast image's latents (posterior mean) noised to an intermediate timestep and runs
        the last ``round(strength * steps)`` steps (SDEdit), so the model only has to add the enhancement.
        With ``ldm.target: change`` the sampled latents are the change ``(z_post - z_pre) * ldm.change_scale`` and
        the image is ``pre + D(z_pre + change) - D(z_pre)``; with ``residual`` the same around
        ``base = mean(pre, t)`` (clamped to [-1, 1]), on which the ControlNet is then conditioned.
        ``eta`` >= 0: DDIM's noise per step (0 deterministic, the paper; 1 the DDPM posterior's variance), drawn
        per item from ``(seed, key)`` like the initial noise.
        ``acquisition_noise``: with a mean network that has a noise-level head (``mean.noise``), top the result's
        noise level up to the predicted one with fresh white noise (default: ``sample.acquisition_noise``, absent
        = yes); False returns the estimate as the networks give it.
        The former ``guidance_scale=`` keyword (``None`` = text branch) still works for one release.
        """
        s = self.config.sample
        steps = int(steps if steps is not None else s.steps)
        if "guidance_scale" in legacy:
            warnings.warn(
                "guidance_scale= is deprecated; use guidance='uncond' | 'text' | float", FutureWarning, stacklevel=2
            )
            old = legacy.pop("guidance_scale")
            guidance = "text" if old is None else old
        if legacy:
            raise TypeError(f"unexpected keyword argument(s) {', '.join(sorted(legacy))}")
        gs = guidance_scale_of(config_guidance(self.config) if guidance is None else guidance)
        cs = float(conditioning_scale if conditioning_scale is not None else s.conditioning_scale)
        strength = float(strength if strength is not None else or_default(s.strength, 1.0))
        eta = float(eta if eta is not None else or_default(s.eta, 0.0))
        if eta < 0:
            raise ModelError(f"eta must be >= 0, got {eta}")
        b = pre.shape[0]
        if pre.shape[1:] != (1, self.image_size, self.image_size):
            raise ModelError(
                f"pre-contrast images must be (B, 1, {self.image_size}, {self.image_size}), got {tuple(pre.shape)}"
            )
        prompts = list(prompts) if prompts is not None else [""] * b
        keys = list(keys) if keys is not None else list(range(b))
        noise = item_noise(self.latent_shape(), seed, keys).to(self.device)
        text_ctx = self.text.encode(prompts)
        empty_ctx = self.text.encode([""] * b)
        scheduler = build_ddim(self.config.scheduler, steps)
        pre = pre.to(self.device)
        acq = acq_time.reshape(b, 1).float().to(self.device)
        change = or_default(self.config.ldm.target, "post") in ("change", "residual")
        noise_sd = None
        if self.mean is not None:  # residual: the change is sampled around the conditional mean, not the input
            if self.mean.has_noise and or_default(
                acquisition_noise if acquisition_noise is not None else s.acquisition_noise, True
            ):
                noise_sd = self.mean.noise_sd(pre.float(), acq)
            pre = self.mean(pre.float(), acq).clamp(-1, 1)
        z_pre = self.autoencoder.encode(pre, sample=False).float() if strength < 1 or change else None
        # SDEdit starts from the pre-contrast image: its latents, or no change where the change is diffused
        start = (torch.zeros_like(z_pre) if change else z_pre) if strength < 1 else None
        step_noise = (
            item_noise((steps, *self.latent_shape()), seed, keys, stream=1).to(self.device) if eta > 0 else None
        )
        z = ddim_sample(
            self.unet,
            self.controlnet,
            scheduler,
            noise,
            pre,
            acq,
            text_ctx,
            empty_ctx,
            gs,
            cs,
            start=start,
            strength=strength,
            eta=eta,
            step_noise=step_noise,
        )
        if not change:
            return self.autoencoder.decode(z).clamp(-1, 1).cpu()
        # the decoded change added to the input: the pre-contrast image's texture and noise stay as they are
        # (the decoder's reconstruction error of z_pre cancels in the difference)
        z_post = z_pre + z / float(or_default(self.config.ldm.change_scale, 1.0))
        out = pre + self.autoencoder.decode(z_post) - self.autoencoder.decode(z_pre)
        if noise_sd is not None:  # acquisition noise: a fresh white draw per item (stream 2) up to the predicted level
            out = top_up_noise(out, noise_sd, item_noise((1, self.image_size, self.image_size), seed, keys, 2).to(out))
        return out.clamp(-1, 1).cpu()


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[-1, 1] -> uint8 as CC-Net: ``rint((clip(x, -1, 1) + 1) / 2 * 255)``; (B, 1, H, W) -> (B, H, W)."""
    x = ((images.clamp(-1, 1) + 1) / 2 * 255).numpy()
    return np.rint(x[:, 0]).astype(np.uint8)
