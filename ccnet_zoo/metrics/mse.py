"""MSE per paired image, mean ± std over pairs.

Corrected (default): float64 on intensities scaled to [0, 1] (``uint8 / 255``), real resized to the synthetic
size when they differ. ``paper_quirks``: the reference's uint8 computation (see :mod:`ccnet_zoo.metrics.quirks`),
on the 0..255 scale with wrap-around.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from ccnet_zoo.metrics.images import load_pair
from ccnet_zoo.metrics.pairing import Pair
from ccnet_zoo.metrics.quirks import mse_uint8, paper_image
from ccnet_zoo.metrics.registry import MetricContext
from ccnet_zoo.metrics.result import MetricResult, per_pair_result


def mse_corrected(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> float:
    """Mean squared difference of two same-size uint8 images on the [0, 1] scale, in float64."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    d = a.astype(np.float64) / 255.0 - b.astype(np.float64) / 255.0
    return float(np.mean(d * d))


def mse_pairs(pairs: Sequence[Pair], *, paper_quirks: bool = False) -> NDArray[np.float64]:
    """One MSE per pair (real vs synthetic), in the order of ``pairs``."""
    out = np.empty(len(pairs), dtype=np.float64)
    for i, p in enumerate(pairs):
        if paper_quirks:
            out[i] = mse_uint8(paper_image(p.real), paper_image(p.synth))
        else:
            out[i] = mse_corrected(*load_pair(p.real, p.synth))
    return out


def compute(pairs: Sequence[Pair], ctx: MetricContext) -> MetricResult:
    """The registry's entry point: MSE per pair, mean ± std."""
    unit = "uint8 0..255 with wrap-around (paper quirks)" if ctx.paper_quirks else "intensities in [0, 1]"
    return per_pair_result("mse", mse_pairs(pairs, paper_quirks=ctx.paper_quirks), unit)
