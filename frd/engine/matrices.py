"""Texture matrices (GLCM, GLRLM, GLSZM, GLDM, NGTDM) as pyradiomics' C code counts them, compiled by numba.

Every kernel takes a discretised image ``img`` (int32, grey levels 1..Ng inside the mask) and a
``mask`` (uint8) as 3D arrays (z, y, x; a 2D image is one z slice) and the neighbour offsets
``angles`` (Na, 3) that pyradiomics' ``cMatrices.generate_angles`` yields for the same image. The
counts are integers, so they equal pyradiomics' matrices exactly; only the feature formulas that
follow can differ, by summation order.

The matrices hold every grey level 1..Ng; callers drop the levels absent from the ROI as
pyradiomics does.
"""

from __future__ import annotations

import numpy as np

from ._jit import njit


@njit
def _steps(pos, step, n):  # pragma: no cover - compiled
    """How many voxels a line from ``pos`` moving by ``step`` stays inside 0..n-1 (any count if step is 0)."""
    if step > 0:
        return (n - 1 - pos) // step + 1
    if step < 0:
        return pos // (-step) + 1
    return 1 << 30


@njit
def glrlm(img, mask, angles, ng, nr):  # pragma: no cover - compiled
    """Run-length counts P[i-1, r-1, a]; an angle whose lines never hold two ROI voxels is zeroed (2D ROI)."""
    nz, ny, nx = img.shape
    na = angles.shape[0]
    out = np.zeros((ng, nr, na))
    flat_img = img.ravel()
    flat_mask = mask.ravel()
    for a in range(na):
        dz, dy, dx = angles[a, 0], angles[a, 1], angles[a, 2]
        off = (dz * ny + dy) * nx + dx
        multi = False
        for z in range(nz):
            for y in range(ny):
                for x in range(nx):
                    # A line starts where one step back leaves the image.
                    pz, py, px = z - dz, y - dy, x - dx
                    if 0 <= pz < nz and 0 <= py < ny and 0 <= px < nx:
                        continue
                    length = min(_steps(z, dz, nz), _steps(y, dy, ny), _steps(x, dx, nx))
                    j = (z * ny + y) * nx + x
                    gl = -1
                    rl = 0
                    elements = 0
                    for _ in range(length):
                        if flat_mask[j]:
                            elements += 1
                            v = flat_img[j]
                            if gl == -1:
                                gl = v
                            elif v == gl:
                                rl += 1
                            else:
                                out[gl - 1, rl, a] += 1.0
                                gl = v
                                rl = 0
                        elif gl > -1:
                            out[gl - 1, rl, a] += 1.0
                            gl = -1
                            rl = 0
                        j += off
                    if gl > -1:
                        out[gl - 1, rl, a] += 1.0
                    if elements > 1:
                        multi = True
        if not multi:
            out[:, :, a] = 0.0
    return out


@njit
def _padded(img, mask, angles):  # pragma: no cover - compiled
    """Flat copies of ``img``/``mask`` with a border of unmasked voxels as wide as the largest offset,
    and each angle as a flat offset: every neighbour of an ROI voxel is then a valid index, and one
    outside the image is simply not in the ROI, as pyradiomics' bounds checks treat it."""
    nz, ny, nx = img.shape
    pz = py = px = 0
    for a in range(angles.shape[0]):
        pz = max(pz, abs(angles[a, 0]))
        py = max(py, abs(angles[a, 1]))
        px = max(px, abs(angles[a, 2]))
    qz, qy, qx = nz + 2 * pz, ny + 2 * py, nx + 2 * px
    flat_img = np.zeros(qz * qy * qx, dtype=np.int32)
    flat_mask = np.zeros(qz * qy * qx, dtype=np.uint8)
    for z in range(nz):
        for y in range(ny):
            base = ((z + pz) * qy + y + py) * qx + px
            for x in range(nx):
                if mask[z, y, x]:
                    flat_img[base + x] = img[z, y, x]
                    flat_mask[base + x] = 1
    offsets = np.empty(angles.shape[0], dtype=np.int64)
    for a in range(angles.shape[0]):
        offsets[a] = (angles[a, 0] * qy + angles[a, 1]) * qx + angles[a, 2]
    return flat_img, flat_mask, offsets


@njit
def glszm(img, mask, angles, ng):  # pragma: no cover - compiled
    """Zone counts: connected zones (neighbours = ``angles``, both directions) of one grey level.

    Returns (P, sizes): P[i-1, c] counts the zones of level i and size ``sizes[c]``, for the sizes
    that occur (ascending); pyradiomics' matrix has a column for every size up to the largest.
    """
    flat_img, todo, offsets = _padded(img, mask, angles)
    na = offsets.size
    nvox = 0
    for k in range(todo.size):
        nvox += todo[k]
    stack = np.empty(max(nvox, 1), dtype=np.int64)
    zones_gl = np.empty(max(nvox, 1), dtype=np.int64)
    zones_size = np.empty(max(nvox, 1), dtype=np.int64)
    nzones = 0
    max_size = 0
    for start in range(todo.size):
        if not todo[start]:
            continue
        gl = flat_img[start]
        stack[0] = start
        top = 1
        todo[start] = 0
        size = 0
        while top > 0:
            top -= 1
            k = stack[top]
            size += 1
            for a in range(na):
                j = k + offsets[a]
                if todo[j] and flat_img[j] == gl:
                    todo[j] = 0
                    stack[top] = j
                    top += 1
        zones_gl[nzones] = gl
        zones_size[nzones] = size
        nzones += 1
        if size > max_size:
            max_size = size
    # Only the zone sizes that occur: pyradiomics drops the empty size columns before any formula.
    column = np.full(max_size + 1, -1, dtype=np.int64)
    for k in range(nzones):
        column[zones_size[k]] = 0
    sizes = np.flatnonzero(column >= 0)
    for c in range(sizes.size):
        column[sizes[c]] = c
    out = np.zeros((ng, sizes.size))
    for k in range(nzones):
        out[zones_gl[k] - 1, column[zones_size[k]]] += 1.0
    return out, sizes.astype(np.float64)


@njit
def neighbourhood(img, mask, angles, sym_index, ng, n_sym, alpha, want_glcm, want_gldm, want_ngtdm):  # pragma: no cover
    """GLCM, GLDM and NGTDM in one pass over each voxel's ROI neighbours (``angles``: both directions).

    * GLCM[i-1, j-1, u]: pairs along angle u and its opposite, i.e. pyradiomics' one-directional
      matrix plus its transpose (the symmetric GLCM); ``sym_index`` maps each angle to u < n_sym.
    * GLDM[i-1, d]: voxels of level i with d neighbours within ``alpha`` grey levels.
    * NGTDM[i-1]: [voxel count, sum of |i - mean of ROI neighbours|, i], in pyradiomics' voxel order.
    """
    flat_img, flat_mask, offsets = _padded(img, mask, angles)
    na = offsets.size
    glcm = np.zeros((ng, ng, n_sym) if want_glcm else (0, 0, 0))
    gldm = np.zeros((ng, na + 1) if want_gldm else (0, 0))
    ngtdm = np.zeros((ng, 3) if want_ngtdm else (0, 3))
    for g in range(ngtdm.shape[0]):
        ngtdm[g, 2] = g + 1
    for i in range(flat_mask.size):  # raster order, as pyradiomics' voxel loop
        if not flat_mask[i]:
            continue
        gi = flat_img[i]
        dep = 0
        count = 0.0
        total = 0.0
        for a in range(na):
            j = i + offsets[a]
            if not flat_mask[j]:
                continue
            gj = flat_img[j]
            if want_glcm:
                glcm[gi - 1, gj - 1, sym_index[a]] += 1.0
            if abs(gi - gj) <= alpha:
                dep += 1
            count += 1.0
            total += gj
        if want_gldm:
            gldm[gi - 1, dep] += 1.0
        if want_ngtdm:
            ngtdm[gi - 1, 0] += 1.0
            ngtdm[gi - 1, 1] += 0.0 if count == 0 else abs(float(gi) - total / count)
    return glcm, gldm, ngtdm
