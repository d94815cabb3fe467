"""Radiomics feature extraction: one image at a time as the reference does it, many in a pool.

The per-image pipeline mirrors frd-score 1.0.1's ``process_image_mask_pair`` step by step
(float32 read, default mask, optional cv2 resize, 2D to (1, H, W) for v1, pyradiomics, the
feature dictionary) so that the numbers match. What is new is around it: one process pool for
both sets, chunked work, a content-addressed cache, a progress bar and typed errors.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing as mp
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._lazy import sitk
from .cache import CachedFeatures, FeatureCache
from .errors import DimensionMismatchError, ExtractionError, FRDError, InvalidImageError, MaskMismatchError
from .io import ImageRef, image_dim, read_image, read_mask, unreadable_reason
from .settings import Settings

log = logging.getLogger(__name__)


@dataclass
class FeatureTable:
    """Raw per-image features of one set (rows follow ``paths``)."""

    names: list[str]
    values: np.ndarray
    paths: list[str]
    dim: int | None
    skipped: list[dict[str, str]] = field(default_factory=list)
    #: Warnings about single images (NaN pixels, a mask of another size), already logged.
    notes: list[str] = field(default_factory=list)
    #: sha256 of each row's image bytes (statistics files store these instead of paths).
    hashes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(self.values.shape[0])


# --------------------------------------------------------------------------- one image


def _resize(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    w, h = size
    if arr.ndim == 2:
        return cv2.resize(arr, (w, h), interpolation=cv2.INTER_LINEAR)
    # The reference fills a float64 volume slice by slice.
    out = np.zeros((arr.shape[0], h, w))
    for z in range(arr.shape[0]):
        out[z] = cv2.resize(arr[z], (w, h), interpolation=cv2.INTER_LINEAR)
    return out


def _default_mask(image: sitk.Image, corner: bool) -> sitk.Image:
    arr = np.ones(image.GetSize()[::-1], dtype=np.uint8)
    if corner:
        arr[(0,) * arr.ndim] = 0
    mask = sitk.GetImageFromArray(arr)
    mask.CopyInformation(image)
    return mask


_EXTRACTORS: dict[tuple[str, int], Any] = {}


def _extractor(settings: Settings, dim: int) -> Any:
    key = (settings.extraction_hash, dim)
    if key not in _EXTRACTORS:
        import radiomics
        from radiomics import featureextractor

        radiomics.setVerbosity(60)
        logging.getLogger("radiomics").setLevel(logging.ERROR)
        logging.getLogger("pykwalify").setLevel(logging.WARNING)  # it logs every parameter validation
        if settings.engine in ("fast", "torch"):
            from .engine.pipeline import make_extractor

            _EXTRACTORS[key] = make_extractor(settings.params(dim), settings.keep_diagnostics, settings.engine)
        else:
            _EXTRACTORS[key] = featureextractor.RadiomicsFeatureExtractor(settings.params(dim))
    return _EXTRACTORS[key]


def extract_image(
    image: ImageRef, mask: ImageRef | None, settings: Settings, notes: list[str] | None = None
) -> tuple[list[str], np.ndarray, int] | str:
    """Features of one image as (names, float64 values, dim), or a reason string if skipped.

    Warnings about the image (NaN pixels, a mask of another size) are appended to ``notes``.
    """
    notes = [] if notes is None else notes
    img = read_image(image, notes)
    dim = image_dim(img)
    setting = settings.params(dim)["setting"]
    if setting.get("normalize"):
        arr = sitk.GetArrayViewFromImage(img)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        if lo == hi:
            raise InvalidImageError(
                f"{image.path} is constant (every pixel is {lo:g}): this preset z-scores each image "
                "(pyradiomics normalize), which is undefined without contrast; remove it or use --skip-invalid"
            )
    # A default all-ones 2D mask stays all ones under the resize (linear interpolation of ones, then the
    # 0.5 threshold), so it is made at the new size directly: the same uint8 image, two resizes fewer.
    if mask is None and settings.resize is not None and not settings.corner_mask and img.GetDimension() == 2:
        msk = None
    elif mask is None:
        msk = _default_mask(img, settings.corner_mask)
    else:
        msk = read_mask(mask)
        if msk.GetSize() != img.GetSize():
            if settings.resize is None and not setting.get("correctMask"):
                raise MaskMismatchError(
                    f"mask {mask.path} has size {msk.GetSize()}, image {image.path} has {img.GetSize()}"
                )
            # What the reference does, said aloud: it never checks the sizes itself.
            how = (
                f"both are resized to {settings.resize[0]}x{settings.resize[1]} on their own, so the mask is "
                "stretched onto the image"
                if settings.resize is not None
                else "pyradiomics (correctMask) resamples the mask onto the image grid, nearest neighbour"
            )
            notes.append(
                f"mask {mask.path} has size {msk.GetSize()}, its image {image.path} {img.GetSize()}: "
                f"{how}, as the reference does"
            )
    if msk is not None and np.max(sitk.GetArrayViewFromImage(msk)) == 255:
        msk = sitk.Cast(msk, sitk.sitkFloat32) / 255.0

    if settings.resize is not None:
        resized = sitk.GetImageFromArray(_resize(sitk.GetArrayViewFromImage(img), settings.resize))
        resized.CopyInformation(img) if resized.GetSize() == img.GetSize() else None
        img = resized
        if msk is None:
            msk = sitk.GetImageFromArray(np.ones(img.GetSize()[::-1], dtype=np.uint8))
        else:
            marr = _resize(sitk.GetArrayViewFromImage(msk), settings.resize)
            marr[marr > 0.5] = 1
            marr[marr <= 0.5] = 0
            msk = sitk.GetImageFromArray(marr)

    if np.sum(sitk.GetArrayViewFromImage(msk)) <= 1:
        return "mask has at most one voxel"

    if settings.expand_2d and img.GetDimension() == 2:
        spacing = (*img.GetSpacing(), 1.0)
        img = sitk.GetImageFromArray(sitk.GetArrayFromImage(img)[np.newaxis])
        img.SetSpacing(spacing)
        marr = sitk.GetArrayFromImage(msk)
        if marr.ndim == 2:
            msk = sitk.GetImageFromArray(marr[np.newaxis])
            msk.SetSpacing(spacing)

    from ._fastglcm import fast_glcm

    try:
        extractor = _extractor(settings, dim)
        with fast_glcm():
            output = extractor.execute(img, msk)
    except FRDError:  # e.g. the fast engine declining settings it cannot reproduce: already typed and worded
        raise
    except Exception as exc:
        reason = unreadable_reason(exc)  # the cause, not ITK's C++ source line
        raise ExtractionError(f"feature extraction failed for {image.path}: {reason}") from exc

    names: list[str] = []
    values: list[float] = []
    for name, value in output.items():
        if "diagnostics" not in name:
            names.append(name.replace("original_", ""))
            values.append(float(value))
        elif settings.keep_diagnostics:
            try:
                v = float(value)
            except (TypeError, ValueError):
                continue
            names.append(name)
            values.append(v)
    return names, np.asarray(values, dtype=np.float64), dim


# --------------------------------------------------------------------------- many images

_WORKER_SETTINGS: Settings | None = None


def _die_with_parent() -> None:
    """A worker ends on SIGTERM (not the handler a forked worker inherits from the CLI, which the
    pool's worker loop would catch and carry on), leaves Ctrl-C to the parent, which stops the pool,
    and on Linux gets SIGTERM from the kernel when its parent dies, however it dies (even SIGKILL)."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # no prctl here: the pool's own shutdown still ends the workers
        return


def _init_worker(settings: Settings) -> None:
    global _WORKER_SETTINGS
    _WORKER_SETTINGS = settings
    _die_with_parent()
    # One ITK and one BLAS thread per worker process: the pool already uses every core, more threads contend.
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    logging.getLogger("radiomics").setLevel(logging.ERROR)


def _run_chunk(chunk: list[tuple[int, ImageRef, ImageRef | None]]) -> list[tuple[int, str, Any]]:
    assert _WORKER_SETTINGS is not None
    return [_run_one(i, img, msk, _WORKER_SETTINGS) for i, img, msk in chunk]


def _with_notes(message: str, notes: list[str]) -> str:
    """An error message with what was noticed about the image before (NaN pixels often explain it)."""
    return f"{message} ({'; '.join(notes)})" if notes else message


def _run_one(i: int, img: ImageRef, msk: ImageRef | None, settings: Settings) -> tuple[int, str, Any]:
    notes: list[str] = []
    try:
        res = extract_image(img, msk, settings, notes)
    except FRDError as exc:
        return i, "error", (type(exc).__name__, _with_notes(str(exc), notes))
    except Exception as exc:  # anything else from ITK/pyradiomics names the file too
        message = f"feature extraction failed for {img.path}: {unreadable_reason(exc)}"
        return i, "error", ("ExtractionError", _with_notes(message, notes))
    if isinstance(res, str):
        return i, "skip", res
    return i, "ok", (*res, notes)


def _error_type(name: str) -> type[FRDError]:
    from . import errors

    cls = getattr(errors, name, ExtractionError)
    return cls if isinstance(cls, type) and issubclass(cls, FRDError) else ExtractionError


@dataclass
class ExtractionJob:
    images: Sequence[ImageRef]
    masks: Sequence[ImageRef] | None = None


def extract_sets(
    jobs: Sequence[ExtractionJob],
    settings: Settings,
    *,
    workers: int = 1,
    cache: FeatureCache | None = None,
    progress: bool = False,
    skip_invalid: bool = False,
    timings: dict[str, float] | None = None,
) -> list[FeatureTable]:
    """Extract every image of every job in one pool; cached images are not recomputed."""
    cache = cache or FeatureCache(enabled=False)
    t0 = time.perf_counter()
    flat: list[tuple[int, int, ImageRef, ImageRef | None]] = []
    for j, job in enumerate(jobs):
        masks = job.masks if job.masks is not None else [None] * len(job.images)
        flat.extend((j, k, img, m) for k, (img, m) in enumerate(zip(job.images, masks, strict=True)))

    results: list[Any] = [None] * len(flat)
    keys: list[str | None] = [None] * len(flat)
    todo: list[tuple[int, ImageRef, ImageRef | None]] = []
    for i, (_, _, img, msk) in enumerate(flat):
        if cache.enabled:
            try:
                keys[i] = FeatureCache.key(
                    img.content_hash(), msk.content_hash() if msk else None, settings.extraction_hash
                )
            except OSError as exc:
                results[i] = ("error", ("InvalidImageError", f"cannot read {img.path}: {exc}"))
                continue
            hit = cache.get(keys[i])
            if hit is not None:
                results[i] = ("ok", (hit.names, hit.values, hit.dim, hit.notes))
                continue
        todo.append((i, img, msk))
    if timings is not None:
        timings["cache_lookup_s"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    if todo:
        if settings.engine in ("fast", "torch"):  # numba/torch missing or settings it cannot reproduce: up front
            from .engine.pipeline import ensure_usable

            ensure_usable(settings.params_2d, settings.params_3d, engine=settings.engine)
        _compute(todo, settings, workers, progress, results)
        for i, _img, _msk in todo:
            kind, payload = results[i]
            if kind == "ok" and keys[i] is not None:
                names, values, dim, notes = payload
                cache.put(keys[i], CachedFeatures(names=names, values=values, dim=dim, notes=notes))
    if timings is not None:
        timings["extraction_s"] = time.perf_counter() - t1
        timings["images_extracted"] = float(len(todo))
        timings["images_cached"] = float(len(flat) - len(todo))

    tables = []
    for j, _job in enumerate(jobs):
        tables.append(_assemble([(flat[i], results[i]) for i in range(len(flat)) if flat[i][0] == j], skip_invalid))
    return tables


@contextlib.contextmanager
def one_itk_thread() -> Iterator[None]:
    """One ITK thread in this process for the duration, as in the pool's workers (then restored).

    Not only for speed: with two ITK threads, v1 on the same 3D images gave two different numbers over
    repeated runs (2.4e-5 apart; frd-score alike), with one thread always the same. The round-off that
    ITK's threaded image handling leaves differs from run to run, and v1 z-scores round-off columns
    (the mean of a high-pass wavelet band) to O(1) features.
    """
    before = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    try:
        yield
    finally:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(before)


def _compute(
    todo: list[tuple[int, ImageRef, ImageRef | None]],
    settings: Settings,
    workers: int,
    progress: bool,
    results: list[Any],
) -> None:
    from tqdm import tqdm

    bar = tqdm(total=len(todo), unit="img", desc="radiomics", disable=not progress, file=sys.stderr)
    workers = max(1, min(workers, len(todo)))
    try:
        if workers == 1:
            with one_itk_thread():
                for i, img, msk in todo:
                    _, kind, payload = _run_one(i, img, msk, settings)
                    results[i] = (kind, payload)
                    bar.update(1)
            return
        # Small chunks keep both cores busy to the end; several per worker amortise IPC.
        size = max(1, min(16, math.ceil(len(todo) / (workers * 4))))
        chunks = [todo[k : k + size] for k in range(0, len(todo), size)]
        ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        before = set(mp.active_children())
        ex = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(settings,))
        try:
            futures = [ex.submit(_run_chunk, c) for c in chunks]
            for fut in as_completed(futures):
                for i, kind, payload in fut.result():
                    results[i] = (kind, payload)
                bar.update(len(fut.result()))
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM) or failed: stop the workers now instead of waiting for their chunks.
            ex.shutdown(wait=False, cancel_futures=True)
            for proc in set(mp.active_children()) - before:
                proc.terminate()
            raise
        finally:
            ex.shutdown(wait=True)
    finally:
        bar.close()


def _assemble(rows: list[tuple[tuple[int, int, ImageRef, ImageRef | None], Any]], skip_invalid: bool) -> FeatureTable:
    names: list[str] | None = None
    hashes: list[str] = []
    values: list[np.ndarray] = []
    paths: list[str] = []
    dims: set[int] = set()
    skipped: list[dict[str, str]] = []
    all_notes: list[str] = []
    for (_, _, img, _), (kind, payload) in rows:
        if kind == "error":
            etype, msg = payload
            if skip_invalid and etype in ("InvalidImageError", "ExtractionError"):
                log.warning("skipping %s", msg)
                skipped.append({"path": img.path, "reason": msg})
                continue
            raise _error_type(etype)(msg)
        if kind == "skip":
            log.warning("skipping %s: %s", img.path, payload)
            skipped.append({"path": img.path, "reason": payload})
            continue
        n, v, d, notes = payload
        for note in notes:  # logged here, in the main process, for computed and cached images alike
            log.warning(note)
        all_notes.extend(notes)
        if dims and d not in dims:
            raise DimensionMismatchError(
                f"the set mixes 2D and 3D images ({paths[0]} is {dims.pop()}D, {img.path} is {d}D); "
                "compare sets of one kind"
            )
        if names is None:
            names = list(n)
        elif list(n) != names:
            raise ExtractionError(
                f"{img.path} yields other features ({len(n)}) than {paths[0]} ({len(names)}); "
                "are the images of one kind?"
            )
        values.append(v)
        paths.append(img.path)
        hashes.append(img.sha256())
        dims.add(d)
    matrix = np.vstack(values) if values else np.empty((0, len(names or [])))
    return FeatureTable(
        names=names or [],
        values=matrix,
        paths=paths,
        dim=dims.pop() if dims else None,
        skipped=skipped,
        notes=all_notes,
        hashes=hashes,
    )


__all__ = ["ExtractionJob", "FeatureTable", "InvalidImageError", "extract_image", "extract_sets"]
