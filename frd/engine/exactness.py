"""What "exact" means for the fast engine: agreement with pyradiomics within 1e-6 relative, except
for values at round-off level, which are reported as such.

Some features are zero in exact arithmetic and come out as round-off noise in pyradiomics itself:
the mean of a high-pass wavelet band (~1e-16 of the intensities), a cluster shade of a symmetric
histogram. No other order of summation reproduces those digits, so they are compared in absolute
terms against the image's intensity scale (see docs/presets.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

#: Relative agreement required of every feature above round-off level.
REL_TOL = 1e-6
#: A reference value below this fraction of the image's intensity scale is round-off level.
ROUNDOFF = 1e-9


def intensity_scale(image: sitk.Image | np.ndarray) -> float:
    """The image's intensity scale: its largest absolute value (1 for an all-zero image)."""
    arr = sitk.GetArrayViewFromImage(image) if isinstance(image, sitk.Image) else np.asarray(image)
    top = float(np.max(np.abs(arr))) if arr.size else 0.0
    return top if top > 0 else 1.0


def is_roundoff(value: float, scale: float) -> bool:
    """Whether ``value`` is at round-off level for an image of intensity ``scale``."""
    return math.isfinite(value) and abs(value) < ROUNDOFF * scale


@dataclass
class Agreement:
    """How one engine's features compare with the reference's."""

    #: largest relative difference over the features above round-off level
    worst_rel: float = 0.0
    #: features whose reference value is at round-off level (compared in absolute terms)
    roundoff: list[str] = field(default_factory=list)
    #: (name, reference, value, difference) of every feature outside the tolerance
    mismatches: list[tuple[str, float, float, float]] = field(default_factory=list)


def compare(reference: Mapping[str, float], values: Mapping[str, float], scale: float) -> Agreement:
    """Compare ``values`` with ``reference`` feature by feature (names must match)."""
    out = Agreement()
    for name, got in values.items():
        if name not in reference:
            out.mismatches.append((name, math.nan, got, math.inf))
            continue
        ref = reference[name]
        if math.isnan(ref) or math.isnan(got):
            if not (math.isnan(ref) and math.isnan(got)):
                out.mismatches.append((name, ref, got, math.inf))
            continue
        if is_roundoff(ref, scale):
            out.roundoff.append(name)
            if abs(got - ref) >= ROUNDOFF * scale:
                out.mismatches.append((name, ref, got, abs(got - ref)))
            continue
        rel = abs(got - ref) / abs(ref)
        out.worst_rel = max(out.worst_rel, rel)
        if rel > REL_TOL:
            out.mismatches.append((name, ref, got, rel))
    return out
