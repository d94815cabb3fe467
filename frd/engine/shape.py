"""pyradiomics' shape2D features, compiled: marching squares, the maximum diameter and the PCA axes.

pyradiomics (``RadiomicsShape2D``, its C routine ``calculate_coefficients2D``) walks the squares of
the zero-padded mask: each boundary square contributes line segments between edge midpoints to the
perimeter and a signed cross product to the mesh surface, and two of its edge midpoints to a list
of vertices whose largest pairwise distance is the maximum diameter (all pairs, O(V²)). The
engine walks the same squares in the same order with the same arithmetic, so perimeter and
surface are bit-identical; the diameter is the largest distance between vertices of the
vertices' convex hull (found on the integer half-pixel grid, so exactly), which is the same
maximum in about O(V); the PCA axes (Major/MinorAxisLength, Elongation) are pyradiomics' own numpy
calls on the same coordinates, because their round-off is v0's number (see :func:`_pyradiomics_axes`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from ._jit import njit

#: pyradiomics' lineTable2D: the segments (pairs of edge indices) of each square configuration.
_LINES = np.array(
    [
        [-1, -1, -1, -1],
        [3, 0, -1, -1],
        [0, 1, -1, -1],
        [3, 1, -1, -1],
        [1, 2, -1, -1],
        [1, 2, 3, 0],
        [0, 2, -1, -1],
        [3, 2, -1, -1],
        [2, 3, -1, -1],
        [2, 0, -1, -1],
        [0, 1, 2, 3],
        [2, 1, -1, -1],
        [1, 3, -1, -1],
        [1, 0, -1, -1],
        [0, 3, -1, -1],
        [-1, -1, -1, -1],
    ],
    dtype=np.int64,
)
#: pyradiomics' vertList2D: the midpoint of each square edge, (y, x) relative to the square's origin.
_EDGE_MID = np.array([[0.0, 0.5], [0.5, 1.0], [1.0, 0.5], [0.5, 0.0]])


@njit
def _cross(o_y, o_x, a_y, a_x, b_y, b_x):  # pragma: no cover - compiled
    return (a_y - o_y) * (b_x - o_x) - (a_x - o_x) * (b_y - o_y)


@njit
def _hull(py, px, order):  # pragma: no cover - compiled
    """Indices of the convex hull's corners of integer points taken in ``order`` (lexicographic by
    (y, x)): Andrew's monotone chain, collinear points dropped."""
    n = order.size
    hull = np.empty(2 * n + 1, dtype=np.int64)
    k = 0
    for i in range(n):
        p = order[i]
        while k >= 2 and _cross(py[hull[k - 2]], px[hull[k - 2]], py[hull[k - 1]], px[hull[k - 1]], py[p], px[p]) <= 0:
            k -= 1
        hull[k] = p
        k += 1
    lower = k + 1
    for i in range(n - 2, -1, -1):
        p = order[i]
        while (
            k >= lower and _cross(py[hull[k - 2]], px[hull[k - 2]], py[hull[k - 1]], px[hull[k - 1]], py[p], px[p]) <= 0
        ):
            k -= 1
        hull[k] = p
        k += 1
    return hull[: max(k - 1, 1)]


@njit
def _marching_squares(roi, sy, sx, lines, mid):  # pragma: no cover - compiled
    """(perimeter, mesh surface, maximum diameter) of the 2D ROI as pyradiomics' ``calculate_coefficients2D``
    computes them on the zero-padded mask; ``sy``, ``sx`` the pixel spacing along rows and columns."""
    h, w = roi.shape
    perimeter = 0.0
    surface = 0.0
    cap = 2 * (h + 1) * (w + 1)
    vy = np.empty(cap)  # vertices in physical units, pyradiomics' arithmetic
    vx = np.empty(cap)
    gy = np.empty(cap, dtype=np.int64)  # the same vertices on the half-pixel grid (times 2)
    gx = np.empty(cap, dtype=np.int64)
    nv = 0
    # The leftmost and rightmost vertex of each half-pixel row: the only ones that can be hull corners
    # (any other lies between them), and taken row by row they are already in hull order.
    first = np.full(2 * h + 4, -1, dtype=np.int64)
    last = np.full(2 * h + 4, -1, dtype=np.int64)
    for iy in range(h + 1):  # squares of the padded mask: corner (iy, ix) is pixel (iy - 1, ix - 1)
        for ix in range(w + 1):
            p0 = iy >= 1 and ix >= 1 and roi[iy - 1, ix - 1]
            p1 = iy >= 1 and ix < w and roi[iy - 1, ix]
            p2 = iy < h and ix < w and roi[iy, ix]
            p3 = iy < h and ix >= 1 and roi[iy, ix - 1]
            square = (1 if p0 else 0) | (2 if p1 else 0) | (4 if p2 else 0) | (8 if p3 else 0)
            if square == 0 or square == 15:
                continue
            t = 0
            while t < 4 and lines[square, t] >= 0:
                e0 = lines[square, t]
                e1 = lines[square, t + 1]
                a0 = (iy + mid[e0, 0]) * sy
                a1 = (ix + mid[e0, 1]) * sx
                b0 = (iy + mid[e1, 0]) * sy
                b1 = (ix + mid[e1, 1]) * sx
                surface += (a0 * b1) - (b0 * a1)
                d0 = a0 - b0
                d1 = a1 - b1
                d0 = d0 * d0
                d1 = d1 * d1
                perimeter += math.sqrt(d0 + d1)
                t += 2
            if square > 7:
                square ^= 15
            for edge in (3, 2):  # a vertex on edge 3 (left, (iy + 0.5, ix)) or 2 (bottom, (iy + 1, ix + 0.5))
                if square & (1 if edge == 3 else 4):
                    vy[nv] = (iy + mid[edge, 0]) * sy
                    vx[nv] = (ix + mid[edge, 1]) * sx
                    gy[nv] = 2 * iy + (1 if edge == 3 else 2)
                    gx[nv] = 2 * ix + (0 if edge == 3 else 1)
                    row = gy[nv]
                    if first[row] < 0 or gx[nv] < gx[first[row]]:
                        first[row] = nv
                    if last[row] < 0 or gx[nv] > gx[last[row]]:
                        last[row] = nv
                    nv += 1
    surface = surface / 2
    diameter = 0.0
    if nv > 1:
        order = np.empty(2 * first.size, dtype=np.int64)
        m = 0
        for row in range(first.size):
            if first[row] >= 0:
                order[m] = first[row]
                m += 1
                if last[row] != first[row]:
                    order[m] = last[row]
                    m += 1
        corners = _hull(gy, gx, order[:m])
        for i in range(corners.size):
            a = corners[i]
            for j in range(i):
                b = corners[j]
                d0 = vy[a] - vy[b]
                d1 = vx[a] - vx[b]
                distance = d0 * d0 + d1 * d1
                if distance > diameter:
                    diameter = distance
    return perimeter, surface, math.sqrt(diameter)


@njit
def _moments(roi):  # pragma: no cover - compiled
    """Pixel count and the integer sums of y, x, y², x², xy over the ROI."""
    h, w = roi.shape
    n = sy = sx = syy = sxx = sxy = 0
    for y in range(h):
        for x in range(w):
            if roi[y, x]:
                n += 1
                sy += y
                sx += x
                syy += y * y
                sxx += x * x
                sxy += x * y
    return n, sy, sx, syy, sxx, sxy


def _axes(roi: np.ndarray, sy: float, sx: float) -> tuple[int, np.ndarray]:
    """Pixel count and the sorted eigenvalues of pyradiomics' coordinate covariance (physical units, /n).

    The centred second moments are exact integers (n·Σy² − (Σy)², Python ints), and so is the
    determinant's numerator: the larger eigenvalue comes from the trace and the discriminant, the
    smaller as determinant / larger, so a collinear ROI (one pixel wide, two diagonal pixels) gets
    exactly 0 and a thin one its small axis to full precision; pyradiomics' float64 covariance and
    LAPACK agree within round-off of the larger eigenvalue.
    """
    n, s_y, s_x, s_yy, s_xx, s_xy = (int(v) for v in _moments(roi))
    dyy = n * s_yy - s_y * s_y
    dxx = n * s_xx - s_x * s_x
    dxy = n * s_xy - s_y * s_x
    n2 = float(n) * float(n)
    cyy = float(dyy) / n2 * (sy * sy)
    cxx = float(dxx) / n2 * (sx * sx)
    cxy = float(dxy) / n2 * (sy * sx)
    det = float(dyy * dxx - dxy * dxy) / (n2 * n2) * ((sy * sx) * (sy * sx))
    major = (cyy + cxx + math.sqrt((cyy - cxx) ** 2 + 4 * cxy * cxy)) / 2
    minor = det / major if major > 0 else 0.0
    return n, np.array([minor, major])


def _pyradiomics_axes(roi: np.ndarray, sy: float, sx: float) -> np.ndarray:
    """The sorted eigenvalues exactly as ``RadiomicsShape2D`` computes them (numpy on the coordinates).

    :func:`_axes` is exact where pyradiomics leaves round-off, and that round-off is the preset's
    number: v0 min-maxes each column over both sets, so an Elongation of 1 ± round-off (a full mask
    on square images; another image size in the other set) becomes full-range values, and v0's FRD
    moved by up to 5 % when the engine gave the exact 1. The same numpy calls on the same coordinates
    (the ROI padded by one pixel, as pyradiomics pads its cropped mask) give pyradiomics' digits.
    """
    coordinates = np.array(np.where(np.pad(roi, 1)), dtype="int").transpose((1, 0))
    physical = coordinates * np.array([sy, sx])[None, :]
    physical -= np.mean(physical, axis=0)
    physical /= np.sqrt(len(coordinates))
    eig = np.linalg.eigvals(np.dot(physical.T.copy(), physical))
    eig[(eig < 0) & (eig > -1e-10)] = 0  # pyradiomics' correction of machine-precision negatives
    eig.sort()
    return eig


@lru_cache(maxsize=32)
def _full_roi_axes(shape: tuple[int, ...], sy: float, sx: float) -> np.ndarray:
    """:func:`_pyradiomics_axes` of a ROI that fills its ``shape``: the same calls on the same coordinates."""
    return _pyradiomics_axes(np.ones(shape, dtype=np.bool_), sy, sx)


def shape2d_features(roi: np.ndarray, spacing: Sequence[float], names: Sequence[str]) -> dict[str, float]:
    """pyradiomics' shape2D features of the 2D boolean ``roi`` (cropped to its bounding box), ``spacing`` (x, y)."""
    sx, sy = float(spacing[0]), float(spacing[1])
    roi = np.ascontiguousarray(roi, dtype=np.bool_)
    perimeter, surface, diameter = _marching_squares(roi, sy, sx, _LINES, _EDGE_MID)
    n, eig = _axes(roi, sy, sx)
    if {"MajorAxisLength", "MinorAxisLength", "Elongation"} & set(names):
        # A full ROI (the presets' default mask) has the same coordinates for every image of its size.
        eig = _full_roi_axes(roi.shape, sy, sx).copy() if roi.all() else _pyradiomics_axes(roi, sy, sx)

    def sphericity() -> float:
        return (2 * np.sqrt(np.pi * surface)) / perimeter

    formulas = {
        "MeshSurface": lambda: surface,
        "PixelSurface": lambda: n * (sx * sy),
        "Perimeter": lambda: perimeter,
        "PerimeterSurfaceRatio": lambda: perimeter / surface,
        "Sphericity": sphericity,
        "MaximumDiameter": lambda: diameter,
        "MajorAxisLength": lambda: np.nan if eig[1] < 0 else np.sqrt(eig[1]) * 4,
        "MinorAxisLength": lambda: np.nan if eig[0] < 0 else np.sqrt(eig[0]) * 4,
        "Elongation": lambda: np.nan if eig[0] < 0 or eig[1] < 0 else np.sqrt(eig[0] / eig[1]),
    }
    with np.errstate(divide="ignore", invalid="ignore"):  # pyradiomics lets numpy give inf/nan here
        return {name: float(formulas[name]()) for name in names}
