"""How far a number can be trusted: near-constant columns and features that carry d² alone.

The presets report the reference's number even where it is numerically meaningless; this module
says when. A column whose spread (max − min over the normalization's reference set) is below
1e-9 of its largest |value| is near-constant: normalizing it scales round-off up to the full
range, and its part of d² is noise. d² splits exactly into per-feature parts (the diagonal of
Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½ plus the squared mean difference), so the share each feature carries is known.

Round-off columns are another kind: features that are zero in exact arithmetic and come out as
round-off noise (the mean of a high-pass wavelet band, ~1e-16 of the intensities). Their digits are
whatever pyradiomics' order of summation leaves, which no other engine reproduces; so the number of
an engine other than pyradiomics is within 1e-6 of the pyradiomics engine's only when these columns
carry less than 1e-6 of d², and the report says which case a result is in (``engine_exact``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .distance import FrechetTerms
from .settings import Settings
from .stats import NEAR_CONSTANT_REL, FeatureStats, Normalized, near_constant

#: One feature carrying more than this share of d² gets a warning line.
DOMINANT_SHARE = 0.5
#: A column is round-off when every |value| is below this fraction of its set's intensity scale
#: (the same level as frd.engine.exactness.ROUNDOFF, per feature).
ROUNDOFF_REL = 1e-9
#: Round-off columns carrying less than this share of d² leave every engine within this relative
#: difference of the pyradiomics engine's number (issue 14's promise; the oracle suite checks it).
ENGINE_EXACT_SHARE = 1e-6
#: The columns that give a set's intensity scale: every image type's firstorder extremes.
_SCALE_SUFFIXES = ("firstorder_Maximum", "firstorder_Minimum")


def _reference_range(a: FeatureStats, b: FeatureStats, settings: Settings) -> list[tuple[np.ndarray, np.ndarray]]:
    if settings.norm_ref == "d1":
        return [(a.min, a.max)]
    if settings.norm_ref == "joint":
        with np.errstate(all="ignore"):
            return [(np.fmin(a.min, b.min), np.fmax(a.max, b.max))]
    return [(a.min, a.max), (b.min, b.max)]


def _intensity_scale(s: FeatureStats) -> float | None:
    """The set's intensity scale: the largest |firstorder Maximum/Minimum| of any image type and image.

    None when the settings compute no firstorder extremes (custom feature classes): then round-off
    columns cannot be told from small ones.
    """
    cols = [j for j, name in enumerate(s.names) if name.endswith(_SCALE_SUFFIXES)]
    if not cols:
        return None
    with np.errstate(all="ignore"):
        top = np.fmax(np.abs(s.min[cols]), np.abs(s.max[cols]))
    top = top[np.isfinite(top)]
    return float(top.max()) if top.size and top.max() > 0 else None


def roundoff_columns(a: FeatureStats, b: FeatureStats) -> tuple[np.ndarray, np.ndarray] | None:
    """Columns at round-off level in both sets (not all exactly zero), and max |value| / scale of each.

    A column is round-off when its largest |value| in each set is below ROUNDOFF_REL of that set's
    intensity scale. None when a set has no intensity scale to judge by.
    """
    scales = [_intensity_scale(s) for s in (a, b)]
    if None in scales:
        return None
    rel = np.zeros(a.p)
    nonzero = np.zeros(a.p, dtype=bool)
    for s, scale in zip((a, b), scales, strict=True):
        with np.errstate(all="ignore"):
            top = np.fmax(np.abs(s.min), np.abs(s.max))
        top = np.where(np.isfinite(top), top, np.inf)  # an all-NaN or infinite column is no round-off
        rel = np.fmax(rel, top / scale)  # type: ignore[operator]
        nonzero |= top > 0
    return (rel < ROUNDOFF_REL) & nonzero, rel


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
    out.update(_roundoff(a, b, share, index))
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


def _roundoff(a: FeatureStats, b: FeatureStats, share: np.ndarray, index: dict[str, int]) -> dict[str, Any]:
    """The round-off part of the report: which columns, their share of d², and which case the number is in."""
    found = roundoff_columns(a, b)
    if found is None:
        return {
            "roundoff_rel": ROUNDOFF_REL,
            "roundoff": None,
            "roundoff_share_of_d2": None,
            "engine_exact": None,
        }
    mask, rel = found
    listed = []
    for j in np.flatnonzero(mask):
        k = index.get(a.names[j])
        # |share|: a column's part of the trace term can be negative; round-off moves d² either way.
        part = abs(float(share[k])) if k is not None else 0.0
        listed.append({"feature": a.names[j], "max_abs_rel": float(rel[j]), "share_of_d2": part, "used": k is not None})
    total = float(sum(x["share_of_d2"] for x in listed))
    return {
        "roundoff_rel": ROUNDOFF_REL,
        "roundoff": listed,
        "roundoff_share_of_d2": total,
        # NaN shares (d² = 0) say nothing either way: not exact by this report.
        "engine_exact": bool(total < ENGINE_EXACT_SHARE),
    }
