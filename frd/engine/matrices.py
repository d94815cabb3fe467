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
def glrlm(img, mask, angles, ng, nr):  # pragma: no cover - compiled
    """Run-length counts P[i-1, r-1, a]; an angle whose lines never hold two ROI voxels is zeroed (2D ROI)."""
    nz, ny, nx = img.shape
    na = angles.shape[0]
    out = np.zeros((ng, nr, na))
    for a in range(na):
        dz, dy, dx = angles[a, 0], angles[a, 1], angles[a, 2]
        multi = False
        for z in range(nz):
            for y in range(ny):
                for x in range(nx):
                    # A line starts where one step back leaves the image.
                    pz, py, px = z - dz, y - dy, x - dx
                    if 0 <= pz < nz and 0 <= py < ny and 0 <= px < nx:
                        continue
                    gl = -1
                    rl = 0
                    elements = 0
                    cz, cy, cx = z, y, x
                    while 0 <= cz < nz and 0 <= cy < ny and 0 <= cx < nx:
                        if mask[cz, cy, cx]:
                            elements += 1
                            v = img[cz, cy, cx]
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
                        cz += dz
                        cy += dy
                        cx += dx
                    if gl > -1:
                        out[gl - 1, rl, a] += 1.0
                    if elements > 1:
                        multi = True
        if not multi:
            out[:, :, a] = 0.0
    return out


@njit
def glszm(img, mask, angles, ng):  # pragma: no cover - compiled
    """Zone counts P[i-1, s-1]: connected zones (neighbours = ``angles``, both directions) of one grey level."""
    nz, ny, nx = img.shape
    na = angles.shape[0]
    todo = mask.copy()
    nvox = 0
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                if todo[z, y, x]:
                    nvox += 1
    stack = np.empty((max(nvox, 1), 3), dtype=np.int64)
    zones_gl = np.empty(max(nvox, 1), dtype=np.int64)
    zones_size = np.empty(max(nvox, 1), dtype=np.int64)
    nzones = 0
    max_size = 0
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                if not todo[z, y, x]:
                    continue
                gl = img[z, y, x]
                top = 0
                stack[top, 0], stack[top, 1], stack[top, 2] = z, y, x
                top += 1
                todo[z, y, x] = 0
                size = 0
                while top > 0:
                    top -= 1
                    kz, ky, kx = stack[top, 0], stack[top, 1], stack[top, 2]
                    size += 1
                    for a in range(na):
                        zz = kz + angles[a, 0]
                        yy = ky + angles[a, 1]
                        xx = kx + angles[a, 2]
                        if zz < 0 or zz >= nz or yy < 0 or yy >= ny or xx < 0 or xx >= nx:
                            continue
                        if todo[zz, yy, xx] and img[zz, yy, xx] == gl:
                            todo[zz, yy, xx] = 0
                            stack[top, 0], stack[top, 1], stack[top, 2] = zz, yy, xx
                            top += 1
                zones_gl[nzones] = gl
                zones_size[nzones] = size
                nzones += 1
                if size > max_size:
                    max_size = size
    out = np.zeros((ng, max_size))
    for k in range(nzones):
        out[zones_gl[k] - 1, zones_size[k] - 1] += 1.0
    return out


@njit
def neighbourhood(img, mask, angles, sym_index, ng, n_sym, alpha, want_glcm, want_gldm, want_ngtdm):  # pragma: no cover
    """GLCM, GLDM and NGTDM in one pass over each voxel's ROI neighbours (``angles``: both directions).

    * GLCM[i-1, j-1, u]: pairs along angle u and its opposite, i.e. pyradiomics' one-directional
      matrix plus its transpose (the symmetric GLCM); ``sym_index`` maps each angle to u < n_sym.
    * GLDM[i-1, d]: voxels of level i with d neighbours within ``alpha`` grey levels.
    * NGTDM[i-1]: [voxel count, sum of |i - mean of ROI neighbours|, i], in pyradiomics' voxel order.
    """
    nz, ny, nx = img.shape
    na = angles.shape[0]
    glcm = np.zeros((ng, ng, n_sym) if want_glcm else (0, 0, 0))
    gldm = np.zeros((ng, na + 1) if want_gldm else (0, 0))
    ngtdm = np.zeros((ng, 3) if want_ngtdm else (0, 3))
    for g in range(ngtdm.shape[0]):
        ngtdm[g, 2] = g + 1
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                if not mask[z, y, x]:
                    continue
                gi = img[z, y, x]
                dep = 0
                count = 0.0
                total = 0.0
                for a in range(na):
                    zz = z + angles[a, 0]
                    yy = y + angles[a, 1]
                    xx = x + angles[a, 2]
                    if zz < 0 or zz >= nz or yy < 0 or yy >= ny or xx < 0 or xx >= nx:
                        continue
                    if not mask[zz, yy, xx]:
                        continue
                    gj = img[zz, yy, xx]
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
