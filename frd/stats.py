"""Statistics of a feature set, and the normalizations computed from float64 moments.

A :class:`FeatureStats` holds the per-image rows when they are known (the presets' numbers replay
the reference's arithmetic on them, :mod:`frd.replay`) and float64 moments: the count, the mean and
the scatter matrix Σ(x − mean)(x − mean)ᵀ over the rows without NaN, per-feature min/max, NaN
counts, and the few rows that do contain NaN verbatim. Every normalization the presets use
(z-score or min-max; against the first set, both sets, or each set alone; NaN rows dropped or
NaN set to mid-range) is an affine map per feature plus those rows, so normalized means and
covariances also follow from the moments (``"float64-sums"``, for streams that keep no rows), and
statistics of parts merge into the statistics of the whole with one Chan update (:func:`chan_merge`).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._files import create_new, refuse_existing
from .errors import StatsMismatchError
from .settings import Settings

STATS_FORMAT = "frd-stats/2"


def chan_merge(
    n1: Any, mean1: np.ndarray, m2_1: np.ndarray, n2: Any, mean2: np.ndarray, m2_2: np.ndarray
) -> tuple[Any, np.ndarray, np.ndarray]:
    """Chan et al.'s pairwise update of (count, mean, M2): exact up to round-off.

    ``M2`` is a scatter matrix Σ(x − mean)(x − mean)ᵀ with scalar counts, or a vector of per-feature
    Σ(x − mean)² with per-feature counts (features with NaN entries have fewer values). An empty
    part (count 0) may carry NaN means; it contributes nothing.
    """
    n1a, n2a = np.asarray(n1, np.float64), np.asarray(n2, np.float64)
    with np.errstate(all="ignore"):
        mean1 = np.where(n1a > 0, mean1, 0.0)
        mean2 = np.where(n2a > 0, mean2, 0.0)
        m2_1 = np.where(n1a > 0, m2_1, 0.0) if np.ndim(n1a) else (m2_1 if n1a > 0 else np.zeros_like(m2_1))
        m2_2 = np.where(n2a > 0, m2_2, 0.0) if np.ndim(n2a) else (m2_2 if n2a > 0 else np.zeros_like(m2_2))
        n = n1a + n2a
        safe = np.where(n > 0, n, 1.0)
        delta = mean2 - mean1
        mean = mean1 + delta * (n2a / safe)
        weight = n1a * n2a / safe
        cross = np.outer(delta, delta) * weight if np.ndim(m2_1) == 2 else delta**2 * weight
    return n1 + n2, mean, m2_1 + m2_2 + cross


@dataclass
class Moments:
    """Count, mean and scatter matrix Σ(x − mean)(x − mean)ᵀ of a set of rows."""

    n: int
    mean: np.ndarray
    scatter: np.ndarray

    @classmethod
    def empty(cls, p: int) -> Moments:
        return cls(0, np.zeros(p), np.zeros((p, p)))

    @classmethod
    def of_rows(cls, x: np.ndarray) -> Moments:
        x = np.asarray(x, np.float64)
        if x.shape[0] == 0:
            return cls.empty(x.shape[1])
        mean = x.mean(axis=0)
        d = x - mean
        return cls(x.shape[0], mean, d.T @ d)

    def merge(self, other: Moments) -> Moments:
        """Moments of the union (:func:`chan_merge`)."""
        n, mean, scatter = chan_merge(self.n, self.mean, self.scatter, other.n, other.mean, other.scatter)
        return Moments(int(n), mean, scatter)

    def affine(self, a: np.ndarray, b: np.ndarray) -> Moments:
        """Moments of a·x + b (per feature)."""
        return Moments(self.n, self.mean * a + b, self.scatter * np.outer(a, a))

    def take(self, keep: np.ndarray) -> Moments:
        return Moments(self.n, self.mean[keep], self.scatter[np.ix_(keep, keep)])

    def cov(self, ddof: int = 1) -> np.ndarray:
        return self.scatter / (self.n - ddof)


@dataclass
class FeatureStats:
    """Statistics of one image set (see the module docstring).

    ``mean`` and ``scatter`` are the float64 moments of the rows without NaN; ``rows`` keeps every
    row (after the preset's float32 cast) when known, which the reference arithmetic needs.
    """

    names: list[str]
    n_complete: int
    mean: np.ndarray
    scatter: np.ndarray
    min: np.ndarray
    max: np.ndarray
    nan_count: np.ndarray
    nan_rows: np.ndarray
    stats_hash: str
    dim: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)
    nan_row_paths: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    source: str = ""
    #: The raw rows (all images, after the float32 cast where the preset has it) when known: the
    #: reference arithmetic, the bootstrap, KID, interpretation and OOD need them.
    rows: np.ndarray | None = field(default=None, repr=False)
    row_paths: list[str] = field(default_factory=list, repr=False)
    #: sha256 of each row's image (what statistics files store instead of paths).
    row_hashes: list[str] = field(default_factory=list, repr=False)

    @property
    def p(self) -> int:
        return len(self.names)

    @property
    def n(self) -> int:
        """All rows, with and without NaN."""
        return self.n_complete + int(self.nan_rows.shape[0])

    @classmethod
    def from_features(
        cls,
        values: np.ndarray,
        names: list[str],
        settings: Settings,
        *,
        paths: list[str] | None = None,
        hashes: list[str] | None = None,
        dim: int | None = None,
        skipped: list[dict[str, str]] | None = None,
        source: str = "",
    ) -> FeatureStats:
        """Statistics of an (images × features) matrix of raw features."""
        x = np.asarray(values, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(names):
            raise ValueError(f"values must be (n, {len(names)}), got {x.shape}")
        if settings.float32_features:
            # The reference casts raw features to float32 before any statistic (v1).
            x = x.astype(np.float32).astype(np.float64)
        finite = np.isfinite(x).all(axis=1)
        xc = x[finite]
        paths = list(paths or [])
        m = Moments.of_rows(xc)
        with np.errstate(all="ignore"):
            mn = xc.min(axis=0) if m.n else np.full(x.shape[1], np.nan)
            mx = xc.max(axis=0) if m.n else np.full(x.shape[1], np.nan)
        from ._meta import versions

        return cls(
            names=list(names),
            n_complete=m.n,
            mean=m.mean,
            scatter=m.scatter,
            min=mn,
            max=mx,
            nan_count=(~np.isfinite(x)).sum(axis=0).astype(np.int64),
            nan_rows=x[~finite],
            stats_hash=settings.stats_hash,
            dim=dim,
            settings=settings.extraction_dict(),
            versions=versions(),
            paths=[p for p, f in zip(paths, finite, strict=False) if f] if paths else [],
            nan_row_paths=[p for p, f in zip(paths, finite, strict=False) if not f] if paths else [],
            skipped=list(skipped or []),
            source=source,
            rows=x,
            row_paths=paths,
            row_hashes=list(hashes or []),
        )

    # ------------------------------------------------------------------ moments

    def complete_moments(self) -> Moments:
        """Moments of the rows without NaN."""
        return Moments(self.n_complete, self.mean, self.scatter)

    def merge(self, other: FeatureStats) -> FeatureStats:
        """Statistics of the union of two disjoint sets of images."""
        self.check_compatible(other)
        m = self.complete_moments().merge(other.complete_moments())
        with np.errstate(all="ignore"):
            mn = np.fmin(self.min, other.min)
            mx = np.fmax(self.max, other.max)
        both_rows = self.rows is not None and other.rows is not None
        return FeatureStats(
            names=self.names,
            n_complete=m.n,
            mean=m.mean,
            scatter=m.scatter,
            min=mn,
            max=mx,
            nan_count=self.nan_count + other.nan_count,
            nan_rows=np.vstack([self.nan_rows, other.nan_rows]),
            stats_hash=self.stats_hash,
            dim=self.dim if self.dim is not None else other.dim,
            settings=self.settings,
            versions=self.versions,
            paths=self.paths + other.paths,
            nan_row_paths=self.nan_row_paths + other.nan_row_paths,
            skipped=self.skipped + other.skipped,
            source=self.source,
            rows=np.vstack([self.rows, other.rows]) if both_rows else None,  # type: ignore[list-item]
            row_paths=self.row_paths + other.row_paths,
            row_hashes=self.row_hashes + other.row_hashes if both_rows else [],
        )

    def check_compatible(self, other: FeatureStats) -> None:
        if self.stats_hash != other.stats_hash:
            raise StatsMismatchError(
                f"statistics from other extraction settings ({self.stats_hash} vs {other.stats_hash}); "
                "recompute both sets with one preset and options"
            )
        if self.dim is not None and other.dim is not None and self.dim != other.dim:
            from .errors import DimensionMismatchError

            raise DimensionMismatchError(f"one set is {self.dim}D, the other {other.dim}D; compare sets of one kind")
        if self.names != other.names:
            raise StatsMismatchError("the two sets have different feature names")

    # ------------------------------------------------------------------ I/O

    def save(self, path: str | Path, *, keep_paths: bool = False) -> Path:
        """Write to ``path`` (.npz). Refuses to overwrite an existing file; the write is atomic.

        The file holds the per-image rows (so that it gives the same number as the images it came
        from), the moments, and each image's sha256 and the counts; file paths only with
        ``keep_paths=True`` (paths can carry patient names).
        """
        path = Path(path)
        if path.suffix.lower() != ".npz":
            path = path.with_name(path.name + ".npz")
        refuse_existing(path)
        meta = {
            "format": STATS_FORMAT,
            "names": self.names,
            "stats_hash": self.stats_hash,
            "dim": self.dim,
            "settings": self.settings,
            "versions": self.versions,
            "n_complete": self.n_complete,
            "n_rows": self.n,
            "n_skipped": len(self.skipped),
            "row_sha256": self.row_hashes,
            "paths_kept": keep_paths,
            "paths": self.paths if keep_paths else [],
            "nan_row_paths": self.nan_row_paths if keep_paths else [],
            "row_paths": self.row_paths if keep_paths else [],
            "skipped": self.skipped if keep_paths else [_without_path(s) for s in self.skipped],
        }
        arrays = {
            "mean": self.mean,
            "scatter": self.scatter,
            "min": self.min,
            "max": self.max,
            "nan_count": self.nan_count,
            "nan_rows": self.nan_rows.reshape(-1, self.p),
        }
        if self.rows is not None:
            arrays["rows"] = self.rows

        def write(tmp: str) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, meta=np.array(json.dumps(meta)), **arrays)

        create_new(path, write)
        return path

    @classmethod
    def load(cls, path: str | Path) -> FeatureStats:
        """Read a statistics file written by :meth:`save` (this format or frd-stats/1)."""
        path = Path(path)
        try:
            z = np.load(path, allow_pickle=False)
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise StatsMismatchError(f"{path} is not an frd statistics file (it holds a single array)")
            with z:
                if "meta" not in z.files:
                    raise StatsMismatchError(
                        f"{path} is not an frd statistics file (frd-score's .npz holds only normalized "
                        "mu/sigma, from which no other normalization can be computed)"
                    )
                meta = json.loads(str(z["meta"]))
                arrays = {k: z[k] for k in z.files if k != "meta"}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # not a zip, truncated, bad JSON
            raise StatsMismatchError(f"cannot read statistics file {path}: {exc}") from exc
        if not isinstance(meta, dict):
            raise StatsMismatchError(f"{path} is not an frd statistics file (its metadata is not a mapping)")
        fmt = meta.get("format")
        if fmt == "frd-stats/1":
            # Version 1 stored Σ(x − c) (always 0) and Σ(x − c)(x − c)ᵀ about c, and no rows.
            if "shift" in arrays and "sum_outer" in arrays:
                arrays["mean"], arrays["scatter"] = arrays["shift"], arrays["sum_outer"]
        elif fmt != STATS_FORMAT:
            raise StatsMismatchError(f"{path}: unsupported statistics format {fmt!r}")
        try:
            return cls._from_saved(meta, arrays, path)
        except (KeyError, TypeError, ValueError) as exc:  # a damaged or hand-edited file
            raise StatsMismatchError(f"{path} is a damaged statistics file: {type(exc).__name__} {exc}") from exc

    @classmethod
    def _from_saved(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray], path: Path) -> FeatureStats:
        stats = cls(
            names=list(meta["names"]),
            n_complete=int(meta["n_complete"]),
            mean=arrays["mean"],
            scatter=arrays["scatter"],
            min=arrays["min"],
            max=arrays["max"],
            nan_count=arrays["nan_count"],
            nan_rows=arrays["nan_rows"],
            stats_hash=meta["stats_hash"],
            dim=meta.get("dim"),
            settings=meta.get("settings", {}),
            versions=meta.get("versions", {}),
            paths=list(meta.get("paths", [])),
            nan_row_paths=list(meta.get("nan_row_paths", [])),
            skipped=list(meta.get("skipped", [])),
            source=str(path),
            rows=arrays.get("rows"),
            row_paths=list(meta.get("row_paths", [])),
            row_hashes=list(meta.get("row_sha256", [])),
        )
        p = len(stats.names)
        shapes = {"mean": (p,), "scatter": (p, p), "min": (p,), "max": (p,), "nan_count": (p,)}
        for name, shape in shapes.items():
            if getattr(stats, name).shape != shape:
                raise ValueError(f"{name} has shape {getattr(stats, name).shape}, expected {shape}")
        if stats.nan_rows.ndim != 2 or stats.nan_rows.shape[1] != p:
            raise ValueError(f"nan_rows has shape {stats.nan_rows.shape}, expected (k, {p})")
        if stats.rows is not None and (stats.rows.ndim != 2 or stats.rows.shape[1] != p):
            raise ValueError(f"rows has shape {stats.rows.shape}, expected (n, {p})")
        return stats


def _without_path(entry: dict[str, str]) -> dict[str, str]:
    """A skipped-image record without its path (the reason may quote it too)."""
    out = {k: v for k, v in entry.items() if k != "path"}
    path = entry.get("path")
    if path and "reason" in out:
        out["reason"] = out["reason"].replace(path, "<image>")
    return out


# ---------------------------------------------------------------------- normalization

#: A column whose spread (max − min) is below this share of its largest |value| is near-constant:
#: normalizing it amplifies round-off (the condition report names them; --robust drops them).
NEAR_CONSTANT_REL = 1e-9
#: --robust floors the normalizing spread of the reference set at this share of the spread of both sets
#: (a feature that barely moves in A but varies in B then counts in units of the pooled spread).
ROBUST_SPREAD_FLOOR = 0.1


@dataclass
class Normalized:
    """Normalized means and covariances of both sets, ready for the Fréchet distance.

    ``arithmetic`` says how they were computed: ``"reference"`` (the reference's operations on the
    per-image rows, :mod:`frd.replay`) or ``"float64-sums"`` (affine maps of float64 moments).
    """

    mu: tuple[np.ndarray, np.ndarray]
    cov: tuple[np.ndarray, np.ndarray]
    n: tuple[int, int]
    names: list[str]
    dropped: dict[str, str]
    scales: tuple[np.ndarray, np.ndarray]
    offsets: tuple[np.ndarray, np.ndarray]
    keep: np.ndarray
    mid: float
    drop_nan_rows: bool
    arithmetic: str = "float64-sums"
    #: The normalized rows of both sets and which raw rows they are (reference arithmetic only).
    normalized: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    row_index: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def rows(self, stats: FeatureStats, which: int) -> tuple[np.ndarray, list[str]]:
        """The normalized rows of ``stats`` (set ``which``: 0 or 1) and their file names."""
        if stats.rows is None:
            from .errors import FRDError

            raise FRDError("per-image features are needed here; pass images, not a statistics file")
        x = stats.rows
        paths = stats.row_paths or [""] * x.shape[0]
        if self.normalized is not None and self.row_index is not None:
            idx = self.row_index[which]
            return np.asarray(self.normalized[which], np.float64), [paths[i] for i in idx]
        if self.drop_nan_rows:
            ok = np.isfinite(x).all(axis=1)
            x, paths = x[ok], [p for p, k in zip(paths, ok, strict=True) if k]
        sc = np.where(self.keep, self.scales[which], 0.0)
        off = np.where(self.keep, self.offsets[which], 0.0)
        y = np.where(np.isfinite(x), x * sc + off, self.mid)
        return y[:, self.keep], paths


def _per_feature(
    stats: FeatureStats, drop_nan_rows: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-feature count, mean, M2 and min/max, ignoring NaN entries."""
    n = np.full(stats.p, stats.n_complete, dtype=np.float64)
    mean, m2 = stats.mean.copy(), np.diag(stats.scatter).copy()
    mn, mx = stats.min.copy(), stats.max.copy()
    if not drop_nan_rows and stats.nan_rows.shape[0]:
        x = stats.nan_rows
        ok = np.isfinite(x)
        k = ok.sum(axis=0).astype(np.float64)
        with np.errstate(all="ignore"):
            cm = np.where(ok, x, 0.0).sum(axis=0) / np.where(k > 0, k, 1.0)
            cm2 = np.where(ok, (x - cm) ** 2, 0.0).sum(axis=0)
            mn = np.fmin(mn, np.where(ok, x, np.nan).min(axis=0, initial=np.inf, where=ok))
            mx = np.fmax(mx, np.where(ok, x, np.nan).max(axis=0, initial=-np.inf, where=ok))
        n, mean, m2 = chan_merge(n, mean, m2, k, cm, cm2)
        mn, mx = np.where(np.isinf(mn) & (n == 0), np.nan, mn), np.where(np.isinf(mx) & (n == 0), np.nan, mx)
    return n, mean, m2, mn, mx


def _reference(stats: list[FeatureStats], drop_nan_rows: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-feature mean, std (ddof 0), min and max over the union of ``stats``."""
    n, mean, m2, mn, mx = _per_feature(stats[0], drop_nan_rows)
    for s in stats[1:]:
        n2, mean2, m2_2, mn2, mx2 = _per_feature(s, drop_nan_rows)
        n, mean, m2 = chan_merge(n, mean, m2, n2, mean2, m2_2)
        mn, mx = np.fmin(mn, mn2), np.fmax(mx, mx2)
    with np.errstate(all="ignore"):
        mean = np.where(n > 0, mean, np.nan)
        std = np.sqrt(np.where(n > 0, m2 / np.where(n > 0, n, 1.0), np.nan))
    return mean, std, mn, mx


def near_constant(mn: np.ndarray, mx: np.ndarray) -> np.ndarray:
    """Columns whose spread max − min is nonzero but below NEAR_CONSTANT_REL of their largest |value|."""
    with np.errstate(all="ignore"):
        spread = mx - mn
        size = np.fmax(np.abs(mn), np.abs(mx))
        return (spread > 0) & (spread < NEAR_CONSTANT_REL * size)


def robust_den(den: np.ndarray, pooled: np.ndarray) -> np.ndarray:
    """--robust: the normalizing spread, floored at ROBUST_SPREAD_FLOOR of the spread of both sets."""
    with np.errstate(all="ignore"):
        return np.fmax(den, ROBUST_SPREAD_FLOOR * pooled)


def normalize(a: FeatureStats, b: FeatureStats, settings: Settings) -> Normalized:
    """Normalized mean and covariance of both sets from float64 moments (``"float64-sums"``).

    Equal to the reference's arithmetic up to round-off where the columns are well conditioned;
    :func:`frd.replay.replay` repeats the reference's own operations when the rows are known.
    """
    a.check_compatible(b)
    lo, hi = settings.norm_range
    span = float(hi) - float(lo)
    mid = (float(lo) + float(hi)) / 2
    drop_rows = settings.drop_nan_rows
    if settings.norm_ref == "d1":
        refs = [_reference([a], drop_rows)] * 2
    elif settings.norm_ref == "joint":
        refs = [_reference([a, b], drop_rows)] * 2
    else:
        refs = [_reference([a], drop_rows), _reference([b], drop_rows)]
    robust = getattr(settings, "robust", False)
    pooled = _reference([a, b], drop_rows) if robust else None

    p = a.p
    keep = np.ones(p, dtype=bool)
    dropped: dict[str, str] = {}
    if robust:
        for ref in refs:
            flat = near_constant(ref[2], ref[3]) | (ref[3] == ref[2])
            for j in np.flatnonzero(flat & keep):
                dropped[a.names[j]] = "near-constant in the reference set (--robust)"
            keep &= ~flat
    scales, offsets = [], []
    for mean, std, mn, mx in refs:
        with np.errstate(all="ignore"):
            if settings.norm_type == "zscore":
                # A constant column's moments can carry round-off (the mean of equal values need not be
                # exact); its std is 0 as the reference computes it.
                loc, den = mean, np.where(mx == mn, 0.0, std)
                if pooled is not None:
                    den = robust_den(den, pooled[1])
            else:
                loc, den = mn, mx - mn
                if pooled is not None:
                    den = robust_den(den, pooled[3] - pooled[2])
            scale = span / den
            offset = lo - loc * scale
        undefined = ~np.isfinite(loc) | ~np.isfinite(den)
        degenerate = (den == 0) & ~undefined
        if settings.drop_nonfinite_columns:
            # v1's z-score has no guard: std 0 gives Inf/NaN, and such columns are dropped.
            for j in np.flatnonzero(degenerate | undefined):
                if keep[j]:
                    ref = "the first set" if settings.norm_ref == "d1" else "the reference set"
                    dropped[a.names[j]] = f"constant in {ref} (std 0): z-score undefined"
            keep &= ~(degenerate | undefined)
        else:
            const = lo if settings.norm_type == "zscore" else lo + 0.5 * span
            scale = np.where(degenerate, 0.0, scale)
            offset = np.where(degenerate, const, offset)
            # A feature with no finite value at all stays NaN and becomes mid-range, as in the reference.
            scale = np.where(undefined, 0.0, scale)
            offset = np.where(undefined, mid, offset)
        scales.append(scale)
        offsets.append(offset)

    mus, covs, ns = [], [], []
    for s, scale, offset in zip((a, b), scales, offsets, strict=True):
        sc, off = np.where(keep, scale, 0.0), np.where(keep, offset, 0.0)
        m = s.complete_moments().affine(sc, off)
        if not drop_rows and s.nan_rows.shape[0]:
            y = s.nan_rows * sc + off
            y = np.where(np.isfinite(s.nan_rows), y, mid)
            m = m.merge(Moments.of_rows(y))
        m = m.take(keep)
        mus.append(m.mean)
        covs.append(m.cov(ddof=1) if m.n > 1 else np.full((int(keep.sum()),) * 2, np.nan))
        ns.append(m.n)
    names = [n for n, k in zip(a.names, keep, strict=True) if k]
    return Normalized(
        mu=(mus[0], mus[1]),
        cov=(covs[0], covs[1]),
        n=(ns[0], ns[1]),
        names=names,
        dropped=dropped,
        scales=(scales[0], scales[1]),
        offsets=(offsets[0], offsets[1]),
        keep=keep,
        mid=mid,
        drop_nan_rows=drop_rows,
    )
