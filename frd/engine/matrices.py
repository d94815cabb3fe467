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
def _glrlm_lines(img, mask, angles, ng, nr):  # pragma: no cover - compiled
    """:func:`glrlm` for any angles: each line followed voxel by voxel (3D volumes, steps longer than 1)."""
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
def _pads(shape, angles):  # pragma: no cover - compiled
    """The border (pz, py, px) as wide as the largest offset per axis, and the padded row sizes (qy, qx)."""
    pz = py = px = 0
    for a in range(angles.shape[0]):
        pz = max(pz, abs(angles[a, 0]))
        py = max(py, abs(angles[a, 1]))
        px = max(px, abs(angles[a, 2]))
    return pz, py, px, shape[1] + 2 * py, shape[2] + 2 * px


@njit
def _padded(img, mask, angles):  # pragma: no cover - compiled
    """Flat copies of ``img``/``mask`` with a border of unmasked voxels as wide as the largest offset,
    and each angle as a flat offset: every neighbour of an ROI voxel is then a valid index, and one
    outside the image is simply not in the ROI, as pyradiomics' bounds checks treat it."""
    nz, ny, nx = img.shape
    pz, py, px, qy, qx = _pads(img.shape, angles)
    qz = nz + 2 * pz
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
def _glszm_flood(img, mask, angles, ng):  # pragma: no cover - compiled
    """:func:`glszm` for any neighbourhood: a flood fill from each unvisited ROI voxel (3D volumes)."""
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
    return _zone_matrix(zones_gl, zones_size, nzones, max_size, ng)


@njit
def _zone_matrix(zones_gl, zones_size, nzones, max_size, ng):  # pragma: no cover - compiled
    """(P, sizes) from the level and size of each zone."""
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
def _copies(cells):  # pragma: no cover - compiled
    """How many copies of a count array of ``cells`` to interleave: neighbouring voxels often add to the
    same cell, and four copies (by x mod 4) let those increments run without waiting for each other.
    Large arrays (many grey levels, where neighbours rarely share a cell) keep one: zeroing and adding
    up copies would cost more than it saves."""
    return 4 if cells <= 1 << 14 else 1


@njit
def neighbourhood(img, mask, angles, sym_index, ng, n_sym, alpha, want_glcm, want_gldm, want_ngtdm):  # pragma: no cover
    """GLCM, GLDM and NGTDM in one pass over each voxel's ROI neighbours (``angles``: both directions).

    * GLCM[i-1, j-1, u]: pairs along angle u and its opposite, i.e. pyradiomics' one-directional
      matrix plus its transpose (the symmetric GLCM); ``sym_index`` maps each angle to u < n_sym.
    * GLDM[i-1, d]: voxels of level i with d neighbours within ``alpha`` grey levels.
    * NGTDM[i-1]: [voxel count, sum of |i - mean of ROI neighbours|, i], in pyradiomics' voxel order.

    The padded image holds level 0 outside the ROI, so a row's neighbour counts and sums are
    branch-free loops over x (which the compiler vectorises), one per offset; counts are integers
    with a level-0 row and column that are dropped. When every u is an angle and its opposite, only
    the first of the two is counted and the transpose added at the end (half the increments).
    """
    nz, ny, nx = img.shape
    flat, _, offsets = _padded(img, mask, angles)
    pz, py, px, qy, qx = _pads(img.shape, angles)
    na = offsets.size
    uses = np.zeros(n_sym, dtype=np.int64)
    first = np.full(n_sym, -1, dtype=np.int64)
    for a in range(na):
        u = sym_index[a]
        uses[u] += 1
        if first[u] < 0:
            first[u] = a
    halves = True
    for a in range(na):
        u = sym_index[a]
        if uses[u] != 2 or (a != first[u] and offsets[a] != -offsets[first[u]]):
            halves = False
    counted = np.empty(na, dtype=np.int64)  # the angles whose pairs the GLCM counts
    n_counted = 0
    for a in range(na):
        if not halves or a == first[sym_index[a]]:
            counted[n_counted] = a
            n_counted += 1
    if not want_glcm:
        n_counted = 0
    g1 = ng + 1
    plane = n_sym * g1 * g1
    copies = _copies(plane)
    pairs = np.zeros(copies * plane if want_glcm else 0, dtype=np.int64)
    dplane = g1 * (na + 1)
    dependence = np.zeros(copies * dplane, dtype=np.int64)
    voxels = np.zeros(g1, dtype=np.int64)
    diffs = np.zeros(g1)
    cnt = np.empty(nx, dtype=np.int32)
    tot = np.empty(nx, dtype=np.int32)
    dep = np.empty(nx, dtype=np.int32)
    code = np.empty(nx, dtype=np.int64)
    cm = copies - 1
    for z in range(nz):
        for y in range(ny):  # raster order, as pyradiomics' voxel loop (the NGTDM sums keep its order)
            base = ((z + pz) * qy + y + py) * qx + px
            cur = flat[base : base + nx]
            if want_gldm or want_ngtdm:
                cnt[:] = 0
                tot[:] = 0
                dep[:] = 0
                for a in range(na):
                    nb = flat[base + offsets[a] : base + offsets[a] + nx]
                    for x in range(nx):
                        gj = nb[x]
                        inside = np.int32(gj != 0)
                        cnt[x] += inside
                        tot[x] += gj
                        dep[x] += inside & np.int32(abs(cur[x] - gj) <= alpha)
                for x in range(nx):
                    gi = cur[x]
                    if gi == 0:
                        continue
                    dependence[(x & cm) * dplane + gi * (na + 1) + dep[x]] += 1
                    voxels[gi] += 1
                    # pyradiomics sums the neighbours in float64; the sum of integers is exact either way
                    diffs[gi] += 0.0 if cnt[x] == 0 else abs(float(gi) - float(tot[x]) / float(cnt[x]))
            for c in range(n_counted):
                a = counted[c]
                cell = sym_index[a] * g1 * g1
                nb = flat[base + offsets[a] : base + offsets[a] + nx]
                for x in range(nx):
                    code[x] = (x & cm) * plane + cell + cur[x] * g1 + nb[x]
                for x in range(nx):
                    pairs[code[x]] += 1
    glcm = np.zeros((ng, ng, n_sym) if want_glcm else (0, 0, 0))
    if want_glcm:
        for c in range(1, copies):
            pairs[:plane] += pairs[c * plane : (c + 1) * plane]
        sym = pairs[:plane].reshape((n_sym, g1, g1))
        for u in range(n_sym):
            for i in range(1, g1):
                for j in range(1, g1):
                    v = sym[u, i, j]
                    if halves:
                        v += sym[u, j, i]
                    glcm[i - 1, j - 1, u] = v
    gldm = np.zeros((ng, na + 1) if want_gldm else (0, 0))
    for c in range(1, copies):
        dependence[:dplane] += dependence[c * dplane : (c + 1) * dplane]
    dependence = dependence[:dplane].reshape((g1, na + 1))
    for i in range(gldm.shape[0]):
        for d in range(na + 1):
            gldm[i, d] = dependence[i + 1, d]
    ngtdm = np.zeros((ng, 3) if want_ngtdm else (0, 3))
    for i in range(ngtdm.shape[0]):
        ngtdm[i, 0] = voxels[i + 1]
        ngtdm[i, 1] = diffs[i + 1]
        ngtdm[i, 2] = i + 1
    return glcm, gldm, ngtdm


# --------------------------------------------------------------------------- 2D planes (the presets' 2D images)
#
# A 2D image (one z slice, or force2D's in-plane angles) is handled row by row on one padded plane:
# every access is sequential (a diagonal line jumps a row per voxel), and the work per row is a
# branch-free loop over x wherever a voxel does not depend on its left neighbour.


@njit
def _fill_plane(flat, img, mask, z, wp):  # pragma: no cover - compiled
    """Plane ``z`` of ``img`` into the padded flat plane ``flat`` (row width ``wp``), 0 outside the ROI."""
    ny, nx = img.shape[1], img.shape[2]
    for y in range(ny):
        row = flat[(y + 1) * wp + 1 : (y + 1) * wp + 1 + nx]
        for x in range(nx):
            row[x] = img[z, y, x] * np.int32(mask[z, y, x] != 0)


@njit
def _in_plane(angles, nz):  # pragma: no cover - compiled
    """Whether every angle stays in its z plane with steps of at most one voxel, or leaves a one-slice image."""
    for a in range(angles.shape[0]):
        if angles[a, 0] != 0:
            if nz != 1:
                return False
        elif abs(angles[a, 1]) > 1 or abs(angles[a, 2]) > 1:
            return False
    return True


@njit
def glrlm(img, mask, angles, ng, nr):  # pragma: no cover - compiled
    """Run-length counts P[i-1, r-1, a]; an angle whose lines never hold two ROI voxels is zeroed (2D ROI).

    ``nr`` is the number of run-length columns (pyradiomics: the image's largest size); ``nr <= 0``
    returns only as many as the longest run needs (columns beyond it are zero and add nothing to any
    feature).

    In-plane angles (2D images) go row by row: a voxel's run length is its predecessor's plus one when
    both have its level (the predecessor is in the previous row, kept in a two-row ring, or, along x,
    the voxel to the left), and a run is counted where its successor differs (level 0 outside the ROI
    ends every run); other angles follow each line (:func:`_glrlm_lines`).
    """
    nz, ny, nx = img.shape
    if not _in_plane(angles, nz):
        out = _glrlm_lines(img, mask, angles, ng, nr if nr > 0 else max(nz, ny, nx))
        if nr > 0:
            return out
        used = 0
        for r in range(out.shape[1]):
            if out[:, r, :].any():
                used = r + 1
        return out[:, :used, :].copy()
    na = angles.shape[0]
    wp = nx + 2
    # Steps with dy >= 0 (dx = 1 when dy == 0): a line's runs are the same in either direction.
    sy = np.zeros(na, dtype=np.int64)
    sx = np.zeros(na, dtype=np.int64)
    planar = np.zeros(na, dtype=np.bool_)
    for a in range(na):
        dz, dy, dx = angles[a, 0], angles[a, 1], angles[a, 2]
        if dz != 0:  # a one-slice image: every line holds one voxel, so the angle is zeroed
            continue
        if dy < 0 or (dy == 0 and dx < 0):
            dy, dx = -dy, -dx
        sy[a], sx[a], planar[a] = dy, dx, True
    longest = max(nx, ny) + 2  # run lengths 1..max(nx, ny), background runs included
    plane = (ng + 1) * longest
    copies = _copies(na * plane)
    cm = copies - 1
    hist = np.zeros((na, copies * plane), dtype=np.int64)  # level 0: outside the ROI, dropped
    top = 0  # the longest run in the ROI
    ring = np.zeros((na, 2, wp), dtype=np.int64)
    adjacent = np.zeros(na, dtype=np.int64)  # ROI voxels whose predecessor along the angle is in the ROI
    flat = np.zeros((ny + 2) * wp, dtype=np.int32)
    code = np.empty(nx, dtype=np.int64)
    ends = np.empty(nx, dtype=np.int64)
    for z in range(nz):
        _fill_plane(flat, img, mask, z, wp)
        ring[:] = 0
        for y in range(1, ny + 1):
            cur = y & 1
            row = y * wp + 1
            g = flat[row : row + nx]
            for a in range(na):
                if not planar[a]:
                    continue
                off = sy[a] * wp + sx[a]
                before = flat[row - off : row - off + nx]
                after = flat[row + off : row + off + nx]
                length = ring[a, cur, 1 : 1 + nx]
                pairs = 0
                if sy[a] == 0:  # along x: each voxel continues its left neighbour's run
                    r = 0
                    for x in range(nx):
                        r = r * (g[x] == before[x]) + 1
                        length[x] = r
                else:
                    above = ring[a, 1 - cur, 1 - sx[a] : 1 - sx[a] + nx]
                    for x in range(nx):
                        length[x] = above[x] * (g[x] == before[x]) + 1
                run = 0
                for x in range(nx):
                    code[x] = (x & cm) * plane + g[x] * longest + length[x]
                    ends[x] = after[x] != g[x]
                    pairs += (g[x] != 0) & (before[x] != 0)
                    run = max(run, length[x] * (g[x] != 0))
                top = max(top, run)
                counts = hist[a]
                for x in range(nx):
                    counts[code[x]] += ends[x]
                adjacent[a] += pairs
    out = np.zeros((ng, nr if nr > 0 else top, na))
    columns = min(out.shape[1], top)
    for a in range(na):
        if not planar[a] or not (adjacent[a] or _two_on_a_line(img, mask, sy[a], sx[a])):
            continue
        counts = hist[a, :plane].copy()
        for c in range(1, copies):
            counts += hist[a, c * plane : (c + 1) * plane]
        for g in range(1, ng + 1):
            for r in range(1, columns + 1):
                out[g - 1, r - 1, a] = counts[g * longest + r]
    return out


@njit
def _two_on_a_line(img, mask, sy, sx):  # pragma: no cover - compiled
    """Whether a line of in-plane step (sy, sx) holds two ROI voxels, not necessarily adjacent."""
    nz, ny, nx = img.shape
    seen = np.zeros(nx + ny + 1, dtype=np.int64)
    for z in range(nz):
        seen[:] = 0
        for y in range(ny):
            for x in range(nx):
                if not mask[z, y, x]:
                    continue
                line = y if sy == 0 else (x if sx == 0 else (x - y + ny if sx == 1 else x + y))
                seen[line] += 1
                if seen[line] > 1:
                    return True
    return False


@njit
def _root(parent, k):  # pragma: no cover - compiled
    while parent[k] != k:
        parent[k] = parent[parent[k]]  # path halving
        k = parent[k]
    return k


@njit
def glszm(img, mask, angles, ng):  # pragma: no cover - compiled
    """Zone counts: connected zones (neighbours = ``angles``, both directions) of one grey level.

    Returns (P, sizes): P[i-1, c] counts the zones of level i and size ``sizes[c]``, for the sizes
    that occur (ascending); pyradiomics' matrix has a column for every size up to the largest.

    2D images whose neighbours are the 8 in-plane ones are labelled by runs: each row is cut into
    runs of one level, and a run is joined (union-find) to each run of its level in the row above
    that touches it, diagonals included; each such pair is found once, where it first touches, by
    branch-free tests per run. Other neighbourhoods go to a flood fill
    (:func:`_glszm_flood`).
    """
    nz, ny, nx = img.shape
    if not _in_plane(angles, nz):
        return _glszm_flood(img, mask, angles, ng)
    eight = np.zeros((3, 3), dtype=np.bool_)
    for a in range(angles.shape[0]):
        if angles[a, 0] == 0:
            eight[angles[a, 1] + 1, angles[a, 2] + 1] = True
    eight[1, 1] = True
    if not eight.all():
        return _glszm_flood(img, mask, angles, ng)
    wp = nx + 2
    flat = np.zeros((ny + 2) * wp, dtype=np.int32)
    cap = nz * ny * (nx + 1) + 1  # runs, background runs and one spare slot included
    start = np.empty(cap, dtype=np.int64)
    level = np.empty(cap, dtype=np.int64)
    parent = np.empty(cap, dtype=np.int64)
    length = np.empty(cap, dtype=np.int64)
    label = np.full((2, wp), -1, dtype=np.int64)  # run of each pixel, this row and the one above
    link_run = np.empty(3 * nx + 3, dtype=np.int64)
    link_above = np.empty(3 * nx + 3, dtype=np.int64)
    n = 0
    for z in range(nz):
        _fill_plane(flat, img, mask, z, wp)
        label[:] = -1
        above0 = above1 = 0  # the runs of the row above: [above0, above1)
        for y in range(1, ny + 1):
            cur = label[y & 1]
            up = label[1 - (y & 1)]
            g = flat[y * wp : (y + 1) * wp]
            gu = flat[(y - 1) * wp : y * wp]
            first = n
            for x in range(1, nx + 1):  # a new run where the level changes (and at the row's start)
                start[n] = x
                level[n] = g[x]
                n += (g[x] != g[x - 1]) | (x == 1)
                cur[x] = n - 1
            for k in range(first, n - 1):
                length[k] = start[k + 1] - start[k]
            length[n - 1] = nx + 1 - start[n - 1]
            for k in range(first, n):
                parent[k] = k
            # Links to the runs above with the same level, each pair once: at a run's first pixel to
            # the runs above-left and above (when that one starts there), and from every run above to
            # the pixel below-left of its start (the run that touches it diagonally first).
            m = 0
            for r in range(first, n):
                v = level[r]
                x = start[r]
                link_run[m] = r
                link_above[m] = up[x - 1]
                m += (v != 0) & (gu[x - 1] == v)
                link_run[m] = r
                link_above[m] = up[x]
                m += (v != 0) & (gu[x] == v) & (up[x] != up[x - 1])
            for k in range(above0, above1):
                x = start[k] - 1
                link_run[m] = cur[x]
                link_above[m] = k
                m += (x >= 1) & (level[k] != 0) & (g[x] == level[k])
            for i in range(m):
                a = _root(parent, link_run[i])
                b = _root(parent, link_above[i])
                if a != b:
                    parent[max(a, b)] = min(a, b)
            above0, above1 = first, n
    # Every link points to a smaller index, so one pass in index order leaves each run on its root.
    for r in range(n):
        parent[r] = parent[parent[r]]
    size = np.zeros(n, dtype=np.int64)
    for r in range(n):
        size[parent[r]] += length[r] * (level[r] != 0)
    zones_gl = np.empty(n, dtype=np.int64)
    zones_size = np.empty(n, dtype=np.int64)
    nzones = 0
    max_size = 0
    for r in range(n):
        if parent[r] == r and level[r] != 0:
            zones_gl[nzones] = level[r]
            zones_size[nzones] = size[r]
            nzones += 1
            max_size = max(max_size, size[r])
    return _zone_matrix(zones_gl, zones_size, nzones, max_size, ng)
