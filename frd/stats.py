"""Sufficient statistics of a feature set, and the normalizations computed exactly from them.

A :class:`FeatureStats` holds raw (un-normalized) float64 statistics: the count, a shift vector
``c`` with Σ(x − c) and Σ(x − c)(x − c)ᵀ over the rows without NaN, per-feature min/max, NaN
counts, and the few rows that do contain NaN verbatim. Every normalization the presets use
(z-score or min-max; against the first set, both sets, or each set alone; NaN rows dropped or
NaN set to mid-range) is an affine map per feature plus those rows, so the normalized means and
covariances follow exactly, and statistics of parts merge exactly into the statistics of the whole.
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

STATS_FORMAT = "frd-stats/1"


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
        """Chan et al.'s pairwise update: exact up to round-off."""
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.n / n)
        scatter = self.scatter + other.scatter + np.outer(delta, delta) * (self.n * other.n / n)
        return Moments(n, mean, scatter)

    def affine(self, a: np.ndarray, b: np.ndarray) -> Moments:
        """Moments of a·x + b (per feature)."""
        return Moments(self.n, self.mean * a + b, self.scatter * np.outer(a, a))

    def take(self, keep: np.ndarray) -> Moments:
        return Moments(self.n, self.mean[keep], self.scatter[np.ix_(keep, keep)])

    def cov(self, ddof: int = 1) -> np.ndarray:
        return self.scatter / (self.n - ddof)


@dataclass
class FeatureStats:
    """Raw float64 sufficient statistics of one image set (see the module docstring)."""

    names: list[str]
    n_complete: int
    shift: np.ndarray
    sum: np.ndarray
    sum_outer: np.ndarray
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
    #: The raw rows (all images, after the float32 cast where the preset has it) when known;
    #: needed by the bootstrap, KID, interpretation and OOD, not saved in statistics files.
    rows: np.ndarray | None = field(default=None, repr=False)
    row_paths: list[str] = field(default_factory=list, repr=False)

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
        shift = m.mean if m.n else np.zeros(x.shape[1])
        with np.errstate(all="ignore"):
            mn = xc.min(axis=0) if m.n else np.full(x.shape[1], np.nan)
            mx = xc.max(axis=0) if m.n else np.full(x.shape[1], np.nan)
        from ._meta import versions

        return cls(
            names=list(names),
            n_complete=m.n,
            shift=shift,
            sum=np.zeros(x.shape[1]),
            sum_outer=m.scatter,
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
        )

    # ------------------------------------------------------------------ moments

    def complete_moments(self) -> Moments:
        """Moments of the rows without NaN."""
        if self.n_complete == 0:
            return Moments.empty(self.p)
        mean_c = self.sum / self.n_complete
        scatter = self.sum_outer - np.outer(self.sum, self.sum) / self.n_complete
        return Moments(self.n_complete, self.shift + mean_c, scatter)

    def merge(self, other: FeatureStats) -> FeatureStats:
        """Statistics of the union of two disjoint sets of images."""
        self.check_compatible(other)
        m = self.complete_moments().merge(other.complete_moments())
        with np.errstate(all="ignore"):
            mn = np.fmin(self.min, other.min)
            mx = np.fmax(self.max, other.max)
        return FeatureStats(
            names=self.names,
            n_complete=m.n,
            shift=m.mean,
            sum=np.zeros(self.p),
            sum_outer=m.scatter,
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
            rows=np.vstack([self.rows, other.rows]) if self.rows is not None and other.rows is not None else None,
            row_paths=self.row_paths + other.row_paths,
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

    def save(self, path: str | Path) -> Path:
        """Write to ``path`` (.npz). Refuses to overwrite an existing file; the write is atomic."""
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
            "paths": self.paths,
            "nan_row_paths": self.nan_row_paths,
            "skipped": self.skipped,
            "n_complete": self.n_complete,
        }

        def write(tmp: str) -> None:
            with open(tmp, "wb") as fh:
                np.savez(
                    fh,
                    meta=np.array(json.dumps(meta)),
                    shift=self.shift,
                    sum=self.sum,
                    sum_outer=self.sum_outer,
                    min=self.min,
                    max=self.max,
                    nan_count=self.nan_count,
                    nan_rows=self.nan_rows.reshape(-1, self.p),
                )

        create_new(path, write)
        return path

    @classmethod
    def load(cls, path: str | Path) -> FeatureStats:
        """Read a statistics file written by :meth:`save`."""
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
        if not isinstance(meta, dict) or meta.get("format") != STATS_FORMAT:
            fmt = meta.get("format") if isinstance(meta, dict) else None
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
            shift=arrays["shift"],
            sum=arrays["sum"],
            sum_outer=arrays["sum_outer"],
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
        )
        p = len(stats.names)
        shapes = {"shift": (p,), "sum": (p,), "sum_outer": (p, p), "min": (p,), "max": (p,), "nan_count": (p,)}
        for name, shape in shapes.items():
            if getattr(stats, name).shape != shape:
                raise ValueError(f"{name} has shape {getattr(stats, name).shape}, expected {shape}")
        if stats.nan_rows.ndim != 2 or stats.nan_rows.shape[1] != p:
            raise ValueError(f"nan_rows has shape {stats.nan_rows.shape}, expected (k, {p})")
        return stats


# ---------------------------------------------------------------------- normalization


@dataclass
class Normalized:
    """Normalized means and covariances of both sets, ready for the Fréchet distance."""

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

    def rows(self, stats: FeatureStats, which: int) -> tuple[np.ndarray, list[str]]:
        """The normalized rows of ``stats`` (set ``which``: 0 or 1) and their file names."""
        if stats.rows is None:
            from .errors import FRDError

            raise FRDError("per-image features are needed here; pass images, not a statistics file")
        x = stats.rows
        paths = stats.row_paths or [""] * x.shape[0]
        if self.drop_nan_rows:
            ok = np.isfinite(x).all(axis=1)
            x, paths = x[ok], [p for p, k in zip(paths, ok, strict=True) if k]
        sc = np.where(self.keep, self.scales[which], 0.0)
        off = np.where(self.keep, self.offsets[which], 0.0)
        y = np.where(np.isfinite(x), x * sc + off, self.mid)
        return y[:, self.keep], paths


def _per_feature(stats: FeatureStats, drop_nan_rows: bool) -> tuple[Moments, np.ndarray, np.ndarray, np.ndarray]:
    """Per-feature count, mean, M2 (as diagonal Moments) and min/max, ignoring NaN entries."""
    mc = stats.complete_moments()
    n = np.full(stats.p, mc.n, dtype=np.float64)
    mean = mc.mean.copy()
    m2 = np.diag(mc.scatter).copy()
    mn, mx = stats.min.copy(), stats.max.copy()
    if not drop_nan_rows and stats.nan_rows.shape[0]:
        for j in range(stats.p):
            col = stats.nan_rows[:, j]
            col = col[np.isfinite(col)]
            if col.size == 0:
                continue
            k = col.size
            cm = col.mean()
            cm2 = float(((col - cm) ** 2).sum())
            tot = n[j] + k
            delta = cm - mean[j] if n[j] else cm
            mean[j] = mean[j] + delta * k / tot if n[j] else cm
            m2[j] = m2[j] + cm2 + delta**2 * n[j] * k / tot
            n[j] = tot
            mn[j] = np.fmin(mn[j], col.min())
            mx[j] = np.fmax(mx[j], col.max())
    with np.errstate(all="ignore"):
        mean = np.where(n > 0, mean, np.nan)
        var = np.where(n > 0, m2 / n, np.nan)
    return Moments(0, mean, np.diag(var)), n, mn, mx


def _reference(stats: list[FeatureStats], drop_nan_rows: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-feature mean, std (ddof 0), min and max over the union of ``stats``."""
    parts = [_per_feature(s, drop_nan_rows) for s in stats]
    mean, n = parts[0][0].mean.copy(), parts[0][1].copy()
    var = np.diag(parts[0][0].scatter).copy()
    mn, mx = parts[0][2].copy(), parts[0][3].copy()
    for m, nn, a, b in parts[1:]:
        tot = n + nn
        with np.errstate(all="ignore"):
            delta = m.mean - mean
            new_mean = np.where(n == 0, m.mean, np.where(nn == 0, mean, mean + delta * nn / np.where(tot, tot, 1)))
            m2 = np.nan_to_num(var * n) + np.nan_to_num(np.diag(m.scatter) * nn)
            m2 = m2 + np.where((n > 0) & (nn > 0), delta**2 * n * nn / np.where(tot, tot, 1), 0)
            var = np.where(tot > 0, m2 / np.where(tot, tot, 1), np.nan)
        mean, n = new_mean, tot
        mn, mx = np.fmin(mn, a), np.fmax(mx, b)
    return mean, np.sqrt(var), mn, mx


def normalize(a: FeatureStats, b: FeatureStats, settings: Settings) -> Normalized:
    """Normalized mean and covariance of both sets as the settings' preset defines them."""
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

    p = a.p
    keep = np.ones(p, dtype=bool)
    dropped: dict[str, str] = {}
    scales, offsets = [], []
    for mean, std, mn, mx in refs:
        with np.errstate(all="ignore"):
            if settings.norm_type == "zscore":
                loc, den = mean, std
            else:
                loc, den = mn, mx - mn
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
