"""Grey-level discretisation as pyradiomics' ``imageoperations.binImage`` does it, once per image type.

pyradiomics bins the image again in every feature class; the result is the same each time, so the
engine bins once and hands the integer image to all classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._jit import njit


@njit
def _digitize(values, edges):  # pragma: no cover - compiled
    """np.digitize(values, edges) for increasing edges: the number of edges <= each value.

    The bin is guessed from the (near-)uniform spacing, then corrected against the edges
    themselves, so the result is digitize's exactly, at a fraction of a binary search's cost.
    """
    ne = edges.size
    lo = edges[0]
    width = (edges[-1] - lo) / (ne - 1) if ne > 1 else 1.0
    out = np.empty(values.size, dtype=np.int32)
    for n in range(values.size):
        v = values[n]
        if v != v:  # NaN sorts after every edge
            out[n] = ne
            continue
        guess = (v - lo) / width
        k = 0 if guess < 0 else (ne if guess >= ne else int(guess) + 1)
        while k < ne and edges[k] <= v:
            k += 1
        while k > 0 and edges[k - 1] > v:
            k -= 1
        out[n] = k
    return out


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
    out[mask] = _digitize(values, np.asarray(edges, dtype=np.float64))
    counts = np.bincount(out[mask])
    levels = np.flatnonzero(counts)
    return Binned(image=out, levels=levels, ng=int(levels.max()), counts=counts[levels])
