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


@njit
def _roi_range(image, mask):  # pragma: no cover - compiled
    """(min, max) of ``image`` inside ``mask`` as ``ndarray.min``/``max`` give them (NaN if any is NaN)."""
    flat = image.ravel()
    inside = mask.ravel()
    lo = np.inf
    hi = -np.inf
    for i in range(flat.size):
        if inside[i]:
            v = flat[i]
            if v != v:
                return v, v
            lo = min(lo, v)
            hi = max(hi, v)
    return lo, hi


@njit
def _bin(image, mask, edges):  # pragma: no cover - compiled
    """One pass over the ROI: the binned image (0 outside), the voxels per bin, and the ROI's values as
    float64 in raster order (``image[mask].astype(float)``)."""
    flat = image.ravel()
    inside = mask.ravel()
    n = 0
    for i in range(flat.size):
        n += inside[i] != 0
    values = np.empty(n)
    out = np.zeros(flat.size, dtype=np.int32)
    m = 0
    for i in range(flat.size):
        if inside[i]:
            values[m] = flat[i]
            m += 1
    bins = _digitize(values, edges)
    counts = np.zeros(edges.size + 1, dtype=np.int64)
    m = 0
    for i in range(flat.size):
        if inside[i]:
            out[i] = bins[m]
            counts[bins[m]] += 1
            m += 1
    return out.reshape(image.shape), counts, values


def bin_edges(values: np.ndarray, settings: dict[str, Any], lo: Any = None, hi: Any = None) -> np.ndarray:
    """pyradiomics' ``getBinEdges``: fixed bin width from min - (min mod width), or ``binCount`` bins.

    ``lo``/``hi``: the ROI's minimum and maximum where known (of ``values``' dtype), else computed."""
    bin_count = settings.get("binCount")
    if bin_count is not None:
        edges = np.histogram(values, bin_count)[1]
        edges[-1] += 1  # the maximum falls in the top bin under np.digitize
        return edges
    width = settings.get("binWidth", 25)
    lo = values.min() if lo is None else lo
    hi = values.max() if hi is None else hi
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
    #: the ROI's intensities as float64, in raster order (firstorder's input)
    values: np.ndarray


def discretize(image: np.ndarray, mask: np.ndarray, settings: dict[str, Any]) -> Binned:
    """Bin ``image`` inside the boolean ``mask`` (any shape) as pyradiomics' feature classes do.

    With a bin width (the presets) the ROI's range, the binning and the per-bin counts come from two
    compiled passes; the bin edges are computed from the range in ``image``'s own dtype, as
    ``getBinEdges`` computes them from ``image[mask]``.
    """
    image = np.ascontiguousarray(image)
    mask = np.ascontiguousarray(mask)
    if settings.get("binCount") is None and image.dtype.kind == "f" and mask.any():
        lo, hi = (image.dtype.type(v) for v in _roi_range(image, mask))  # numba returns Python floats
        edges = bin_edges(image[:0], settings, lo, hi)
    else:
        edges = bin_edges(image[mask], settings)
    out, counts, values = _bin(image, mask, np.asarray(edges, dtype=np.float64))
    levels = np.flatnonzero(counts)
    return Binned(image=out, levels=levels, ng=int(levels.max()), counts=counts[levels], values=values)
