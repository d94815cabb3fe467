"""PSNR per pair with MONAI's :class:`monai.metrics.PSNRMetric` (``max_val=255``): 10 log10(255² / MSE) in dB.

Equal to scikit-image's ``peak_signal_noise_ratio(data_range=255)`` (tested to 1e-6). Identical images give
+inf, reported as such (never clipped). Higher is better.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from ccnet_zoo.metrics.images import pair_arrays
from ccnet_zoo.metrics.pairing import Pair
from ccnet_zoo.metrics.registry import MetricContext
from ccnet_zoo.metrics.result import MetricResult, per_pair_result
from ccnet_zoo.metrics.ssim import DATA_RANGE, as_tensor


def psnr(real: NDArray[np.uint8], synth: NDArray[np.uint8]) -> float:
    """PSNR (dB) of one same-size uint8 pair."""
    from monai.metrics import PSNRMetric

    return float(PSNRMetric(max_val=DATA_RANGE)(as_tensor(synth), as_tensor(real)).item())


def psnr_pairs(pairs: Sequence[Pair]) -> NDArray[np.float64]:
    """One PSNR per pair, in the order of ``pairs``."""
    return np.array([psnr(r, s) for r, s in pair_arrays(pairs)], dtype=np.float64)


def compute(pairs: Sequence[Pair], ctx: MetricContext) -> MetricResult:
    """The registry's entry point: PSNR per pair, mean ± std."""
    return per_pair_result("psnr", psnr_pairs(pairs), "MONAI PSNRMetric, max 255, dB")
