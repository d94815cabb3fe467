"""The Fréchet distance between two Gaussians, in float64.

d² = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁Σ₂)^½

Two ways to get tr (Σ₁Σ₂)^½:

* ``"scipy"`` (what every preset uses, because the reference does): ``scipy.linalg.sqrtm`` of the
  product Σ₁Σ₂; if that is not finite, 1e-6·I is added to both covariances and it is retried; a
  complex result keeps its real part. On rank-deficient covariances (N ≤ number of features,
  the usual case) the product is singular and its tiny eigenvalues come out slightly negative or
  complex, so the trace carries an error of order √(ε·‖Σ‖) per null direction.
* ``"eigh"``: factor each covariance as Σᵢ = AᵢᵀAᵢ from its eigen-decomposition (eigenvalues at
  round-off level dropped); then tr (Σ₁Σ₂)^½ is the sum of the singular values of A₁A₂ᵀ. Never
  complex, well conditioned (a perturbation δ of Σ moves the trace by O(δ), where ``sqrtm`` of the
  singular product moves it by O(√δ)), and fast; it differs from ``"scipy"`` by scipy's round-off.

Neither result is ever complex or NaN: a non-finite input raises ``ValueError``.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrechetTerms:
    """The parts of d², for reporting and interpretation."""

    d2: float
    mean_term: float
    trace_term: float
    method: str
    eps_added: float = 0.0
    max_imag: float = 0.0
    #: Each feature's part of d² (they sum to d² up to round-off); None where not computed.
    per_feature: np.ndarray | None = field(default=None, repr=False, compare=False)


def _check(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> None:
    if mu1.shape != mu2.shape or mu1.ndim != 1:
        raise ValueError(f"means must be vectors of one length, got {mu1.shape} and {mu2.shape}")
    p = mu1.shape[0]
    if sigma1.shape != (p, p) or sigma2.shape != (p, p):
        raise ValueError(f"covariances must be {p}x{p}, got {sigma1.shape} and {sigma2.shape}")
    for name, a in (("mu1", mu1), ("sigma1", sigma1), ("mu2", mu2), ("sigma2", sigma2)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} has NaN or Inf entries")


def _factor(s: np.ndarray) -> np.ndarray:
    """A (r × p) with AᵀA = Σ, keeping eigenvalues above round-off (r = numerical rank)."""
    w, v = np.linalg.eigh((s + s.T) / 2)
    keep = w > max(float(w[-1]), 0.0) * s.shape[0] * np.finfo(np.float64).eps
    return (v[:, keep] * np.sqrt(w[keep])).T


def _sqrtm_scipy(sigma1: np.ndarray, sigma2: np.ndarray, eps: float) -> tuple[np.ndarray, float, float]:
    """The reference's (Σ₁Σ₂)^½ (real part), the eps it added and the largest imaginary part dropped."""
    from scipy import linalg  # imported here: a warm, cached run should not pay for it up front

    eps_added = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        covmean = linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        eps_added = eps
        offset = np.eye(sigma1.shape[0]) * eps
        log.debug("singular product; adding %g to the covariance diagonals", eps)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    max_imag = 0.0
    if np.iscomplexobj(covmean):
        max_imag = float(np.max(np.abs(covmean.imag)))
        covmean = covmean.real
    return covmean, eps_added, max_imag


def trace_sqrt_product(
    sigma1: np.ndarray, sigma2: np.ndarray, method: str = "scipy", eps: float = 1e-6
) -> tuple[float, float, float]:
    """tr (Σ₁Σ₂)^½ and, for ``scipy``, the eps added and the largest imaginary part dropped."""
    if method == "eigh":
        # With Σᵢ = AᵢᵀAᵢ the nonzero eigenvalues of Σ₁Σ₂ are the squared singular values of A₁A₂ᵀ, so the
        # trace is a nuclear norm: well conditioned, and blind to the null space of rank-deficient Σ.
        a1, a2 = _factor(sigma1), _factor(sigma2)
        if a1.size == 0 or a2.size == 0:
            return 0.0, 0.0, 0.0
        return float(np.linalg.svd(a1 @ a2.T, compute_uv=False).sum()), 0.0, 0.0
    if method != "scipy":
        raise ValueError(f"unknown sqrtm method {method!r}")
    covmean, eps_added, max_imag = _sqrtm_scipy(sigma1, sigma2, eps)
    tr = float(np.trace(covmean))
    if not np.isfinite(tr):
        raise ValueError("matrix square root failed even after regularisation; try sqrtm='eigh'")
    return tr, eps_added, max_imag


def frechet_terms(
    mu1: np.ndarray,
    sigma1: np.ndarray,
    mu2: np.ndarray,
    sigma2: np.ndarray,
    method: str = "scipy",
    means_only: bool = False,
    keep_float32_means: bool = False,
) -> FrechetTerms:
    """d² with its mean and covariance parts (see the module docstring for ``method``).

    d² adds its terms in the reference's order; with ``keep_float32_means`` float32 means stay
    float32 for ‖μ₁ − μ₂‖² as in frd-score's v1, so the reference's number is replayed exactly.
    With ``scipy``, ``per_feature`` holds each feature's
    exact share of d² (the diagonal of Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½ plus its squared mean difference).
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1)), np.atleast_1d(np.asarray(mu2))
    if not (keep_float32_means and mu1.dtype == np.float32 and mu2.dtype == np.float32):
        mu1, mu2 = mu1.astype(np.float64), mu2.astype(np.float64)
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    diff = mu1 - mu2
    mean_sq = diff.dot(diff)
    mean_term = float(mean_sq)
    if means_only:
        if mu1.shape != mu2.shape or not (np.isfinite(mu1).all() and np.isfinite(mu2).all()):
            raise ValueError("means must be finite vectors of one length")
        return FrechetTerms(d2=mean_term, mean_term=mean_term, trace_term=0.0, method="means-only")
    _check(mu1, sigma1, mu2, sigma2)
    per_feature = None
    if method == "scipy":
        covmean, eps_added, max_imag = _sqrtm_scipy(sigma1, sigma2, 1e-6)
        tr_sqrt = float(np.trace(covmean))
        if not np.isfinite(tr_sqrt):
            raise ValueError("matrix square root failed even after regularisation; try sqrtm='eigh'")
        d64 = diff.astype(np.float64)
        per_feature = d64 * d64 + np.diag(sigma1) + np.diag(sigma2) - 2 * np.diag(covmean)
    else:
        tr_sqrt, eps_added, max_imag = trace_sqrt_product(sigma1, sigma2, method)
    trace_term = float(np.trace(sigma1) + np.trace(sigma2) - 2 * tr_sqrt)
    # The reference's order: diff·diff + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁Σ₂)^½.
    d2 = float(mean_sq + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_sqrt)
    return FrechetTerms(
        d2=d2,
        mean_term=mean_term,
        trace_term=trace_term,
        method=method,
        eps_added=eps_added,
        max_imag=max_imag,
        per_feature=per_feature,
    )


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, method: str = "scipy"
) -> float:
    """Squared Fréchet distance d² between N(μ₁, Σ₁) and N(μ₂, Σ₂), in float64.

    >>> import numpy as np
    >>> round(frechet_distance(np.zeros(2), np.eye(2), np.ones(2), np.eye(2)), 6)
    2.0
    """
    return frechet_terms(mu1, sigma1, mu2, sigma2, method=method).d2
