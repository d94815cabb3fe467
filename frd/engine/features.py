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

EPS = np.spacing(1)

Formula = Callable[[], float]


def _pick(formulas: dict[str, Formula], names: Sequence[str]) -> dict[str, float]:
    return {n: float(formulas[n]()) for n in names}


# --------------------------------------------------------------------------- first order


def firstorder_features(
    values: np.ndarray, binned_values: np.ndarray, spacing: Sequence[float], shift: float, names: Sequence[str]
) -> dict[str, float]:
    """First-order statistics of the ROI intensities ``values`` (float64) and their bins."""
    x = values
    n = x.size
    _, counts = np.unique(binned_values, return_counts=True)
    p = counts.astype(float) / float(counts.sum())
    p10, p25, p75, p90 = np.percentile(x, [10, 25, 75, 90])
    p50 = np.median(x)
    mean = np.mean(x)
    dev = x - mean
    energy = np.sum((x + shift) ** 2)
    m2 = np.mean(dev**2)

    def skew() -> float:
        m3 = np.mean(dev**3)
        return m3 / (m2 if m2 != 0 else 1.0) ** 1.5

    def kurt() -> float:
        m4 = np.mean(dev**4)
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
        "StandardDeviation": lambda: np.std(x),
        "TotalEnergy": lambda: energy * float(np.multiply.reduce(spacing)),
        "Uniformity": lambda: np.sum(p**2),
        "Variance": lambda: np.std(x) ** 2,
    }
    return _pick(formulas, names)


# --------------------------------------------------------------------------- GLCM


def glcm_normalise(counts: np.ndarray, symmetric: bool = True) -> np.ndarray:
    """Symmetrise, drop angles without any pair, and normalise each angle to sum 1 (NaN where empty)."""
    p = counts + counts.transpose(1, 0, 2) if symmetric else counts.copy()
    sums = p.sum((0, 1))
    if p.shape[2] > 1 and np.any(sums == 0):
        keep = sums != 0
        p, sums = p[:, :, keep], sums[keep]
    sums = np.where(sums == 0, np.nan, sums)
    return p / sums[None, None, :]


def glcm_features(p: np.ndarray, levels: np.ndarray, ng: int, names: Sequence[str]) -> dict[str, float]:
    """GLCM features of the normalised matrix ``p`` (Ng', Ng', Na) over the present grey ``levels``."""
    lv = levels.astype(float)
    i = lv[:, None, None]
    j = lv[None, :, None]
    na = p.shape[2]
    px = p.sum(1, keepdims=True)  # (Ng, 1, Na)
    py = p.sum(0, keepdims=True)  # (1, Ng, Na)
    ux = (i * p).sum((0, 1))  # (Na,)
    uy = (j * p).sum((0, 1))
    # p_{x+y} and p_{x-y} by bincount over the level sums / differences: one pass each.
    kd = np.abs(lv[:, None] - lv[None, :]).ravel().astype(np.int64)
    ks = (lv[:, None] + lv[None, :]).ravel().astype(np.int64) - 2
    flat = p.reshape(-1, na)
    k_diff = np.arange(0, ng, dtype=float)
    k_sum = np.arange(2, 2 * ng + 1, dtype=float)
    p_diff = np.stack([np.bincount(kd, weights=flat[:, a], minlength=ng) for a in range(na)], 1)
    p_sum = np.stack([np.bincount(ks, weights=flat[:, a], minlength=2 * ng - 1) for a in range(na)], 1)
    hxy = -np.sum(p * np.log2(p + EPS), (0, 1))
    s = (i + j) - ux - uy  # (Ng, Ng, Na)

    def mean(v: np.ndarray) -> float:
        return np.nanmean(v)

    def correlation() -> float:
        sigx = np.sum(p * (i - ux) ** 2, (0, 1)) ** 0.5
        sigy = np.sum(p * (j - uy) ** 2, (0, 1)) ** 0.5
        corm = np.sum(p * (i - ux) * (j - uy), (0, 1))
        corr = corm / (sigx * sigy + EPS)
        corr[sigx * sigy == 0] = 1
        return mean(corr)

    def imc1() -> float:
        hx = -np.sum(px * np.log2(px + EPS), (0, 1))
        hy = -np.sum(py * np.log2(py + EPS), (0, 1))
        hxy1 = -np.sum(p * np.log2(px * py + EPS), (0, 1))
        div = np.fmax(hx, hy)
        v = hxy - hxy1
        v[div != 0] /= div[div != 0]
        v[div == 0] = 0
        return mean(v)

    def imc2() -> float:
        pxy = px * py
        hxy2 = -np.sum(pxy * np.log2(pxy + EPS), (0, 1))
        v = (1 - np.e ** (-2 * (hxy2 - hxy))) ** 0.5
        v[hxy2 == hxy] = 0
        return mean(v)

    def mcc() -> float:
        if p.shape[0] < 2:
            return 1.0  # flat region
        # Q_ij = sum_k p_ik p_jk / (px_i py_k + eps), per angle
        w = p / (px * py + EPS)
        q = np.einsum("ika,jka->aij", w, p)
        ev = np.sort(np.linalg.eigvals(q), axis=1)
        return np.nanmean(np.sqrt(ev[:, -2])).real

    def diff_variance() -> float:
        avg = np.sum(k_diff[:, None] * p_diff, 0)
        return mean(np.sum(p_diff * (k_diff[:, None] - avg) ** 2, 0))

    formulas: dict[str, Formula] = {
        "Autocorrelation": lambda: mean(np.sum(p * (i * j), (0, 1))),
        "JointAverage": lambda: mean(ux),
        "ClusterProminence": lambda: mean(np.sum(p * s**4, (0, 1))),
        "ClusterShade": lambda: mean(np.sum(p * s**3, (0, 1))),
        "ClusterTendency": lambda: mean(np.sum(p * s**2, (0, 1))),
        "Contrast": lambda: mean(np.sum(p * (i - j) ** 2, (0, 1))),
        "Correlation": correlation,
        "DifferenceAverage": lambda: mean(np.sum(k_diff[:, None] * p_diff, 0)),
        "DifferenceEntropy": lambda: mean(-np.sum(p_diff * np.log2(p_diff + EPS), 0)),
        "DifferenceVariance": diff_variance,
        "JointEnergy": lambda: mean(np.sum(p**2, (0, 1))),
        "JointEntropy": lambda: mean(hxy),
        "Imc1": imc1,
        "Imc2": imc2,
        "Idm": lambda: mean(np.sum(p_diff / (1 + k_diff[:, None] ** 2), 0)),
        "MCC": mcc,
        "Idmn": lambda: mean(np.sum(p_diff / (1 + k_diff[:, None] ** 2 / ng**2), 0)),
        "Id": lambda: mean(np.sum(p_diff / (1 + k_diff[:, None]), 0)),
        "Idn": lambda: mean(np.sum(p_diff / (1 + k_diff[:, None] / ng), 0)),
        "InverseVariance": lambda: mean(np.sum(p_diff[1:] / k_diff[1:, None] ** 2, 0)),
        "MaximumProbability": lambda: mean(np.max(p, (0, 1))),
        "SumAverage": lambda: mean(np.sum(k_sum[:, None] * p_sum, 0)),
        "SumEntropy": lambda: mean(-np.sum(p_sum * np.log2(p_sum + EPS), 0)),
        "SumSquares": lambda: mean(np.sum(p * (i - ux) ** 2, (0, 1))),
    }
    return _pick(formulas, names)


# --------------------------------------------------------------------------- GLRLM


def glrlm_features(counts: np.ndarray, levels: np.ndarray, names: Sequence[str]) -> dict[str, float]:
    """GLRLM features of run counts (Ng', Nr, Na), averaged over the non-empty angles."""
    p = counts
    nr = p.sum((0, 1))
    if p.shape[2] > 1 and np.any(nr == 0):
        keep = nr != 0
        p, nr = p[:, :, keep], nr[keep]
    nr = np.where(nr == 0, np.nan, nr)
    pr = p.sum(0)  # (Nr, Na)
    pg = p.sum(1)  # (Ng, Na)
    iv = levels.astype(float)[:, None]
    jv = np.arange(1, p.shape[1] + 1, dtype=np.float64)
    used = pr.sum(1) != 0
    p, pr, jv = p[:, used], pr[used], jv[used][:, None]
    i3, j3 = iv[:, :, None].transpose(0, 2, 1), jv[None, :, :]  # (Ng,1,1), (1,Nr,1)

    def mean(v: np.ndarray) -> float:
        return np.nanmean(v)

    def glv() -> float:
        q = pg / nr
        u = np.sum(q * iv, 0)
        return mean(np.sum(q * (iv - u) ** 2, 0))

    def rv() -> float:
        q = pr / nr
        u = np.sum(q * jv, 0)
        return mean(np.sum(q * (jv - u) ** 2, 0))

    def entropy() -> float:
        q = p / nr
        return mean(-np.sum(q * np.log2(q + EPS), (0, 1)))

    formulas: dict[str, Formula] = {
        "ShortRunEmphasis": lambda: mean(np.sum(pr / jv**2, 0) / nr),
        "LongRunEmphasis": lambda: mean(np.sum(pr * jv**2, 0) / nr),
        "GrayLevelNonUniformity": lambda: mean(np.sum(pg**2, 0) / nr),
        "GrayLevelNonUniformityNormalized": lambda: mean(np.sum(pg**2, 0) / nr**2),
        "RunLengthNonUniformity": lambda: mean(np.sum(pr**2, 0) / nr),
        "RunLengthNonUniformityNormalized": lambda: mean(np.sum(pr**2, 0) / nr**2),
        "RunPercentage": lambda: mean(nr / np.sum(pr * jv, 0)),
        "GrayLevelVariance": glv,
        "RunVariance": rv,
        "RunEntropy": entropy,
        "LowGrayLevelRunEmphasis": lambda: mean(np.sum(pg / iv**2, 0) / nr),
        "HighGrayLevelRunEmphasis": lambda: mean(np.sum(pg * iv**2, 0) / nr),
        "ShortRunLowGrayLevelEmphasis": lambda: mean(np.sum(p / (i3**2 * j3**2), (0, 1)) / nr),
        "ShortRunHighGrayLevelEmphasis": lambda: mean(np.sum(p * i3**2 / j3**2, (0, 1)) / nr),
        "LongRunLowGrayLevelEmphasis": lambda: mean(np.sum(p * j3**2 / i3**2, (0, 1)) / nr),
        "LongRunHighGrayLevelEmphasis": lambda: mean(np.sum(p * (j3**2 * i3**2), (0, 1)) / nr),
    }
    return _pick(formulas, names)


# --------------------------------------------------------------------------- GLSZM / GLDM (one zone-like layout)


def _zone_like(p: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, ...]:
    """Marginals of a (grey level, size) count matrix with empty size columns dropped."""
    ps = p.sum(0)
    pg = p.sum(1)
    jv = np.arange(1, p.shape[1] + 1, dtype=np.float64)
    used = ps != 0
    return p[:, used], ps[used], pg, levels.astype(float), jv[used]


def glszm_features(counts: np.ndarray, levels: np.ndarray, names: Sequence[str]) -> dict[str, float]:
    """GLSZM features of zone counts (Ng', max zone size)."""
    ps_full = counts.sum(0)
    nz = counts.sum()
    nz = nz if nz != 0 else 1.0
    npix = np.sum(ps_full * np.arange(1, counts.shape[1] + 1, dtype=np.float64))
    npix = npix if npix != 0 else 1.0
    p, ps, pg, iv, jv = _zone_like(counts, levels)
    out = _size_emphasis(p, ps, pg, iv, jv, nz, _GLSZM_NAMES)
    out["ZonePercentage"] = lambda: nz / npix
    return _pick(out, names)


def gldm_features(counts: np.ndarray, levels: np.ndarray, names: Sequence[str]) -> dict[str, float]:
    """GLDM features of dependence counts (Ng', Na + 1)."""
    p, pd, pg, iv, jv = _zone_like(counts, levels)
    nz = pd.sum()
    nz = nz if nz != 0 else 1.0
    return _pick(_size_emphasis(p, pd, pg, iv, jv, nz, _GLDM_NAMES), names)


_GLSZM_NAMES = {
    "small": "SmallAreaEmphasis", "large": "LargeAreaEmphasis", "gln": "GrayLevelNonUniformity",
    "glnn": "GrayLevelNonUniformityNormalized", "sn": "SizeZoneNonUniformity",
    "snn": "SizeZoneNonUniformityNormalized", "glv": "GrayLevelVariance", "sv": "ZoneVariance",
    "ent": "ZoneEntropy", "low": "LowGrayLevelZoneEmphasis", "high": "HighGrayLevelZoneEmphasis",
    "sl": "SmallAreaLowGrayLevelEmphasis", "sh": "SmallAreaHighGrayLevelEmphasis",
    "ll": "LargeAreaLowGrayLevelEmphasis", "lh": "LargeAreaHighGrayLevelEmphasis",
}  # fmt: skip
_GLDM_NAMES = {
    "small": "SmallDependenceEmphasis", "large": "LargeDependenceEmphasis", "gln": "GrayLevelNonUniformity",
    "sn": "DependenceNonUniformity", "snn": "DependenceNonUniformityNormalized", "glv": "GrayLevelVariance",
    "sv": "DependenceVariance", "ent": "DependenceEntropy", "low": "LowGrayLevelEmphasis",
    "high": "HighGrayLevelEmphasis", "sl": "SmallDependenceLowGrayLevelEmphasis",
    "sh": "SmallDependenceHighGrayLevelEmphasis", "ll": "LargeDependenceLowGrayLevelEmphasis",
    "lh": "LargeDependenceHighGrayLevelEmphasis",
}  # fmt: skip


def _size_emphasis(
    p: np.ndarray,
    ps: np.ndarray,
    pg: np.ndarray,
    iv: np.ndarray,
    jv: np.ndarray,
    nz: float,
    labels: dict[str, str],
) -> dict[str, Formula]:
    """The formulas GLSZM and GLDM share, over (grey level i, size/dependence j) counts ``p``."""
    i2 = iv[:, None] ** 2
    j2 = jv[None, :] ** 2

    def glv() -> float:
        q = pg / nz
        u = np.sum(q * iv)
        return np.sum(q * (iv - u) ** 2)

    def sv() -> float:
        q = ps / nz
        u = np.sum(q * jv)
        return np.sum(q * (jv - u) ** 2)

    def ent() -> float:
        q = p / nz
        return -np.sum(q * np.log2(q + EPS))

    f: dict[str, Formula] = {
        "small": lambda: np.sum(ps / jv**2) / nz,
        "large": lambda: np.sum(ps * jv**2) / nz,
        "gln": lambda: np.sum(pg**2) / nz,
        "glnn": lambda: np.sum(pg**2) / nz**2,
        "sn": lambda: np.sum(ps**2) / nz,
        "snn": lambda: np.sum(ps**2) / nz**2,
        "glv": glv,
        "sv": sv,
        "ent": ent,
        "low": lambda: np.sum(pg / iv**2) / nz,
        "high": lambda: np.sum(pg * iv**2) / nz,
        "sl": lambda: np.sum(p / (i2 * j2)) / nz,
        "sh": lambda: np.sum(p * i2 / j2) / nz,
        "ll": lambda: np.sum(p * j2 / i2) / nz,
        "lh": lambda: np.sum(p * (j2 * i2)) / nz,
    }
    return {labels[k]: v for k, v in f.items() if k in labels}


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
