"""How far a number can be trusted: near-constant columns and features that carry d² alone.

The presets report the reference's number even where it is numerically meaningless; this module
says when. A column whose spread (max − min over the normalization's reference set) is below
1e-9 of its largest |value| is near-constant: normalizing it scales round-off up to the full
range, and its part of d² is noise. d² splits exactly into per-feature parts (the diagonal of
Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½ plus the squared mean difference), so the share each feature carries is known.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .distance import FrechetTerms
from .settings import Settings
from .stats import NEAR_CONSTANT_REL, FeatureStats, Normalized, near_constant

#: One feature carrying more than this share of d² gets a warning line.
DOMINANT_SHARE = 0.5


def _reference_range(a: FeatureStats, b: FeatureStats, settings: Settings) -> list[tuple[np.ndarray, np.ndarray]]:
    if settings.norm_ref == "d1":
        return [(a.min, a.max)]
    if settings.norm_ref == "joint":
        with np.errstate(all="ignore"):
            return [(np.fmin(a.min, b.min), np.fmax(a.max, b.max))]
    return [(a.min, a.max), (b.min, b.max)]


def _per_feature(norm: Normalized, terms: FrechetTerms) -> np.ndarray:
    mu1, mu2 = (np.asarray(m, np.float64) for m in norm.mu)
    if terms.per_feature is not None:
        return terms.per_feature
    if terms.method == "means-only":
        return (mu1 - mu2) ** 2
    from .interpret import contributions

    mean_part, cov_part = contributions(mu1, norm.cov[0], mu2, norm.cov[1])
    return mean_part + cov_part


def assess(
    a: FeatureStats, b: FeatureStats, settings: Settings, norm: Normalized, terms: FrechetTerms
) -> tuple[dict[str, Any], str | None]:
    """The report's ``condition`` section, and a warning line when one feature carries most of d²."""
    flat = np.zeros(a.p, dtype=bool)
    rel = np.full(a.p, np.inf)
    for mn, mx in _reference_range(a, b, settings):
        flat |= near_constant(mn, mx)
        with np.errstate(all="ignore"):
            r = (mx - mn) / np.fmax(np.abs(mn), np.abs(mx))
        rel = np.fmin(rel, np.where(np.isfinite(r), r, np.inf))
    parts = _per_feature(norm, terms)
    d2 = float(terms.d2)
    index = {name: i for i, name in enumerate(norm.names)}
    with np.errstate(all="ignore"):
        share = parts / d2 if d2 != 0 else np.full(parts.shape, np.nan)
    listed = []
    for j in np.flatnonzero(flat):
        name = a.names[j]
        k = index.get(name)
        listed.append(
            {
                "feature": name,
                "spread_rel": float(rel[j]),
                "share_of_d2": float(share[k]) if k is not None else 0.0,
                "used": k is not None,
            }
        )
    out: dict[str, Any] = {
        "near_constant_rel": NEAR_CONSTANT_REL,
        "near_constant": listed,
        "near_constant_share_of_d2": float(sum(x["share_of_d2"] for x in listed)),
        "largest_share_of_d2": None,
    }
    warning = None
    if share.size and np.isfinite(share).any():
        top = int(np.nanargmax(share))
        out["largest_share_of_d2"] = {"feature": norm.names[top], "share": float(share[top])}
        if share[top] > DOMINANT_SHARE:
            name = norm.names[top]
            why = " (near-constant: normalizing amplifies round-off)" if name in {x["feature"] for x in listed} else ""
            warning = (
                f"one feature carries {100 * share[top]:.4g} % of d²: {name}{why}; the number says little "
                "about the sets as a whole (see 'condition' in --json, and --robust)"
            )
    return out, warning
