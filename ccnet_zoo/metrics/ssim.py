"""SSIM per pair: MONAI's :class:`monai.metrics.SSIMMetric` arithmetic, run in float64, on the 0..255 scale.

Wang et al. (2004) settings, MONAI's defaults: 11x11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, population
(co)variances E[xy] - E[x]E[y] (no sample correction), the mean of the SSIM map over the valid region (no
padding). This is scikit-image's
``structural_similarity(data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``.

Why not MONAI's class itself: ``monai.metrics.regression.compute_ssim_and_cs`` (MONAI 1.x) casts its inputs to
float32 (``convert_data_type(..., dtype=torch.float)``) and builds its Gaussian kernel in float32, whatever the
dtype passed in, and the variance term E[x²] - E[x]² on the 0..255 scale then loses up to ~3e-5 of SSIM.
:func:`ssim_and_cs` performs MONAI's operations (the same Gaussian, valid-region filtering, the same formulas in the
same order) in float64; ``tests/ccnet_zoo/metrics/test_metrics_ssim_psnr.py`` checks it
against scikit-image to 1e-6 over 120 pairs and against MONAI's own class to float32 round-off.
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
K1, K2 = 0.01, 0.03


def as_tensor(img: NDArray[np.uint8]) -> torch.Tensor:
    """A (1, 1, H, W) float64 tensor of a grey uint8 image, on the 0..255 scale."""
    return torch.from_numpy(np.asarray(img, dtype=np.float64))[None, None]


def gaussian_1d(window: int = WINDOW, sigma: float = SIGMA) -> torch.Tensor:
    """MONAI's normalised 1D Gaussian (sampled at integer offsets from the centre), in float64."""
    dist = torch.arange(window, dtype=torch.float64) - (window - 1) / 2
    g = torch.exp(-((dist / sigma) ** 2) / 2)
    return g / g.sum()


def gaussian_filter_valid(z: torch.Tensor) -> torch.Tensor:
    """The valid-region correlation of a (B, 1, H, W) batch with MONAI's 2D kernel (the outer product of two
    :func:`gaussian_1d`), applied as its two 1D passes: the same sums as MONAI's 2D ``conv2d`` up to float64
    round-off, ~10x faster in float64 on a CPU."""
    g = gaussian_1d().to(z.device)
    conv = torch.nn.functional.conv2d
    return conv(conv(z, g.view(1, 1, -1, 1)), g.view(1, 1, 1, -1))


def ssim_and_cs(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """SSIM map and contrast-structure map of two (B, 1, H, W) float64 batches over the valid region
    (MONAI's ``compute_ssim_and_cs``, kept in float64)."""
    if x.dtype != torch.float64 or y.dtype != torch.float64:
        raise MetricsError(f"SSIM runs in float64, got {x.dtype} and {y.dtype}")
    c1, c2 = (K1 * DATA_RANGE) ** 2, (K2 * DATA_RANGE) ** 2
    mu_x, mu_y, mu_xx, mu_yy, mu_xy = gaussian_filter_valid(torch.cat([x, y, x * x, y * y, x * y])).split(len(x))
    sigma_x, sigma_y, sigma_xy = mu_xx - mu_x * mu_x, mu_yy - mu_y * mu_y, mu_xy - mu_x * mu_y
    cs = (2 * sigma_xy + c2) / (sigma_x + sigma_y + c2)
    return ((2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1)) * cs, cs


def ssim(real: NDArray[np.uint8], synth: NDArray[np.uint8]) -> float:
    """SSIM of one same-size uint8 pair (MONAI's definition in float64, data range 255)."""
    if real.shape != synth.shape:
        raise MetricsError(f"SSIM needs images of one size, got {real.shape} and {synth.shape}")
    if min(real.shape) < WINDOW:
        raise MetricsError(f"SSIM needs images of at least {WINDOW} px, got {real.shape}")
    s, _ = ssim_and_cs(as_tensor(synth), as_tensor(real))
    return float(s.mean().item())


def ssim_pairs(pairs: Sequence[Pair]) -> NDArray[np.float64]:
    """One SSIM per pair, in the order of ``pairs``."""
    return np.array([ssim(r, s) for r, s in pair_arrays(pairs)], dtype=np.float64)


def compute(pairs: Sequence[Pair], ctx: MetricContext) -> MetricResult:
    """The registry's entry point: SSIM per pair, mean ± std."""
    return per_pair_result(
        "ssim",
        ssim_pairs(pairs),
        "MONAI SSIMMetric's arithmetic in float64, data range 255, 11 px Gaussian window (sigma 1.5)",
    )
