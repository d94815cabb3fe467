"""The Fréchet distance d² of two row sets under many resamplings, exactly, in the smaller of two spaces.

A resample is given by integer weights per row (how often each image was drawn; 0 = left out). The weighted set
is the set with every row repeated that often, so its Gaussian fit is the ``np.mean`` / ``np.cov`` (ddof 1) of the
repeated rows, and d² = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁Σ₂)^½ as :func:`frd.frechet_terms` computes it.

Why not ``scipy.linalg.sqrtm`` per resample: with 2048-d Inception features that is a 2048 x 2048 square root
(seconds) per resample. With Aᵢ = diag(√wᵢ)(Xᵢ − 1μᵢᵀ)/√(Nᵢ − 1), Σᵢ = AᵢᵀAᵢ, and the eigenvalues of Σ₁Σ₂ are the
squared singular values of the n₁ x n₂ matrix A₁A₂ᵀ, so tr (Σ₁Σ₂)^½ = ‖A₁A₂ᵀ‖_* (the nuclear norm) — exact, and
computed from the Gram matrices X₁X₁ᵀ, X₂X₂ᵀ, X₁X₂ᵀ (formed once) in the n x n image space. With more images
than features the p x p weighted covariances are smaller: Σᵢ = FᵢᵀFᵢ from their eigen-decomposition and the trace
term is ‖F₁F₂ᵀ‖_*. frd's own bootstrap (:mod:`frd.uncertainty`) uses the same two routes with each set's size
fixed; here the sizes vary per resample (patients have different numbers of slices).
``tests/ccnet_zoo/metrics/test_metrics_set_difference.py`` checks both against ``scipy.linalg.sqrtm`` on
explicitly repeated rows.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ccnet_zoo.metrics.errors import MetricsError

#: floats per block of resamples handled at once (B x n1 x n2 in image space, B x p x p in feature space)
_BLOCK = 8_000_000


class RowPair:
    """Two row sets prepared for d² under many resamplings, in the smaller space as frd's bootstrap chooses it:
    image space (Gram matrices, n x n) when either set has fewer rows than features, else feature space (p x p
    weighted covariances, the trace term from their eigen-factors). Both are exact."""

    def __init__(self, x1: NDArray[np.floating], x2: NDArray[np.floating]) -> None:
        a, b = np.asarray(x1, np.float64), np.asarray(x2, np.float64)
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
            raise MetricsError(f"row sets must be (N, p) with one p, got {a.shape} and {b.shape}")
        centre = a.mean(axis=0)  # d² does not change under a common shift; centring keeps the sums small
        self.x1, self.x2 = a - centre, b - centre
        self.image_space = min(len(a), len(b)) < a.shape[1]
        if self.image_space:
            self.k1, self.k2, self.g = self.x1 @ self.x1.T, self.x2 @ self.x2.T, self.x1 @ self.x2.T

    @classmethod
    def of(cls, x1: NDArray[np.floating], x2: NDArray[np.floating]) -> RowPair:
        return cls(x1, x2)

    def d2(
        self, w1: NDArray[np.floating], w2: NDArray[np.floating], *, means_only: bool = False
    ) -> NDArray[np.float64]:
        """d² for each resample: ``w1`` (B, n1) and ``w2`` (B, n2) non-negative integer counts, each row summing
        to at least 2 (a covariance needs two images)."""
        w1, w2 = np.atleast_2d(np.asarray(w1, np.float64)), np.atleast_2d(np.asarray(w2, np.float64))
        n1, n2, p = len(self.x1), len(self.x2), self.x1.shape[1]
        if w1.shape[1] != n1 or w2.shape[1] != n2 or len(w1) != len(w2):
            raise MetricsError(f"weights {w1.shape} and {w2.shape} do not fit sets of {n1} and {n2} rows")
        if (w1.sum(axis=1) < 2).any() or (w2.sum(axis=1) < 2).any():
            raise MetricsError("every resample needs at least 2 images per set")
        step = max(1, _BLOCK // (n1 * n2 if self.image_space else p * p))
        fn = self._image_space if self.image_space else self._feature_space
        parts = [fn(w1[i : i + step], w2[i : i + step], means_only) for i in range(0, len(w1), step)]
        return np.concatenate(parts)

    def _image_space(self, w1: np.ndarray, w2: np.ndarray, means_only: bool) -> np.ndarray:
        k1, k2, g = self.k1, self.k2, self.g
        n1, n2 = w1.sum(axis=1), w2.sum(axis=1)
        m1m1 = np.einsum("bi,bi->b", w1 @ k1, w1) / n1**2  # |μ1|²
        m2m2 = np.einsum("bi,bi->b", w2 @ k2, w2) / n2**2
        x1m2 = (w2 @ g.T) / n2[:, None]  # (B, n1): X1 μ2
        x2m1 = (w1 @ g) / n1[:, None]  # (B, n2): X2 μ1
        m1m2 = np.einsum("bi,bi->b", w1, x1m2) / n1  # μ1·μ2
        mean_term = m1m1 + m2m2 - 2 * m1m2
        if means_only:
            return mean_term
        tr1 = (w1 @ np.diag(k1) - n1 * m1m1) / (n1 - 1)
        tr2 = (w2 @ np.diag(k2) - n2 * m2m2) / (n2 - 1)
        # centred cross-Gram (X1 - 1μ1ᵀ)(X2 - 1μ2ᵀ)ᵀ = G - X1μ2 1ᵀ - 1 (X2μ1)ᵀ + (μ1·μ2) 11ᵀ, then A1 A2ᵀ
        c = g[None] - x1m2[:, :, None] - x2m1[:, None, :] + m1m2[:, None, None]
        m = np.sqrt(w1)[:, :, None] * c * np.sqrt(w2)[:, None, :] / np.sqrt((n1 - 1) * (n2 - 1))[:, None, None]
        nuc = np.linalg.svd(m, compute_uv=False).sum(axis=1)
        return mean_term + tr1 + tr2 - 2 * nuc

    def _feature_space(self, w1: np.ndarray, w2: np.ndarray, means_only: bool) -> np.ndarray:
        fits = []
        for x, w in ((self.x1, w1), (self.x2, w2)):
            n = w.sum(axis=1)
            mu = (w @ x) / n[:, None]
            if means_only:
                fits.append((mu, None))
                continue
            cov = np.einsum("bi,ij,ik->bjk", w, x, x) - n[:, None, None] * mu[:, :, None] * mu[:, None, :]
            cov /= (n - 1)[:, None, None]
            lam, vec = np.linalg.eigh((cov + np.swapaxes(cov, 1, 2)) / 2)
            # Σ = FᵀF with F = diag(√λ) Vᵀ, so tr (Σ1Σ2)^½ = ‖F1 F2ᵀ‖_*
            fits.append((mu, np.swapaxes(vec * np.sqrt(np.clip(lam, 0, None))[:, None, :], 1, 2)))
        (mu1, f1), (mu2, f2) = fits
        mean_term = ((mu1 - mu2) ** 2).sum(axis=1)
        if means_only:
            return mean_term
        tr = (f1**2).sum(axis=(1, 2)) + (f2**2).sum(axis=(1, 2))
        nuc = np.linalg.svd(f1 @ np.swapaxes(f2, 1, 2), compute_uv=False).sum(axis=1)
        return mean_term + tr - 2 * nuc


def frechet_d2_weighted(
    x1: NDArray[np.floating],
    x2: NDArray[np.floating],
    w1: NDArray[np.floating],
    w2: NDArray[np.floating],
    *,
    means_only: bool = False,
) -> NDArray[np.float64]:
    """d² of the Gaussian fits of ``x1`` and ``x2`` with rows repeated ``w1[b]`` / ``w2[b]`` times, per resample b.

    >>> rng = np.random.default_rng(0)
    >>> x1, x2 = rng.normal(size=(5, 3)), rng.normal(size=(6, 3))
    >>> d2 = frechet_d2_weighted(x1, x2, np.ones((1, 5)), np.ones((1, 6)))
    >>> import frd
    >>> bool(np.isclose(d2[0], frd.frechet_terms(x1.mean(0), np.cov(x1.T), x2.mean(0), np.cov(x2.T)).d2))
    True
    """
    return RowPair.of(x1, x2).d2(w1, w2, means_only=means_only)
