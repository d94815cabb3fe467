"""SSIM, MS-SSIM and PSNR (MONAI) checked against independent implementations: scikit-image, and for MS-SSIM
(which scikit-image lacks) a float64 composition written here on scikit-image's SSIM conventions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import correlate1d
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ccnet_zoo.metrics import MetricsError, compute_metrics, pair_images
from ccnet_zoo.metrics.images import load_pair
from ccnet_zoo.metrics.msssim import WEIGHTS, msssim, scale_weights
from ccnet_zoo.metrics.psnr import psnr
from ccnet_zoo.metrics.ssim import ssim


def _images(seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / size
    disc = ((xx - 0.5) ** 2 + (yy - 0.4) ** 2 < 0.03) * 120
    a = np.clip(60 + 40 * np.sin(6 * xx + seed) + disc + rng.normal(0, 6, (size, size)), 0, 255).astype(np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-25, 26, a.shape) + 10, 0, 255).astype(np.uint8)
    return a, b


def _sk_ssim(a: np.ndarray, b: np.ndarray) -> float:
    return float(
        structural_similarity(a, b, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    )


def _ref_ssim_cs(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """SSIM and mean contrast-structure term in float64: 11-tap Gaussian (sigma 1.5), valid region."""
    k = np.exp(-0.5 * ((np.arange(11) - 5) / 1.5) ** 2)
    k /= k.sum()

    def g(z: np.ndarray) -> np.ndarray:
        return correlate1d(correlate1d(z, k, axis=0, mode="constant"), k, axis=1, mode="constant")[5:-5, 5:-5]

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = g(x), g(y)
    sxx, syy, sxy = g(x * x) - mx * mx, g(y * y) - my * my, g(x * y) - mx * my
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    return float(((2 * mx * my + c1) / (mx * mx + my * my + c1) * cs).mean()), float(cs.mean())


def _ref_msssim(a: np.ndarray, b: np.ndarray, weights: tuple[float, ...]) -> float:
    x, y = a.astype(np.float64), b.astype(np.float64)
    terms = []
    for j in range(len(weights)):
        s, cs = _ref_ssim_cs(x, y)
        terms.append(s if j == len(weights) - 1 else cs)
        h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
        x = x[:h, :w].reshape(h // 2, 2, w // 2, 2).mean((1, 3))
        y = y[:h, :w].reshape(h // 2, 2, w // 2, 2).mean((1, 3))
    return float(np.prod(np.maximum(terms, 0) ** np.asarray(weights)))


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "size"), [(0, 64), (1, 48), (2, 200), (3, 96)])
def test_ssim_and_psnr_equal_scikit_image(seed: int, size: int) -> None:
    a, b = _images(seed, size)
    # MONAI casts to float32 (the E[x²] - μ² cancellation): measured |Δ| ≤ 3.1e-6, median 1.6e-6 (docs/evaluation.md)
    assert ssim(a, b) == pytest.approx(_sk_ssim(a, b), abs=5e-6)
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255), abs=1e-6)
    a_ref, _ = _ref_ssim_cs(a.astype(np.float64), b.astype(np.float64))
    assert a_ref == pytest.approx(_sk_ssim(a, b), abs=1e-12)  # the MS-SSIM reference below is scikit-image's SSIM


@pytest.mark.parametrize(("seed", "size"), [(0, 64), (2, 200), (3, 96)])
def test_msssim_equals_float64_reference(seed: int, size: int) -> None:
    a, b = _images(seed, size)
    w = scale_weights(a.shape)
    assert msssim(a, b) == pytest.approx(_ref_msssim(a, b, w), abs=5e-6)  # MONAI runs in float32
    assert msssim(a, a) == pytest.approx(1.0, abs=1e-6)


def test_msssim_scales() -> None:
    assert scale_weights((200, 200)) == WEIGHTS  # the published exponents, as they are
    w64 = scale_weights((64, 64))
    assert len(w64) == 3 and sum(w64) == pytest.approx(1.0)
    assert w64[0] / w64[1] == pytest.approx(WEIGHTS[0] / WEIGHTS[1])
    with pytest.raises(MetricsError, match="at least 11"):
        scale_weights((8, 64))


def test_identical_and_worse_images() -> None:
    a, b = _images(5, 64)
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-6) and psnr(a, a) == float("inf")
    c = np.clip(b.astype(int) + np.random.default_rng(6).integers(-60, 61, a.shape), 0, 255).astype(np.uint8)
    assert ssim(a, b) > ssim(a, c) and psnr(a, b) > psnr(a, c) and msssim(a, b) > msssim(a, c)


def test_reported_per_pair(dataset: tuple[Path, Path, Path]) -> None:
    _, real, synth = dataset
    report = compute_metrics(real, synth, phase=1, metrics=["ssim", "msssim", "psnr"])
    pairs = pair_images(real, synth, phase=1).pairs
    for name, fn in (("ssim", ssim), ("msssim", msssim), ("psnr", psnr)):
        r = report[name]
        assert r.available and r.n == 9 and len(r.per_pair) == 9
        want = [fn(*load_pair(p.real, p.synth)) for p in pairs]
        assert r.per_pair == pytest.approx(want, abs=1e-12) and r.value == pytest.approx(np.mean(want))
    assert len(report["msssim"].details["weights"]) == len(scale_weights((48, 48)))
