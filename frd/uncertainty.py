"""How much to trust an FRD: bootstrap intervals, KID, FD∞ extrapolation, matched sample counts.

All functions work on normalized feature rows (images × features), as returned by
:meth:`frd.stats.Normalized.rows`. The normalization is the preset's, computed once from the full
sets and held fixed while resampling: the intervals describe the sampling variability of the two
Gaussian fits, not of the normalization constants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import TooFewImagesError


def _to_score(d2: np.ndarray | float, log: bool) -> np.ndarray:
    d2 = np.asarray(d2, dtype=np.float64)
    if not log:
        return d2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d2 > 0, np.log(np.where(d2 > 0, d2, 1.0)), -np.inf)


def _d2_from_grams(k1: np.ndarray, k2: np.ndarray, g: np.ndarray, w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """d² of the weighted (bootstrap-count) Gaussian fits, from Gram matrices only.

    k1 = X₁X₁ᵀ, k2 = X₂X₂ᵀ, g = X₁X₂ᵀ; w1 (B, n1), w2 (B, n2) are counts summing to n1, n2.
    tr(Σ₁Σ₂)^½ is the nuclear norm of A₁A₂ᵀ with Aᵢ = diag(√wᵢ)(Xᵢ − 1μᵢᵀ)/√(nᵢ − 1), so nothing
    of size p (features) is touched per resample.
    """
    n1, n2 = k1.shape[0], k2.shape[0]
    gw2 = w2 @ g.T  # (B, n1): X1 · (X2ᵀ w2)
    w1g = w1 @ g  # (B, n2)
    m1m1 = np.einsum("bi,ij,bj->b", w1, k1, w1) / n1**2
    m2m2 = np.einsum("bi,ij,bj->b", w2, k2, w2) / n2**2
    m1m2 = np.einsum("bi,bi->b", w1, gw2) / (n1 * n2)
    mean_term = m1m1 + m2m2 - 2 * m1m2
    tr1 = (w1 @ np.diag(k1) - n1 * m1m1) / (n1 - 1)
    tr2 = (w2 @ np.diag(k2) - n2 * m2m2) / (n2 - 1)
    # centred cross-Gram: (X1 - 1μ1ᵀ)(X2 - 1μ2ᵀ)ᵀ = G - X1μ2 1ᵀ - 1 μ1ᵀX2ᵀ + (μ1·μ2) 11ᵀ
    c = g[None] - (gw2 / n2)[:, :, None] - (w1g / n1)[:, None, :] + m1m2[:, None, None]
    m = np.sqrt(w1)[:, :, None] * c * np.sqrt(w2)[:, None, :] / math.sqrt((n1 - 1) * (n2 - 1))
    nuc = np.linalg.svd(m, compute_uv=False).sum(axis=1)
    return mean_term + tr1 + tr2 - 2 * nuc


def _weighted_moments(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = x.shape[0]
    mu = w @ x / n  # (B, p)
    cov = (np.einsum("bi,ij,ik->bjk", w, x, x) - n * mu[:, :, None] * mu[:, None, :]) / (n - 1)
    return mu, cov


def _batched_factor(cov: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((cov + np.swapaxes(cov, 1, 2)) / 2)
    return np.swapaxes(v * np.sqrt(np.clip(w, 0, None))[:, None, :], 1, 2)  # (B, p, p): rows are factors


def _d2_feature_space(xa: np.ndarray, xb: np.ndarray, w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """d² of weighted fits through p x p covariances (cheaper than Gram matrices when p < N)."""
    mu1, c1 = _weighted_moments(xa, w1)
    mu2, c2 = _weighted_moments(xb, w2)
    a1, a2 = _batched_factor(c1), _batched_factor(c2)
    nuc = np.linalg.svd(a1 @ np.swapaxes(a2, 1, 2), compute_uv=False).sum(axis=1)
    tr = np.trace(c1, axis1=1, axis2=2) + np.trace(c2, axis1=1, axis2=2)
    return ((mu1 - mu2) ** 2).sum(axis=1) + tr - 2 * nuc


@dataclass(frozen=True)
class BootstrapResult:
    """Percentile interval of the score, and the resampled values behind it."""

    low: float
    high: float
    level: float
    n_resamples: int
    seed: int
    samples: np.ndarray


def bootstrap(
    ya: np.ndarray,
    yb: np.ndarray,
    n_resamples: int = 1000,
    *,
    seed: int = 0,
    level: float = 0.95,
    log: bool = False,
    chunk: int = 64,
) -> BootstrapResult:
    """Percentile bootstrap interval of FRD, resampling images within each set (vectorized).

    >>> rng = np.random.default_rng(0)
    >>> r = bootstrap(rng.normal(size=(40, 3)), rng.normal(1, 1, size=(40, 3)), 200, seed=1)
    >>> r.low < 3.0 < r.high
    True
    """
    ya, yb = np.asarray(ya, np.float64), np.asarray(yb, np.float64)
    if ya.shape[0] < 2 or yb.shape[0] < 2:
        raise TooFewImagesError("the bootstrap needs at least 2 images per set")
    # Centring first keeps the Gram entries small: d² does not change under a common shift.
    centre = ya.mean(axis=0)
    xa, xb = ya - centre, yb - centre
    rng = np.random.default_rng(seed)
    n1, n2 = xa.shape[0], xb.shape[0]
    # Work in the smaller space: image space (Gram matrices) when N < p, feature space otherwise.
    image_space = min(n1, n2) < xa.shape[1]
    if image_space:
        k1, k2, g = xa @ xa.T, xb @ xb.T, xa @ xb.T
    out = np.empty(n_resamples)
    for start in range(0, n_resamples, chunk):
        b = min(chunk, n_resamples - start)
        w1 = rng.multinomial(n1, np.full(n1, 1 / n1), size=b).astype(np.float64)
        w2 = rng.multinomial(n2, np.full(n2, 1 / n2), size=b).astype(np.float64)
        if image_space:
            out[start : start + b] = _d2_from_grams(k1, k2, g, w1, w2)
        else:
            out[start : start + b] = _d2_feature_space(xa, xb, w1, w2)
    scores = _to_score(out, log)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(scores, [alpha, 1 - alpha])
    return BootstrapResult(float(lo), float(hi), level, n_resamples, seed, scores)


def frechet_d2_rows(ya: np.ndarray, yb: np.ndarray) -> float:
    """d² between the Gaussian fits of two row sets (exact, via the Gram formulation)."""
    return float(_d2_from_grams_single(ya, yb))


def _d2_from_grams_single(ya: np.ndarray, yb: np.ndarray) -> float:
    centre = ya.mean(axis=0)
    xa, xb = ya - centre, yb - centre
    ones = (np.ones((1, xa.shape[0])), np.ones((1, xb.shape[0])))
    return float(_d2_from_grams(xa @ xa.T, xb @ xb.T, xa @ xb.T, *ones)[0])


@dataclass(frozen=True)
class KIDResult:
    """Unbiased MMD² with a cubic polynomial kernel, mean and std over subsets."""

    mean: float
    std: float
    subset_size: int
    n_subsets: int


def _poly_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    m, n = x.shape[0], y.shape[0]
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean()
    )


def kid(ya: np.ndarray, yb: np.ndarray, *, subset_size: int = 1000, n_subsets: int = 100, seed: int = 0) -> KIDResult:
    """Kernel Inception Distance on radiomic features: unbiased at any N, no covariance needed.

    Subsets of ``min(subset_size, n_a, n_b)`` images per set are drawn without replacement.
    """
    m = min(subset_size, ya.shape[0], yb.shape[0])
    if m < 2:
        raise TooFewImagesError("KID needs at least 2 images per set")
    rng = np.random.default_rng(seed)
    vals = np.array(
        [
            _poly_mmd2(ya[rng.choice(ya.shape[0], m, replace=False)], yb[rng.choice(yb.shape[0], m, replace=False)])
            for _ in range(n_subsets)
        ]
    )
    return KIDResult(float(vals.mean()), float(vals.std(ddof=1)) if n_subsets > 1 else 0.0, m, n_subsets)


@dataclass(frozen=True)
class FDInfResult:
    """FD∞: d² extrapolated to infinitely many images from a fit d²(N) = a + b/N."""

    d2_inf: float
    slope: float
    sizes: list[int]
    d2_at_size: list[float]


def fd_inf(ya: np.ndarray, yb: np.ndarray, *, n_points: int = 8, repeats: int = 4, seed: int = 0) -> FDInfResult:
    """Chong & Forsyth's FD∞ (CVPR 2020) for FRD: d² at N from 50% to 100% of the smaller set,
    averaged over ``repeats`` random subsets each, fitted linearly in 1/N and read at 1/N = 0."""
    n = min(ya.shape[0], yb.shape[0])
    if n < 6:
        raise TooFewImagesError("FD∞ needs at least 6 images per set")
    rng = np.random.default_rng(seed)
    sizes = sorted({int(s) for s in np.linspace(max(3, n // 2), n, n_points)})
    d2s = []
    for s in sizes:
        vals = [
            frechet_d2_rows(
                ya[rng.choice(ya.shape[0], s, replace=False)], yb[rng.choice(yb.shape[0], s, replace=False)]
            )
            for _ in range(repeats)
        ]
        d2s.append(float(np.mean(vals)))
    slope, intercept = np.polyfit(1.0 / np.array(sizes, float), np.array(d2s), 1)
    return FDInfResult(float(intercept), float(slope), sizes, d2s)


def match_sample_count(
    ya: np.ndarray, yb: np.ndarray, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Subsample the larger set to the size of the smaller (seeded); returns rows and kept indices."""
    rng = np.random.default_rng(seed)
    ia, ib = np.arange(ya.shape[0]), np.arange(yb.shape[0])
    if ya.shape[0] > yb.shape[0]:
        ia = np.sort(rng.choice(ya.shape[0], yb.shape[0], replace=False))
    elif yb.shape[0] > ya.shape[0]:
        ib = np.sort(rng.choice(yb.shape[0], ya.shape[0], replace=False))
    return ya[ia], yb[ib], ia, ib
