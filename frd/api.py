"""The public Python API: :func:`compute_frd`, :func:`extract_features`, :func:`compute_stats`."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._json import jsonable
from ._meta import versions
from .cache import FeatureCache
from .defaults import MIN_IMAGES, blas_threads, default_workers
from .distance import frechet_terms
from .errors import FRDError, InputNotFoundError, SettingsError, TooFewImagesError
from .extract import ExtractionJob, FeatureTable, extract_sets
from .io import discover, is_stats_file, pair_masks
from .options import Analysis, resolve_options
from .replay import normalize_sets
from .settings import Settings
from .stats import FeatureStats

if TYPE_CHECKING:
    from typing import Unpack  # Python 3.11+: only type checkers read this block, 3.10 never runs it

    from .options import Options, SettingOptions

log = logging.getLogger(__name__)

#: A set of images: a folder, a list of image files, a statistics file (.npz), statistics, or images
#: in memory (a numpy batch, a list of arrays, a torch tensor; see :mod:`frd.arrays`).
ImageSet = str | Path | Sequence[str | Path] | FeatureStats | Any


@dataclass
class FRDResult:
    """The score and everything needed to trust, reproduce and explain it."""

    frd: float
    d2: float
    d2_raw: float
    preset: str
    settings: dict[str, Any]
    settings_hash: str
    n: tuple[int, int]
    features: list[str]
    features_dropped: dict[str, str]
    skipped: list[dict[str, str]]
    mean_term: float
    trace_term: float
    sqrtm: dict[str, Any]
    timings: dict[str, float]
    versions: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    #: Percentile bootstrap interval of ``frd`` (``bootstrap=N``), with its level, N and seed.
    ci: dict[str, Any] | None = None
    kid: dict[str, Any] | None = None
    fd_inf: dict[str, Any] | None = None
    #: "reference" (frd-score's own operations on the per-image rows) or "float64-sums" (moments only).
    arithmetic: str = "reference"
    #: Near-constant columns and the largest single-feature share of d² (see frd.condition).
    condition: dict[str, Any] | None = None

    def __float__(self) -> float:
        return float(self.frd)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; the score comes first. Non-finite numbers become strings."""
        d = asdict(self)
        d["n"] = list(self.n)
        d["n_features"] = len(self.features)
        return {k: jsonable(v) for k, v in d.items()}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def compute_stats(
    sources: Sequence[ImageSet],
    settings: Settings,
    *,
    masks: Sequence[str | Path | None] | None = None,
    recursive: bool = False,
    workers: int | None = None,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    skip_invalid: bool = False,
    progress: bool = False,
    timings: dict[str, float] | None = None,
    data_range: tuple[float, float] | None = None,
    notes: list[str] | None = None,
) -> list[FeatureStats]:
    """Statistics of each source; image sources are extracted together in one pool.

    Sources in memory (arrays, tensors) follow the ``data_range`` contract of :mod:`frd.arrays`;
    warnings meant for a report are appended to ``notes``.
    """
    from .arrays import ArrayImages, as_array_images, check_data_range, float_warning, is_array_input

    data_range = check_data_range(data_range)
    out: list[FeatureStats | None] = [None] * len(sources)
    jobs: list[ExtractionJob] = []
    where: list[int] = []
    masks = list(masks) if masks is not None else [None] * len(sources)
    float_ranges = []
    for i, src in enumerate(sources):
        label = "AB"[i] if i < 2 else str(i)
        if is_array_input(src):
            src = as_array_images(src, data_range, label=label)
            float_ranges.append(src.float_range)
        if isinstance(src, ArrayImages):
            if masks[i] is not None:
                raise SettingsError("masks go with image files; for arrays, crop or pass files with masks")
            jobs.append(ExtractionJob(images=src.refs))
            where.append(i)
            continue
        if data_range is not None and not isinstance(src, FeatureStats):
            raise SettingsError(f"data_range applies to arrays and tensors; files are read as stored ({src})")
        if isinstance(src, FeatureStats):
            out[i] = src
        elif isinstance(src, (str, Path)) and is_stats_file(src):
            out[i] = FeatureStats.load(src)
        elif isinstance(src, (str, Path)) and not Path(src).exists():
            raise InputNotFoundError(f"input not found: {src}")
        else:
            images = discover(src, recursive=recursive)
            mask_refs = None
            if masks[i] is not None:
                mask_refs = pair_masks(images, discover(masks[i], recursive=recursive), label=label)
            jobs.append(ExtractionJob(images=images, masks=mask_refs))
            where.append(i)
    note = float_warning(float_ranges)
    if note:
        log.warning(note)
        if notes is not None:
            notes.append(note)
    for i, s in enumerate(out):
        if s is not None and s.stats_hash != settings.stats_hash:
            from .errors import StatsMismatchError

            raise StatsMismatchError(
                f"{s.source or f'statistics {i + 1}'} was computed with other settings "
                f"({s.stats_hash}, these are {settings.stats_hash}); {_mismatch_hint(s, settings)}"
            )
    if jobs:
        tables = extract_sets(
            jobs,
            settings,
            workers=workers or default_workers(),
            cache=FeatureCache(cache_dir, enabled=cache),
            progress=progress,
            skip_invalid=skip_invalid,
            timings=timings,
        )
        for i, table in zip(where, tables, strict=True):
            if notes is not None:
                notes.extend(table.notes)
            out[i] = _stats_of(table, settings, str(sources[i]) if isinstance(sources[i], (str, Path)) else "")
    return [s for s in out if s is not None]


def _mismatch_hint(s: FeatureStats, settings: Settings) -> str:
    """What to change when statistics do not match: the engine, when that is the only difference."""
    # Statistics files from before the engine option hold no engine: theirs was pyradiomics.
    theirs = str(s.settings.get("engine", "pyradiomics")) if s.settings else None
    if theirs and theirs != settings.engine and replace(settings, engine=theirs).stats_hash == s.stats_hash:
        return f"they come from the {theirs} engine, these from {settings.engine}: add --engine {theirs}"
    return "use the same preset and options"


def _stats_of(table: FeatureTable, settings: Settings, source: str) -> FeatureStats:
    if table.n == 0:
        raise TooFewImagesError(f"no usable image in {source or 'the set'}")
    return FeatureStats.from_features(
        table.values,
        table.names,
        settings,
        paths=table.paths,
        hashes=table.hashes,
        dim=table.dim,
        skipped=table.skipped,
        source=source,
    )


def extract_features(
    images: ImageSet,
    preset: str = "v1",
    *,
    masks: str | Path | None = None,
    recursive: bool = False,
    workers: int | None = None,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    skip_invalid: bool = False,
    progress: bool = False,
    data_range: tuple[float, float] | None = None,
    **options: Unpack[SettingOptions],
) -> FeatureTable:
    """Raw radiomics features per image (rows follow ``.paths``, columns ``.names``).

    ``images`` may also be arrays or tensors (see :mod:`frd.arrays` for ``data_range``).

    >>> table = extract_features("tests/data/a", preset="v0")  # doctest: +SKIP
    >>> table.values.shape  # doctest: +SKIP
    (10, 102)
    """
    from .arrays import as_array_images, check_data_range, float_warning, is_array_input

    settings, _ = resolve_options(preset, options)
    data_range = check_data_range(data_range)
    if isinstance(images, FeatureStats):
        raise FRDError("extract_features needs images, not statistics")
    if is_array_input(images):
        if masks is not None:
            raise SettingsError("masks go with image files; for arrays, crop or pass files with masks")
        batch = as_array_images(images, data_range)
        note = float_warning([batch.float_range])
        if note:
            log.warning(note)
        refs = batch.refs
    elif data_range is not None:
        raise SettingsError("data_range applies to arrays and tensors; files are read as stored")
    else:
        refs = discover(images, recursive=recursive)
    mask_refs = pair_masks(refs, discover(masks, recursive=recursive)) if masks is not None else None
    return extract_sets(
        [ExtractionJob(refs, mask_refs)],
        settings,
        workers=workers or default_workers(),
        cache=FeatureCache(cache_dir, enabled=cache),
        progress=progress,
        skip_invalid=skip_invalid,
    )[0]


def compute_frd(
    a: ImageSet,
    b: ImageSet,
    preset: str | Settings = "v1",
    *,
    masks: tuple[str | Path | None, str | Path | None] | None = None,
    recursive: bool = False,
    workers: int | None = None,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    skip_invalid: bool = False,
    progress: bool = False,
    data_range: tuple[float, float] | None = None,
    analysis: Analysis | None = None,
    **options: Unpack[Options],
) -> FRDResult:
    """Fréchet Radiomics Distance between image sets ``a`` (the reference) and ``b``.

    ``a`` and ``b`` are folders, lists of files, statistics files (``.npz`` from
    ``--save-stats``), :class:`FeatureStats`, or images in memory: numpy batches (N, H, W) /
    (N, D, H, W), lists of arrays, torch tensors. ``data_range=(lo, hi)`` maps in-memory images
    to the 8-bit grid a PNG of them would hold (see :mod:`frd.arrays`); float arrays without it
    are used as they are, with a warning.

    ``preset`` is a preset name or resolved :class:`Settings`; ``options`` override a named
    preset (``params_file``, ``feature_classes``, ``image_types``, ``log_sigma``, ``bin_width``,
    ``resize``, ``norm_ref``, ``norm_type``, ``log``, ``sqrtm``, ``means_only``,
    ``engine``: ``"fast"``, frd's compiled engine (the default; ``None`` lets settings it cannot
    reproduce run on pyradiomics), ``"pyradiomics"``, pyradiomics itself, or ``"torch"``, the fast
    engine with its texture matrices on a torch device; ``robust``: drop near-constant columns and
    floor the normalizing spread, never a preset's number) or choose the
    analyses (``bootstrap``, ``seed``, ``level``, ``kid``, ``fd_inf``, ``match_sample_count``;
    or pass ``analysis=Analysis(...)``).

    >>> import frd
    >>> result = frd.compute_frd("real/", "synthetic/")  # doctest: +SKIP
    >>> result.frd, result.d2, result.n  # doctest: +SKIP
    >>> frd.compute_frd(real_batch, fake_batch, "v0", data_range=(-1, 1))  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    settings, analysis = resolve_options(preset, options, analysis)
    timings: dict[str, float] = {}
    notes: list[str] = []
    sa, sb = compute_stats(
        [a, b],
        settings,
        masks=masks,
        recursive=recursive,
        workers=workers,
        cache=cache,
        cache_dir=cache_dir,
        skip_invalid=skip_invalid,
        progress=progress,
        timings=timings,
        data_range=data_range,
        notes=notes,
    )
    result = frd_from_stats(sa, sb, settings, timings=timings, t0=t0, analysis=analysis)
    result.warnings[:0] = notes
    return result


def frd_from_stats(
    sa: FeatureStats,
    sb: FeatureStats,
    settings: Settings,
    *,
    timings: dict[str, float] | None = None,
    t0: float | None = None,
    bootstrap: int = 0,
    seed: int = 0,
    level: float = 0.95,
    kid: bool = False,
    fd_inf: bool = False,
    match_sample_count: bool = False,
    analysis: Analysis | None = None,
) -> FRDResult:
    """FRD from two sets of statistics computed with ``settings``.

    ``bootstrap=N`` adds a percentile interval, ``kid`` the kernel distance, ``fd_inf`` the
    extrapolation to infinite N, ``match_sample_count`` subsamples the larger set (seeded); these
    need per-image features, so they are not available from statistics files. An ``analysis``
    object stands for all six keywords at once.
    """
    from threadpoolctl import threadpool_limits

    if analysis is None:
        analysis = Analysis(
            bootstrap=bootstrap, seed=seed, level=level, kid=kid, fd_inf=fd_inf, match_sample_count=match_sample_count
        )
    with threadpool_limits(limits=blas_threads(), user_api="blas"):
        return _frd_from_stats(sa, sb, settings, analysis, timings=timings, t0=t0)


def _frd_from_stats(
    sa: FeatureStats,
    sb: FeatureStats,
    settings: Settings,
    analysis: Analysis,
    *,
    timings: dict[str, float] | None,
    t0: float | None,
) -> FRDResult:
    timings = dict(timings or {})
    t1 = time.perf_counter()
    warn: list[str] = []
    if analysis.match_sample_count:
        sa, sb = _match(sa, sb, settings, analysis.seed)
    skipped: list[dict[str, str]] = []
    for label, s in (("A", sa), ("B", sb)):
        skipped += [{"set": label, **x} for x in s.skipped]
        if settings.drop_nan_rows:
            skipped += [
                {"set": label, "path": p, "reason": "NaN feature (dropped as v1 does)"} for p in s.nan_row_paths
            ]
        n_used = s.n_complete if settings.drop_nan_rows else s.n
        if n_used < MIN_IMAGES:
            raise TooFewImagesError(
                f"set {label} has {n_used} usable image(s); at least {MIN_IMAGES} are needed for a covariance"
            )
    norm = normalize_sets(sa, sb, settings)
    if not norm.names:
        raise FRDError("no feature is left after normalization; the first set may be constant")
    p = len(norm.names)
    small = [f"{lab}: N={n}" for lab, n in zip("AB", norm.n, strict=True) if n <= p]
    if small and not settings.means_only:
        warn.append(
            f"fewer images than features ({', '.join(small)} vs {p} features): covariances are "
            "rank-deficient, FRD is biased upward and varies with N; compare runs of equal N"
        )
    terms = frechet_terms(
        norm.mu[0],
        norm.cov[0],
        norm.mu[1],
        norm.cov[1],
        method=settings.sqrtm,
        means_only=settings.means_only,
        keep_float32_means=norm.arithmetic == "reference",
    )
    d2_raw = terms.d2
    d2 = max(d2_raw, 0.0)
    if d2_raw < 0:
        warn.append(
            f"d² came out negative ({d2_raw:.3g}) from round-off; the sets are indistinguishable, d² reported as 0"
        )
    if settings.log:
        score = math.log(d2_raw) if d2_raw > 0 else float("-inf")
        if d2_raw <= 0:
            warn.append("d² is 0 (identical sets), so ln(d²) is -inf as in the reference; compare d² instead")
    else:
        # A distance is never negative: round-off below 0 is reported as 0, the raw value stays in d2_raw.
        score = d2
    from .condition import assess

    condition, dominant = assess(sa, sb, settings, norm, terms)
    if dominant:
        warn.append(dominant)
    extras = _analyses(sa, sb, norm, settings, analysis, score, warn)
    for w in warn:
        log.warning(w)
    timings["statistics_s"] = time.perf_counter() - t1
    if t0 is not None:
        timings["total_s"] = time.perf_counter() - t0
    return FRDResult(
        frd=score,
        d2=d2,
        d2_raw=d2_raw,
        preset=settings.preset,
        settings=settings.to_dict(),
        settings_hash=settings.hash,
        n=(int(norm.n[0]), int(norm.n[1])),
        features=norm.names,
        features_dropped=norm.dropped,
        skipped=skipped,
        mean_term=terms.mean_term,
        trace_term=terms.trace_term,
        sqrtm={"method": terms.method, "eps_added": terms.eps_added, "max_imag_dropped": terms.max_imag},
        timings=timings,
        versions=versions(),
        warnings=warn,
        arithmetic=norm.arithmetic,
        condition=condition,
        **extras,
    )


def _match(sa: FeatureStats, sb: FeatureStats, settings: Settings, seed: int) -> tuple[FeatureStats, FeatureStats]:
    from .uncertainty import match_sample_count as match

    if sa.rows is None or sb.rows is None:
        raise FRDError("match_sample_count needs per-image features; pass images, not statistics files")
    _, _, ia, ib = match(sa.rows, sb.rows, seed=seed)
    out = []
    for s, idx in ((sa, ia), (sb, ib)):
        paths = [s.row_paths[i] for i in idx] if s.row_paths else None
        out.append(
            FeatureStats.from_features(s.rows[idx], s.names, settings, paths=paths, dim=s.dim, skipped=s.skipped)
        )
    return out[0], out[1]


def _analyses(
    sa: FeatureStats,
    sb: FeatureStats,
    norm: Any,
    settings: Settings,
    analysis: Analysis,
    score: float,
    warn: list[str],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    n_boot, seed, level = analysis.bootstrap, analysis.seed, analysis.level
    want_kid, want_fd_inf = analysis.kid, analysis.fd_inf
    if not (n_boot or want_kid or want_fd_inf):
        return out
    from . import uncertainty

    ya, _ = norm.rows(sa, 0)
    yb, _ = norm.rows(sb, 1)
    if n_boot:
        b = uncertainty.bootstrap(ya, yb, n_boot, seed=seed, level=level, log=settings.log)
        out["ci"] = {"low": b.low, "high": b.high, "level": level, "n_resamples": n_boot, "seed": seed}
        if math.isfinite(score) and not b.low <= score <= b.high:
            warn.append(
                f"FRD {score:.4g} lies outside its bootstrap interval [{b.low:.4g}, {b.high:.4g}]: resampling "
                "duplicates images and inflates the small-sample bias; read the interval as spread, and see --fd-inf"
            )
    if want_kid:
        k = uncertainty.kid(ya, yb, subset_size=max(2, min(1000, min(len(ya), len(yb)) // 2)), seed=seed)
        out["kid"] = {"mean": k.mean, "std": k.std, "subset_size": k.subset_size, "n_subsets": k.n_subsets}
    if want_fd_inf:
        f = uncertainty.fd_inf(ya, yb, seed=seed)
        value = (math.log(f.d2_inf) if f.d2_inf > 0 else float("-inf")) if settings.log else f.d2_inf
        out["fd_inf"] = {
            "frd_inf": value,
            "d2_inf": f.d2_inf,
            "slope": f.slope,
            "sizes": f.sizes,
            "d2_at_size": f.d2_at_size,
        }
    return out
