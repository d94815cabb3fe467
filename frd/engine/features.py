"""pyradiomics' feature formulas (its definitions, not IBSI's) on the engine's matrices.

Each ``<class>_features`` takes the texture matrix of one ROI (grey levels absent from the ROI
already dropped) and returns ``{feature name: value}`` for the names asked. The formulas follow
pyradiomics-bhklab 3.1.4 term by term, including its conventions for degenerate ROIs (empty
angles averaged out with NaN, 0 or 1 where it divides by zero), so that the values agree to
round-off; only the order of summation differs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ._jit import njit

EPS = np.spacing(1)

Formula = Callable[[], float]


def _pick(formulas: dict[str, Formula], names: Sequence[str]) -> dict[str, float]:
    return {n: float(formulas[n]()) for n in names}


# --------------------------------------------------------------------------- first order

#: The percentiles firstorder reads.
_FIRSTORDER_Q = np.array([10.0, 25.0, 50.0, 75.0, 90.0])

#: Integer-valued ROIs whose value range is at most this many times their size are counted, not partitioned.
_COUNT_RANGE = 4


@njit
def _integer_order_stats(x, ranks):  # pragma: no cover - compiled
    """The values of rank ``ranks`` (increasing) of ``x`` by counting, or an empty array when ``x`` is
    not integer-valued or its range is too wide to count (the caller then partitions)."""
    n = x.size
    lo = x[0]
    hi = x[0]
    for i in range(n):
        v = x[i]
        if v != np.floor(v):  # also NaN and inf
            return np.empty(0)
        lo = min(lo, v)
        hi = max(hi, v)
    if hi - lo > _COUNT_RANGE * n + 256:
        return np.empty(0)
    counts = np.zeros(int(hi - lo) + 1, dtype=np.int64)
    for i in range(n):
        counts[int(x[i] - lo)] += 1
    out = np.empty(ranks.size)
    seen = 0  # voxels with a value below the current one
    level = 0
    for r in range(ranks.size):
        while seen + counts[level] <= ranks[r]:
            seen += counts[level]
            level += 1
        out[r] = lo + level
    return out


@njit
def _bucket_keys(x):  # pragma: no cover - compiled
    """Each value's radix bucket: the top 16 bits of an unsigned key that sorts as the values do (+0 and
    -0 alike), or an empty array when ``x`` holds a NaN.

    Values that are all float32 (an image read or resized as float32: ccnet, v1) take the key of their
    float32 bits, whose top 16 bits hold 7 of the mantissa (buckets 8x finer than float64's 4 bits);
    other values take the float64 key.
    """
    n = x.size
    keys = np.empty(n, dtype=np.uint16)
    narrow = x.astype(np.float32)
    single = True
    for i in range(n):
        v = x[i]
        if v != v:
            return np.empty(0, dtype=np.uint16)
        single &= np.float64(narrow[i]) == v
    if single:
        bits32 = narrow.view(np.uint32)
        sign32 = np.uint32(1) << np.uint32(31)
        for i in range(n):
            k = np.uint32(0) if narrow[i] == 0 else bits32[i]
            k = ~k if k & sign32 else k | sign32
            keys[i] = np.uint16(k >> np.uint32(16))
        return keys
    bits = x.view(np.uint64)
    sign = np.uint64(1) << np.uint64(63)
    for i in range(n):
        k = np.uint64(0) if x[i] == 0.0 else bits[i]
        k = ~k if k & sign else k | sign
        keys[i] = np.uint16(k >> np.uint64(48))
    return keys


@njit
def _float_order_stats(x, ranks):  # pragma: no cover - compiled
    """The values of rank ``ranks`` (increasing) of ``x`` by a one-level radix select, or an empty array
    when ``x`` holds a NaN (the caller then partitions).

    Each value falls in one of 65536 buckets that order as the values do (:func:`_bucket_keys`); one
    pass counts them, a second gathers the values of the buckets that hold a wanted rank (all of them
    in that one pass), and only those are searched (a quickselect per wanted rank): a few per cent
    of the ROI instead of all of it.
    """
    n = x.size
    if n == 0:
        return np.empty(0)
    keys = _bucket_keys(x)
    if keys.size != n:
        return np.empty(0)
    hist = np.zeros(65536, dtype=np.int64)
    for i in range(n):
        hist[keys[i]] += 1
    # the bucket of each rank, and the values below it
    bucket_of = np.empty(ranks.size, dtype=np.int64)
    below_of = np.empty(ranks.size, dtype=np.int64)
    bucket = 0
    below = 0
    for r in range(ranks.size):
        while below + hist[bucket] <= ranks[r]:
            below += hist[bucket]
            bucket += 1
        bucket_of[r] = bucket
        below_of[r] = below
    slot = np.full(65536, -1, dtype=np.int64)  # where each wanted bucket's values start in ``values``
    total = 0
    for r in range(ranks.size):
        if slot[bucket_of[r]] < 0:
            slot[bucket_of[r]] = total
            total += hist[bucket_of[r]]
    values = np.empty(total)
    fill = slot.copy()
    for i in range(n):
        k = keys[i]
        if slot[k] >= 0:
            values[fill[k]] = x[i]
            fill[k] += 1
    out = np.empty(ranks.size)
    lo = -1
    for r in range(ranks.size):
        if r > 0 and ranks[r] == ranks[r - 1]:  # the last element's rank, asked twice
            out[r] = out[r - 1]
            continue
        start = slot[bucket_of[r]]
        k = start + ranks[r] - below_of[r]
        if r == 0 or bucket_of[r] != bucket_of[r - 1]:
            lo = start
        # ranks increase: what lies right of the previous rank's place holds the later ones
        _select(values, lo, start + hist[bucket_of[r]], k)
        out[r] = values[k]
        lo = k + 1
    return out


@njit
def _select(a, lo, hi, k):  # pragma: no cover - compiled
    """Put the value of rank ``k`` of ``a[lo:hi]`` at ``a[k]``, smaller ones left of it, larger right
    (quickselect, Hoare partition around a median of three; equal values split evenly; no NaN)."""
    while hi - lo > 1:
        x, y, z = a[lo], a[(lo + hi - 1) // 2], a[hi - 1]
        pivot = max(min(x, y), min(max(x, y), z))
        i = lo
        j = hi - 1
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j + 1
        elif k >= i:
            lo = i
        else:
            return


@njit
def _lerp_quantiles(stats, virtual, prev, n):  # pragma: no cover - compiled
    """numpy's linear interpolation (``_lerp``) between the order statistics ``stats`` (pairs per quantile)."""
    out = np.empty(virtual.size)
    for i in range(virtual.size):
        a = stats[2 * i]
        b = stats[2 * i + 1]
        if virtual[i] >= n - 1:  # numpy takes the last element
            out[i] = b
            continue
        t = virtual[i] - prev[i]
        d = b - a
        out[i] = b - d * (1 - t) if t >= 0.5 else a + d * t
    return out


def percentiles(x: np.ndarray, pct: np.ndarray) -> np.ndarray:
    """``np.percentile(x, pct)`` (linear method) of a 1-D float64 ``x``, bit for bit.

    An image's ROI intensities are often integers (8/16-bit files without normalisation: v0): there
    the order statistics come from a histogram in one pass; other values (ccnet's resized, v1's
    normalised images) go through a radix select. Either finds the same order statistics as numpy's
    partition, and numpy's interpolation arithmetic is then applied to them.
    """
    n = x.size
    if n == 0:
        return np.percentile(x, pct)
    q = np.true_divide(pct, 100)  # numpy's own steps: divide, then (n - 1) * q
    virtual = (n - 1) * q
    prev = np.floor(virtual)
    lower = np.minimum(prev, n - 1).astype(np.int64)
    upper = np.minimum(prev + 1, n - 1).astype(np.int64)
    ranks = np.empty(2 * q.size, dtype=np.int64)
    ranks[0::2], ranks[1::2] = lower, upper
    order = np.argsort(ranks, kind="stable")
    stats = _integer_order_stats(x, ranks[order])
    if stats.size == 0:
        stats = _float_order_stats(x, ranks[order])
    if stats.size == 0:
        return np.percentile(x, pct)
    unsorted = np.empty_like(stats)
    unsorted[order] = stats
    return _lerp_quantiles(unsorted, virtual, prev, n)


def firstorder_features(
    values: np.ndarray, counts: np.ndarray, spacing: Sequence[float], shift: float, names: Sequence[str]
) -> dict[str, float]:
    """First-order statistics of the ROI intensities ``values`` (float64) and the voxel ``counts`` per bin."""
    x = values
    n = x.size
    p = counts.astype(float) / float(counts.sum())
    p10, p25, p50, p75, p90 = percentiles(x, _FIRSTORDER_Q)
    mean = np.mean(x)
    dev = x - mean
    shifted = x + shift
    energy = np.dot(shifted, shifted)
    dev2 = dev * dev
    m2 = np.mean(dev2)

    def skew() -> float:
        m3 = np.mean(dev2 * dev)
        return m3 / (m2 if m2 != 0 else 1.0) ** 1.5

    def kurt() -> float:
        m4 = np.mean(dev2 * dev2)
        return m4 / (m2 if m2 != 0 else 1.0) ** 2.0

    def robust_mad() -> float:
        inner = x[(x >= p10) & (x <= p90)]
        return np.mean(np.abs(inner - np.mean(inner)))

    formulas: dict[str, Formula] = {
        "10Percentile": lambda: p10,
        "90Percentile": lambda: p90,
        "Energy": lambda: energy,
        "Entropy": lambda: -np.sum(p * np.log2(p + EPS)),
        "InterquartileRange": lambda: p75 - p25,
        "Kurtosis": kurt,
        "Maximum": lambda: np.max(x),
        "MeanAbsoluteDeviation": lambda: np.mean(np.abs(dev)),
        "Mean": lambda: mean,
        "Median": lambda: p50,
        "Minimum": lambda: np.min(x),
        "Range": lambda: np.max(x) - np.min(x),
        "RobustMeanAbsoluteDeviation": robust_mad,
        "RootMeanSquared": lambda: np.sqrt(energy / n) if n else 0.0,
        "Skewness": skew,
        "StandardDeviation": lambda: np.sqrt(m2),
        "TotalEnergy": lambda: energy * float(np.multiply.reduce(spacing)),
        "Uniformity": lambda: np.sum(p**2),
        "Variance": lambda: np.sqrt(m2) ** 2,
    }
    return _pick(formulas, names)


# --------------------------------------------------------------------------- GLCM


def glcm_normalise(counts: np.ndarray, present: np.ndarray) -> np.ndarray:
    """The symmetric counts over the ``present`` levels, empty angles dropped (when several), each summing to 1."""
    p = counts[present][:, present]
    sums = p.sum((0, 1))
    if p.shape[2] > 1:
        p, sums = p[:, :, sums != 0], sums[sums != 0]
    return p / np.where(sums == 0, np.nan, sums)[None, None, :]


#: Per-angle GLCM features computed by :func:`_glcm_per_angle`, in its output order.
_GLCM_COLUMNS = (
    "Autocorrelation",
    "JointAverage",
    "ClusterProminence",
    "ClusterShade",
    "ClusterTendency",
    "Contrast",
    "Correlation",
    "DifferenceAverage",
    "DifferenceEntropy",
    "DifferenceVariance",
    "JointEnergy",
    "JointEntropy",
    "Imc1",
    "Imc2",
    "Idm",
    "Idmn",
    "Id",
    "Idn",
    "InverseVariance",
    "MaximumProbability",
    "SumAverage",
    "SumEntropy",
    "SumSquares",
)


#: Products px_i * py_j at or above this take log2(t + eps) = log2 px_i + log2 py_j + eps / (t ln 2):
#: the next term, (eps / t)² / 2, is below 3e-12 of a bit there and sums to < 1e-16 of HXY1/HXY2.
_SPLIT_LOG = 1e-10


@njit
def _glcm_per_angle(counts, present, lv, ng):  # pragma: no cover - compiled
    """All GLCM features but MCC for each angle; rows follow _GLCM_COLUMNS.

    ``counts`` is the symmetric count matrix over every level 1..Ng, ``present`` the indices of
    the levels in the ROI; each angle is normalised to sum 1 on the fly. An angle without any
    pair gives a NaN column, which the mean over angles skips, as pyradiomics drops it.
    """
    n = present.size
    na = counts.shape[2]
    eps = 2.220446049250313e-16
    out = np.empty((23, na))
    p = np.empty((n, n))
    px = np.empty(n)
    py = np.empty(n)
    lpx = np.empty(n)
    lpy = np.empty(n)
    pdiff = np.empty(ng)
    psum = np.empty(2 * ng - 1)
    for a in range(na):
        total = 0.0
        for i in range(n):
            for j in range(n):
                v = counts[present[i], present[j], a]
                p[i, j] = v
                total += v
        if total == 0:
            out[:, a] = np.nan
            continue
        for i in range(n):
            px[i] = 0.0
            py[i] = 0.0
        for i in range(n):
            for j in range(n):
                v = p[i, j] / total
                p[i, j] = v
                px[i] += v
                py[j] += v
        ux = 0.0
        uy = 0.0
        for i in range(n):
            ux += lv[i] * px[i]
            uy += lv[i] * py[i]
            lpx[i] = np.log2(px[i]) if px[i] > 0 else -np.inf
            lpy[i] = np.log2(py[i]) if py[i] > 0 else -np.inf
        pdiff[:] = 0.0
        psum[:] = 0.0
        # HXY1 = -sum p_ij log2(px_i py_j + eps) and HXY2 = -sum px_i py_j log2(px_i py_j + eps) split
        # log2(px_i py_j) = log2 px_i + log2 py_j, whose sums are O(n); see _SPLIT_LOG.
        sum_x = sum_y = slx = sly = 0.0
        small_x = small_y = np.inf
        nx = ny = 0
        for i in range(n):
            if px[i] > 0:
                sum_x += px[i]
                slx += px[i] * lpx[i]
                small_x = min(small_x, px[i])
                nx += 1
            if py[i] > 0:
                sum_y += py[i]
                sly += py[i] * lpy[i]
                small_y = min(small_y, py[i])
                ny += 1
        split = small_x * small_y >= _SPLIT_LOG
        ln2 = 0.6931471805599453
        hxy2 = 0.0
        if split:
            hxy2 = -(sum_y * slx + sum_x * sly) - nx * ny * eps / ln2
        else:
            for i in range(n):
                for j in range(n):
                    t = px[i] * py[j]
                    if t > 0:
                        hxy2 -= t * np.log2(t + eps)
        ac = cp = cs = ct = con = ene = hxy = hxy1 = sx = sy = cm = maxp = 0.0
        corr1 = 0.0
        for i in range(n):
            li = lv[i]
            for j in range(n):
                v = p[i, j]
                if v == 0.0:
                    continue
                lj = lv[j]
                pdiff[int(abs(li - lj))] += v
                psum[int(li + lj) - 2] += v
                ac += v * li * lj
                s = li + lj - ux - uy
                s2 = s * s
                ct += v * s2
                cs += v * s2 * s
                cp += v * s2 * s2
                d = li - lj
                con += v * d * d
                ene += v * v
                hxy -= v * np.log2(v + eps)
                if split:
                    corr1 += v / (px[i] * py[j])
                else:
                    hxy1 -= v * np.log2(px[i] * py[j] + eps)
                dx = li - ux
                dy = lj - uy
                sx += v * dx * dx
                sy += v * dy * dy
                cm += v * dx * dy
                if v > maxp:
                    maxp = v
        if split:  # sum_ij p_ij (log2 px_i + log2 py_j) = sum_i px_i log2 px_i + sum_j py_j log2 py_j
            hxy1 = -(slx + sly) - corr1 * eps / ln2
        hx = 0.0
        hy = 0.0
        for i in range(n):
            hx -= px[i] * np.log2(px[i] + eps)
            hy -= py[i] * np.log2(py[i] + eps)
        davg = dent = idm = idmn = idv = idn = inv = 0.0
        for k in range(ng):
            v = pdiff[k]
            davg += k * v
            if v > 0:
                dent -= v * np.log2(v + eps)
            idm += v / (1 + k * k)
            idmn += v / (1 + (k * k) / (ng * ng))
            idv += v / (1 + k)
            idn += v / (1 + k / ng)
            if k > 0:
                inv += v / (k * k)
        dvar = 0.0
        for k in range(ng):
            dvar += pdiff[k] * (k - davg) ** 2
        savg = sent = 0.0
        for k in range(2 * ng - 1):
            v = psum[k]
            savg += (k + 2) * v
            if v > 0:
                sent -= v * np.log2(v + eps)
        sig = (sx**0.5) * (sy**0.5)
        corr = 1.0 if sig == 0 else cm / (sig + eps)
        div = max(hx, hy)
        imc1 = 0.0 if div == 0 else (hxy - hxy1) / div
        imc2 = 0.0 if hxy2 == hxy else (1 - np.exp(-2 * (hxy2 - hxy))) ** 0.5
        row = (
            ac,
            ux,
            cp,
            cs,
            ct,
            con,
            corr,
            davg,
            dent,
            dvar,
            ene,
            hxy,
            imc1,
            imc2,
            idm,
            idmn,
            idv,
            idn,
            inv,
            maxp,
            savg,
            sent,
            sx,
        )
        for r in range(23):
            out[r, a] = row[r]
    return out


def glcm_features(
    counts: np.ndarray, present: np.ndarray, levels: np.ndarray, ng: int, names: Sequence[str]
) -> dict[str, float]:
    """GLCM features of the symmetric counts (Ng, Ng, Na) over the ROI's ``present`` level indices."""
    idx = present.astype(np.int64)
    means = _row_nanmeans(_glcm_per_angle(counts, idx, levels.astype(float), int(ng)))
    out: dict[str, float] = {}
    for name in names:
        if name == "MCC":
            out[name] = float(_mcc(glcm_normalise(counts, idx)))
        elif name in _GLCM_INDEX:
            out[name] = float(means[_GLCM_INDEX[name]])
        else:
            raise LookupError(f"Feature not found: {name}")
    return out


_GLCM_INDEX = {n: k for k, n in enumerate(_GLCM_COLUMNS)}


@njit
def _row_nanmeans(rows):  # pragma: no cover - compiled
    """np.nanmean along axis 1 (NaN for a row without any number), without the warning."""
    out = np.empty(rows.shape[0])
    for r in range(rows.shape[0]):
        total = 0.0
        count = 0
        for c in range(rows.shape[1]):
            v = rows[r, c]
            if v == v:
                total += v
                count += 1
        out[r] = total / count if count else np.nan
    return out


def _mcc(p: np.ndarray) -> float:
    """Maximal correlation coefficient: sqrt of Q's second largest eigenvalue, Q_ij = sum_k p_ik p_jk / (px_i py_k)."""
    if p.shape[0] < 2:
        return 1.0  # flat region
    px = p.sum(1, keepdims=True)
    py = p.sum(0, keepdims=True)
    w = p / (px * py + EPS)
    q = np.einsum("ika,jka->aij", w, p)
    ev = np.sort(np.linalg.eigvals(q), axis=1)
    return np.nanmean(np.sqrt(ev[:, -2])).real


# --------------------------------------------------------------------------- GLRLM


_GLRLM_COLUMNS = (
    "ShortRunEmphasis",
    "LongRunEmphasis",
    "GrayLevelNonUniformity",
    "GrayLevelNonUniformityNormalized",
    "RunLengthNonUniformity",
    "RunLengthNonUniformityNormalized",
    "RunPercentage",
    "GrayLevelVariance",
    "RunVariance",
    "RunEntropy",
    "LowGrayLevelRunEmphasis",
    "HighGrayLevelRunEmphasis",
    "ShortRunLowGrayLevelEmphasis",
    "ShortRunHighGrayLevelEmphasis",
    "LongRunLowGrayLevelEmphasis",
    "LongRunHighGrayLevelEmphasis",
)
_GLRLM_INDEX = {n: k for k, n in enumerate(_GLRLM_COLUMNS)}


@njit
def _glrlm_per_angle(p, lv):  # pragma: no cover - compiled
    """GLRLM features for each angle of run counts ``p`` (Ng', Nr, Na); an angle without runs gives NaN."""
    ng, nrl, na = p.shape
    eps = 2.220446049250313e-16
    out = np.empty((16, na))
    pr = np.empty(nrl)
    pg = np.empty(ng)
    for a in range(na):
        pr[:] = 0.0
        pg[:] = 0.0
        for i in range(ng):
            for j in range(nrl):
                v = p[i, j, a]
                pr[j] += v
                pg[i] += v
        nr = 0.0
        for i in range(ng):
            nr += pg[i]
        if nr == 0:
            out[:, a] = np.nan
            continue
        sre = lre = rln = np_ = ui = uj = 0.0
        for j in range(nrl):
            r = j + 1.0
            v = pr[j]
            sre += v / (r * r)
            lre += v * r * r
            rln += v * v
            np_ += v * r
            uj += v / nr * r
        gln = lgl = hgl = 0.0
        for i in range(ng):
            v = pg[i]
            li = lv[i]
            gln += v * v
            lgl += v / (li * li)
            hgl += v * li * li
            ui += v / nr * li
        glv = 0.0
        for i in range(ng):
            glv += pg[i] / nr * (lv[i] - ui) ** 2
        rv = 0.0
        for j in range(nrl):
            rv += pr[j] / nr * (j + 1.0 - uj) ** 2
        ent = srl = srh = lrl = lrh = 0.0
        for i in range(ng):
            i2 = lv[i] * lv[i]
            for j in range(nrl):
                v = p[i, j, a]
                if v == 0.0:
                    continue
                j2 = (j + 1.0) * (j + 1.0)
                q = v / nr
                ent -= q * np.log2(q + eps)
                srl += v / (i2 * j2)
                srh += v * i2 / j2
                lrl += v * j2 / i2
                lrh += v * (j2 * i2)
        row = (
            sre / nr,
            lre / nr,
            gln / nr,
            gln / (nr * nr),
            rln / nr,
            rln / (nr * nr),
            nr / np_,
            glv,
            rv,
            ent,
            lgl / nr,
            hgl / nr,
            srl / nr,
            srh / nr,
            lrl / nr,
            lrh / nr,
        )
        for r in range(16):
            out[r, a] = row[r]
    return out


def glrlm_features(counts: np.ndarray, levels: np.ndarray, names: Sequence[str]) -> dict[str, float]:
    """GLRLM features of run counts (Ng', Nr, Na), averaged over the angles that hold runs."""
    means = _row_nanmeans(_glrlm_per_angle(np.ascontiguousarray(counts), levels.astype(float)))
    return {n: float(means[_GLRLM_INDEX[n]]) for n in names}


# --------------------------------------------------------------------------- GLSZM / GLDM (one zone-like layout)


def glszm_features(counts: np.ndarray, sizes: np.ndarray, levels: np.ndarray, names: Sequence[str]) -> dict[str, float]:
    """GLSZM features of zone counts (Ng', len(sizes)) over the zone ``sizes`` that occur."""
    v = _size_emphasis(np.ascontiguousarray(counts), levels.astype(float), sizes)
    return {n: float(v[_GLSZM_INDEX[n]]) for n in names}


def gldm_features(counts: np.ndarray, levels: np.ndarray, names: Sequence[str]) -> dict[str, float]:
    """GLDM features of dependence counts (Ng', Na + 1)."""
    deps = np.arange(1, counts.shape[1] + 1, dtype=np.float64)  # column j holds j dependent neighbours
    v = _size_emphasis(np.ascontiguousarray(counts), levels.astype(float), deps)
    return {n: float(v[_GLDM_INDEX[n]]) for n in names}


#: Output order of :func:`_size_emphasis`.
_SIZE_KEYS = ("small", "large", "gln", "glnn", "sn", "snn", "glv", "sv", "ent", "low", "high", "sl", "sh", "ll", "lh")
_GLSZM_NAMES = {
    "small": "SmallAreaEmphasis",
    "large": "LargeAreaEmphasis",
    "gln": "GrayLevelNonUniformity",
    "glnn": "GrayLevelNonUniformityNormalized",
    "sn": "SizeZoneNonUniformity",
    "snn": "SizeZoneNonUniformityNormalized",
    "glv": "GrayLevelVariance",
    "sv": "ZoneVariance",
    "ent": "ZoneEntropy",
    "low": "LowGrayLevelZoneEmphasis",
    "high": "HighGrayLevelZoneEmphasis",
    "sl": "SmallAreaLowGrayLevelEmphasis",
    "sh": "SmallAreaHighGrayLevelEmphasis",
    "ll": "LargeAreaLowGrayLevelEmphasis",
    "lh": "LargeAreaHighGrayLevelEmphasis",
}
_GLDM_NAMES = {
    "small": "SmallDependenceEmphasis",
    "large": "LargeDependenceEmphasis",
    "gln": "GrayLevelNonUniformity",
    "sn": "DependenceNonUniformity",
    "snn": "DependenceNonUniformityNormalized",
    "glv": "GrayLevelVariance",
    "sv": "DependenceVariance",
    "ent": "DependenceEntropy",
    "low": "LowGrayLevelEmphasis",
    "high": "HighGrayLevelEmphasis",
    "sl": "SmallDependenceLowGrayLevelEmphasis",
    "sh": "SmallDependenceHighGrayLevelEmphasis",
    "ll": "LargeDependenceLowGrayLevelEmphasis",
    "lh": "LargeDependenceHighGrayLevelEmphasis",
}
_GLSZM_INDEX = {name: _SIZE_KEYS.index(k) for k, name in _GLSZM_NAMES.items()} | {"ZonePercentage": 15}
_GLDM_INDEX = {name: _SIZE_KEYS.index(k) for k, name in _GLDM_NAMES.items()}


@njit
def _size_emphasis(p, lv, jv):  # pragma: no cover - compiled
    """The formulas GLSZM and GLDM share, over (grey level i, size or dependence jv[j]) counts ``p``.

    Returns the 15 values in _SIZE_KEYS order, then the zone percentage Nz / Np (GLSZM). Nz (the
    divisor) is the number of zones, or of voxels for the GLDM, 1 where it would be 0.
    """
    ng, ns = p.shape
    eps = 2.220446049250313e-16
    pg = np.zeros(ng)
    ps = np.zeros(ns)
    for i in range(ng):
        for j in range(ns):
            pg[i] += p[i, j]
            ps[j] += p[i, j]
    nz = 0.0
    for j in range(ns):
        nz += ps[j]
    npix = 0.0
    for j in range(ns):
        npix += ps[j] * jv[j]
    if nz == 0:
        nz = 1.0
    if npix == 0:
        npix = 1.0
    small = large = sn = uj = 0.0
    for j in range(ns):
        r = jv[j]
        small += ps[j] / (r * r)
        large += ps[j] * r * r
        sn += ps[j] * ps[j]
        uj += ps[j] / nz * r
    gln = low = high = ui = 0.0
    for i in range(ng):
        li = lv[i]
        gln += pg[i] * pg[i]
        low += pg[i] / (li * li)
        high += pg[i] * li * li
        ui += pg[i] / nz * li
    glv = 0.0
    for i in range(ng):
        glv += pg[i] / nz * (lv[i] - ui) ** 2
    sv = 0.0
    for j in range(ns):
        sv += ps[j] / nz * (jv[j] - uj) ** 2
    ent = sl = sh = ll = lh = 0.0
    for i in range(ng):
        i2 = lv[i] * lv[i]
        for j in range(ns):
            v = p[i, j]
            if v == 0.0:
                continue
            j2 = jv[j] * jv[j]
            q = v / nz
            ent -= q * np.log2(q + eps)
            sl += v / (i2 * j2)
            sh += v * i2 / j2
            ll += v * j2 / i2
            lh += v * (j2 * i2)
    out = np.empty(16)
    vals = (
        small / nz,
        large / nz,
        gln / nz,
        gln / (nz * nz),
        sn / nz,
        sn / (nz * nz),
        glv,
        sv,
        ent,
        low / nz,
        high / nz,
        sl / nz,
        sh / nz,
        ll / nz,
        lh / nz,
        nz / npix,
    )
    for k in range(16):
        out[k] = vals[k]
    return out


# --------------------------------------------------------------------------- NGTDM


def ngtdm_features(table: np.ndarray, names: Sequence[str]) -> dict[str, float]:
    """NGTDM features of the (Ng, 3) table [count, sum of differences, grey level], empty levels dropped."""
    t = table[table[:, 0] != 0]
    nvp = t[:, 0].sum()
    p = t[:, 0] / nvp
    s = t[:, 1]
    iv = t[:, 2]
    ngp = np.sum(t[:, 0] > 0)
    di = iv[:, None] - iv[None, :]

    def coarseness() -> float:
        v = np.sum(p * s)
        return 1 / v if v != 0 else 1e6

    def contrast() -> float:
        div = ngp * (ngp - 1)
        if div == 0:
            return 0.0
        return np.sum(p[:, None] * p[None, :] * di**2) * np.sum(s) / nvp / div

    def busyness() -> float:
        ip = iv * p
        absdiff = np.sum(np.abs(ip[:, None] - ip[None, :]))
        return np.sum(p * s) / absdiff if absdiff != 0 else 0.0

    def complexity() -> float:
        ps = p * s
        num = ps[:, None] + ps[None, :]
        den = p[:, None] + p[None, :]
        return np.sum(np.abs(di) * num / den) / nvp

    def strength() -> float:
        total = np.sum(s)
        if total == 0:
            return 0.0
        return np.sum((p[:, None] + p[None, :]) * di**2) / total

    formulas: dict[str, Formula] = {
        "Coarseness": coarseness,
        "Contrast": contrast,
        "Busyness": busyness,
        "Complexity": complexity,
        "Strength": strength,
    }
    return _pick(formulas, names)
