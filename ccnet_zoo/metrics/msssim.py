"""MS-SSIM per pair: MONAI's :class:`monai.metrics.MultiScaleSSIMMetric` arithmetic in float64 (``data_range=255``).

Wang, Simoncelli & Bovik (2003): contrast-structure terms at scales 1..M-1 and the full SSIM at scale M, each
scale halved by a 2x2 average pool, combined with the exponents (0.0448, 0.2856, 0.3001, 0.2363, 0.1333). Five
scales need images larger than 160 px (11 px window); smaller images (the 64 px phantom) use the first M scales
that fit, with those exponents renormalised to sum to 1 — :func:`scale_weights` says which, and the report's
details record it. MONAI casts to float32 (see :mod:`ccnet_zoo.metrics.ssim`), so :func:`msssim` runs MONAI's
``compute_ms_ssim`` steps (valid-region SSIM/CS maps, their means clipped at 0 by ReLU, 2x2 average pooling, the
product of powers) on :func:`~ccnet_zoo.metrics.ssim.ssim_and_cs` in float64. scikit-image has no MS-SSIM: the
test checks it against a float64 composition written on scikit-image's SSIM conventions to 1e-6, and against
MONAI's class to float32 round-off. Higher is better.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from numpy.typing import NDArray

from ccnet_zoo.metrics.errors import MetricsError
from ccnet_zoo.metrics.images import pair_arrays
from ccnet_zoo.metrics.pairing import Pair
from ccnet_zoo.metrics.registry import MetricContext
from ccnet_zoo.metrics.result import MetricResult, per_pair_result
from ccnet_zoo.metrics.ssim import WINDOW, as_tensor, ssim_and_cs

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def scale_weights(shape: tuple[int, ...], window: int = WINDOW) -> tuple[float, ...]:
    """The exponents for ``shape``: all five published ones, or the first m that fit renormalised to sum 1."""
    side = min(shape)
    for m in range(len(WEIGHTS), 0, -1):
        # MONAI's own size rule ((m-1)^2 divisor) and a window that still fits the coarsest scale
        if side // max(1, (m - 1)) ** 2 > window - 1 and side // 2 ** (m - 1) >= window:
            if m == len(WEIGHTS):
                return WEIGHTS  # the published exponents as everyone uses them (they sum to 1.0001)
            w = np.array(WEIGHTS[:m], dtype=np.float64)
            return tuple(float(x) for x in w / w.sum())
    raise MetricsError(f"MS-SSIM needs images of at least {window} px, got {tuple(shape)}")


def msssim(real: NDArray[np.uint8], synth: NDArray[np.uint8]) -> float:
    """MS-SSIM of one same-size uint8 pair (MONAI's definition in float64, data range 255, :func:`scale_weights`)."""
    if real.shape != synth.shape:
        raise MetricsError(f"MS-SSIM needs images of one size, got {real.shape} and {synth.shape}")
    weights = scale_weights(real.shape)
    x, y = as_tensor(synth), as_tensor(real)
    terms = []
    for j in range(len(weights)):
        s, cs = ssim_and_cs(x, y)
        # contrast-structure at scales 1..M-1, the full SSIM at scale M; negative means clipped (MONAI's ReLU)
        terms.append(max(float((s if j == len(weights) - 1 else cs).mean().item()), 0.0))
        x, y = torch.nn.functional.avg_pool2d(x, 2), torch.nn.functional.avg_pool2d(y, 2)
    return float(np.prod(np.asarray(terms) ** np.asarray(weights, dtype=np.float64)))


def msssim_pairs(pairs: Sequence[Pair]) -> NDArray[np.float64]:
    """One MS-SSIM per pair, in the order of ``pairs``."""
    return np.array([msssim(r, s) for r, s in pair_arrays(pairs)], dtype=np.float64)


def compute(pairs: Sequence[Pair], ctx: MetricContext) -> MetricResult:
    """The registry's entry point: MS-SSIM per pair, mean ± std; ``details["weights"]`` the exponents used."""
    from ccnet_zoo.metrics.images import read_grey

    result = per_pair_result(
        "msssim", msssim_pairs(pairs), "MONAI MultiScaleSSIMMetric's arithmetic in float64, data range 255"
    )
    result.details["weights"] = list(scale_weights(read_grey(pairs[0].synth).shape))
    return result
