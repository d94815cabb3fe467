"""SSIM, MS-SSIM (MONAI's arithmetic in float64) and PSNR (MONAI) checked against independent implementations:
scikit-image, and for MS-SSIM (which scikit-image lacks) a float64 composition written here on scikit-image's SSIM
conventions."""

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


def _distorted_pairs(n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` generated pairs of 48-200 px: noise, blur, shift, contrast/brightness changes, unrelated images, so
    SSIM spans about -0.1..1 and some contrast-structure terms go negative."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(1234)
    sizes = (48, 64, 96, 128, 161, 200)
    out = []
    for i in range(n):
        a, _ = _images(i, sizes[i % len(sizes)])
        kind = i % 5
        if kind == 0:
            b = a.astype(float) + rng.normal(0, rng.uniform(2, 40), a.shape)
        elif kind == 1:
            b = gaussian_filter(a.astype(float), rng.uniform(0.5, 3))
        elif kind == 2:
            b = np.roll(a.astype(float), (int(rng.integers(1, 6)), int(rng.integers(-5, 6))), axis=(0, 1))
        elif kind == 3:
            b = a * rng.uniform(0.5, 1.5) + rng.uniform(-40, 40)
        else:
            b = rng.uniform(0, 255, a.shape) if i % 2 else 255.0 - a
        out.append((a, np.clip(np.rint(b), 0, 255).astype(np.uint8)))
    return out


@pytest.mark.slow
def test_ssim_and_msssim_equal_independent_float64_references() -> None:
    """SSIM vs scikit-image and MS-SSIM vs the float64 composition, to 1e-6 over 120 generated pairs."""
    pairs = _distorted_pairs(120)
    d_ssim = [abs(ssim(a, b) - _sk_ssim(a, b)) for a, b in pairs]
    d_ms = [abs(msssim(a, b) - _ref_msssim(a, b, scale_weights(a.shape))) for a, b in pairs]
    values = [_sk_ssim(a, b) for a, b in pairs]
    assert min(values) < 0.1 and max(values) > 0.95  # the pairs span the range
    assert max(d_ssim) <= 1e-6, max(d_ssim)  # measured: 5.6e-15 (docs/evaluation.md)
    assert max(d_ms) <= 1e-6, max(d_ms)  # measured: 3.2e-15
    for a, b in pairs[:12]:  # the reference composition is scikit-image's SSIM at one scale
        assert _ref_ssim_cs(a.astype(np.float64), b.astype(np.float64))[0] == pytest.approx(_sk_ssim(a, b), abs=1e-12)


@pytest.mark.parametrize(("seed", "size"), [(0, 64), (1, 48), (2, 200), (3, 96)])
def test_psnr_equals_scikit_image(seed: int, size: int) -> None:
    a, b = _images(seed, size)
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255), abs=1e-6)


@pytest.mark.parametrize(("seed", "size"), [(0, 64), (2, 200), (3, 96)])
def test_same_definition_as_monai(seed: int, size: int) -> None:
    """MONAI's own classes (float32 inside) agree to float32 round-off: the float64 port changes precision only."""
    from monai.metrics import MultiScaleSSIMMetric, SSIMMetric

    from ccnet_zoo.metrics.ssim import as_tensor

    a, b = _images(seed, size)
    m = SSIMMetric(spatial_dims=2, data_range=255.0, kernel_sigma=1.5, win_size=11)
    assert ssim(a, b) == pytest.approx(float(m(as_tensor(b), as_tensor(a)).item()), abs=5e-6)
    ms = MultiScaleSSIMMetric(spatial_dims=2, data_range=255.0, kernel_size=11, weights=scale_weights(a.shape))
    assert msssim(a, b) == pytest.approx(float(ms(as_tensor(b), as_tensor(a)).item()), abs=5e-6)
    assert msssim(a, a) == pytest.approx(1.0, abs=1e-12) and ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(MetricsError, match="one size"):
        ssim(a, b[:-1])


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
