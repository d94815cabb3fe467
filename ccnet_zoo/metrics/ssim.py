"""SSIM per pair with MONAI's :class:`monai.metrics.SSIMMetric` on the 0..255 scale (``data_range=255``).

Wang et al. (2004) settings, MONAI's defaults: 11x11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, the mean of
the SSIM map over the valid region (no padding). This is scikit-image's
``structural_similarity(data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``;
``tests/ccnet_zoo/metrics/test_metrics_ssim_psnr.py`` checks the two agree to 1e-6 (MONAI computes in float32).
Images use the corrected size policy of :mod:`ccnet_zoo.metrics.images`; higher is better.
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

DATA_RANGE = 255.0
WINDOW = 11
SIGMA = 1.5


def as_tensor(img: NDArray[np.uint8]) -> torch.Tensor:
    """A (1, 1, H, W) float64 tensor of a grey uint8 image, on the 0..255 scale."""
    return torch.from_numpy(np.asarray(img, dtype=np.float64))[None, None]


def ssim(real: NDArray[np.uint8], synth: NDArray[np.uint8]) -> float:
    """SSIM of one same-size uint8 pair (MONAI, data range 255)."""
    from monai.metrics import SSIMMetric

    if min(real.shape) < WINDOW:
        raise MetricsError(f"SSIM needs images of at least {WINDOW} px, got {real.shape}")
    metric = SSIMMetric(spatial_dims=2, data_range=DATA_RANGE, kernel_sigma=SIGMA, win_size=WINDOW)
    return float(metric(as_tensor(synth), as_tensor(real)).item())


def ssim_pairs(pairs: Sequence[Pair]) -> NDArray[np.float64]:
    """One SSIM per pair, in the order of ``pairs``."""
    return np.array([ssim(r, s) for r, s in pair_arrays(pairs)], dtype=np.float64)


def compute(pairs: Sequence[Pair], ctx: MetricContext) -> MetricResult:
    """The registry's entry point: SSIM per pair, mean ± std."""
    return per_pair_result(
        "ssim", ssim_pairs(pairs), "MONAI SSIMMetric, data range 255, 11 px Gaussian window (sigma 1.5)"
    )
