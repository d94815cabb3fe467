"""Grey-level discretisation as pyradiomics' ``imageoperations.binImage`` does it, once per image type.

pyradiomics bins the image again in every feature class; the result is the same each time, so the
engine bins once and hands the integer image to all classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def bin_edges(values: np.ndarray, settings: dict[str, Any]) -> np.ndarray:
    """pyradiomics' ``getBinEdges``: fixed bin width from min - (min mod width), or ``binCount`` bins."""
    bin_count = settings.get("binCount")
    if bin_count is not None:
        edges = np.histogram(values, bin_count)[1]
        edges[-1] += 1  # the maximum falls in the top bin under np.digitize
        return edges
    width = settings.get("binWidth", 25)
    lo = values.min()
    hi = values.max()
    edges = np.arange(lo - (lo % width), hi + 2 * width, width)
    if len(edges) == 1:  # flat region: one bin, as np.histogram(bins=1) would give
        edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
    return edges


@dataclass
class Binned:
    """A discretised ROI: integer image (0 outside the mask), present grey levels, Ng = their maximum, counts."""

    image: np.ndarray
    levels: np.ndarray
    ng: int
    #: voxels per present level
    counts: np.ndarray


def discretize(image: np.ndarray, mask: np.ndarray, settings: dict[str, Any]) -> Binned:
    """Bin ``image`` inside the boolean ``mask`` (any shape) as pyradiomics' feature classes do."""
    values = image[mask]
    edges = bin_edges(values, settings)
    out = np.zeros(image.shape, dtype=np.int32)
    # np.digitize(values, edges) for increasing edges, without its monotonicity check
    out[mask] = np.searchsorted(edges, values, side="right")
    counts = np.bincount(out[mask])
    levels = np.flatnonzero(counts)
    return Binned(image=out, levels=levels, ng=int(levels.max()), counts=counts[levels])
