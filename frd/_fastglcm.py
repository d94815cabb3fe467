"""A faster GLCM coefficient step for pyradiomics, numerically equivalent to its own.

pyradiomics' ``RadiomicsGLCM._calculateCoefficients`` builds the sum and difference
distributions p_{x+y}(k) and p_{x-y}(k) with one boolean-mask pass over the whole matrix per k,
O(N_g³) work that takes about a third of the v1 extraction time of a 256² image. Here each is one
``bincount`` per (voxel, angle): the same sums in another order, so the
features agree to round-off (tested against pyradiomics' class in tests/frd/test_fastglcm.py).

The class is swapped into pyradiomics' feature-class table only while ``frd`` extracts
(:func:`fast_glcm`), so other users of pyradiomics in the same process are unaffected.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import numpy as np

_LOCK = threading.Lock()


def _binned(flat: np.ndarray, bins: np.ndarray, size: int) -> np.ndarray:
    """out[v, k, a] = sum of flat[v, e, a] over entries e with bins[e] == k (k < size)."""
    idx = bins.astype(np.int64)
    keep = (idx >= 0) & (idx < size) & (idx == bins)
    idx, sub = idx[keep], flat[:, keep, :]
    nv, _, na = flat.shape
    out = np.empty((nv, size, na))
    for v in range(nv):
        for a in range(na):
            out[v, :, a] = np.bincount(idx, weights=sub[v, :, a], minlength=size)
    return out


_FAST_CLASS: type | None = None


def _fast_class() -> type:
    global _FAST_CLASS
    if _FAST_CLASS is None:
        from radiomics.glcm import RadiomicsGLCM

        class FastGLCM(RadiomicsGLCM):
            # pyradiomics names each feature class's logger after its module; keep its logger.
            __module__ = "radiomics.glcm"

            def _calculateCoefficients(self) -> None:
                super_p = self.P_glcm
                levels = self.coefficients["grayLevels"].astype("float")
                ng = self.coefficients["Ng"]
                i, j = np.meshgrid(levels, levels, indexing="ij", sparse=True)
                k_sum = np.arange(2, (ng * 2) + 1, dtype="float")
                k_diff = np.arange(0, ng, dtype="float")
                nv, n1, n2, na = super_p.shape
                flat = super_p.reshape(nv, n1 * n2, na)
                eps = np.spacing(1)
                self.coefficients.update(
                    eps=eps,
                    i=i,
                    j=j,
                    kValuesSum=k_sum,
                    kValuesDiff=k_diff,
                    px=super_p.sum(2, keepdims=True),
                    py=super_p.sum(1, keepdims=True),
                    ux=np.sum(i[None, :, :, None] * super_p, (1, 2), keepdims=True),
                    uy=np.sum(j[None, :, :, None] * super_p, (1, 2), keepdims=True),
                    pxAddy=_binned(flat, (i + j).ravel() - 2, k_sum.size),
                    pxSuby=_binned(flat, np.abs(i - j).ravel(), k_diff.size),
                    HXY=(-1) * np.sum(super_p * np.log2(super_p + eps), (1, 2)),
                )

        _FAST_CLASS = FastGLCM
    return _FAST_CLASS


@contextlib.contextmanager
def fast_glcm() -> Iterator[None]:
    """Use the fast GLCM class for the extractions inside the ``with`` block."""
    import radiomics

    table = radiomics.getFeatureClasses()
    with _LOCK:
        original = table.get("glcm")
        table["glcm"] = _fast_class()
        try:
            yield
        finally:
            table["glcm"] = original
