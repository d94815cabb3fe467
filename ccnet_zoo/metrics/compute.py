"""Every metric of one real/synthetic comparison: :func:`compute_metrics` (folders or file lists) and
:func:`compute_metrics_for_pairs` (a :class:`~ccnet_zoo.metrics.pairing.Pairing`).

Weights are looked up in the registry and never downloaded here: a metric whose weights are missing (or have no
verified sha256) is returned as *unavailable* with the ``ccnet-zoo weights fetch NAME`` command, never as a number
from untrained weights. Set metrics (FRD, FID) use the paired files of each side; MSE and LPIPS are per pair.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ccnet_zoo.metrics.errors import MetricsError
from ccnet_zoo.metrics.pairing import Pair, Pairing, Source, pair_images
from ccnet_zoo.metrics.registry import METRICS as REGISTRY
from ccnet_zoo.metrics.registry import MetricContext
from ccnet_zoo.metrics.result import MetricResult, MetricsReport
from ccnet_zoo.metrics.uncertainty import N_RESAMPLES, SEED, cluster_bootstrap
from ccnet_zoo.weights import Registry

log = logging.getLogger(__name__)

#: The registered metric names, in table order (see :mod:`ccnet_zoo.metrics.registry`).
METRICS = tuple(REGISTRY)
DEFAULT_INCEPTION = "fid-inception"
DEFAULT_ALEXNET = "lpips-alexnet"


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
    device: str | None = None,
    fid_sqrtm: str = "scipy",
    fid_resize: str = "tf-bilinear",
) -> MetricsReport:
    """Compute ``metrics`` on already paired images; see the module docstring.

    ``device`` runs FID and LPIPS (``None``: the GPU when present, :func:`ccnet_zoo.device.resolve_device`).
    """
    unknown = [m for m in metrics if m not in REGISTRY]
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
    if "fid" in metrics or "lpips" in metrics:  # torch only for the network metrics
        from ccnet_zoo.device import resolve_device

        device = str(resolve_device(device))
    ctx = MetricContext(
        registry or Registry.load(),
        paper_quirks=paper_quirks,
        frd_preset=frd_preset,
        # frd's bootstrap interval in every FRD cell, unless the caller chose its own
        frd_options={"bootstrap": N_RESAMPLES, "seed": SEED, **(frd_options or {})},
        inception=inception,
        alexnet=alexnet,
        lpips_linear=lpips_linear,
        batch_size=batch_size,
        device=device,
        fid_sqrtm=fid_sqrtm,
        fid_resize=fid_resize,
    )
    results: dict[str, MetricResult] = {}
    seconds: dict[str, float] = {}
    for name, metric in REGISTRY.items():  # registry order, whatever the order asked
        if name in metrics:
            t0 = time.perf_counter()
            results[name] = metric.run(pairs, ctx)
            if metric.kind == "pair":
                _add_patient_interval(results[name], pairs)
            seconds[name] = round(time.perf_counter() - t0, 3)
    unmatched = pairing if isinstance(pairing, Pairing) else Pairing(pairs)
    settings = {
        "paper_quirks": paper_quirks,
        "frd_preset": frd_preset,
        "frd_options": dict(frd_options or {}),
        "inception": inception,
        "alexnet": alexnet,
        "batch_size": batch_size,
        "device": device,
        "fid_sqrtm": fid_sqrtm,
        "fid_resize": fid_resize,
        "metrics": list(metrics),
    }
    return MetricsReport(
        results,
        len(pairs),
        [str(p) for p in unmatched.unmatched_real],
        [str(p) for p in unmatched.unmatched_synth],
        settings,
        _versions(),
        seconds,
        pair_keys=[[p.synth_key.patient_id, p.synth_key.slice_index, p.synth_key.phase] for p in pairs],
    )


def _add_patient_interval(result: MetricResult, pairs: Sequence[Pair]) -> None:
    """``details["ci"]`` of a per-pair metric: its mean bootstrapped over patients (slices are not independent)."""
    if not result.available or not result.per_pair:
        return
    values = np.asarray(result.per_pair, dtype=np.float64)
    finite = np.isfinite(values)  # PSNR of identical images is +inf: the interval is over the finite values
    if finite.any():
        patients = [p.synth_key.patient_id for p, ok in zip(pairs, finite, strict=True) if ok]
        result.details["ci"] = cluster_bootstrap(values[finite], patients).to_dict()


def compute_metrics(
    real: Source,
    synth: Source,
    *,
    phase: int | None = None,
    real_phase: int | None = None,
    strict: bool = False,
    **kwargs: Any,
) -> MetricsReport:
    """Pair ``real`` and ``synth`` (folders or file lists) by patient/slice/phase and compute every metric.

    ``phase``/``real_phase``/``strict`` go to :func:`~ccnet_zoo.metrics.pairing.pair_images`; the other keyword
    arguments to :func:`compute_metrics_for_pairs`.
    """
    pairing = pair_images(real, synth, phase=phase, real_phase=real_phase, strict=strict)
    report = compute_metrics_for_pairs(pairing, **kwargs)
    report.settings.update(
        real=str(real) if isinstance(real, (str, Path)) else f"{len(real)} files",
        synth=str(synth) if isinstance(synth, (str, Path)) else f"{len(synth)} files",
        phase=phase,
        real_phase=real_phase,
    )
    return report


def _versions() -> dict[str, str]:
    import torch

    import frd

    return {"frd": frd.__version__, "torch": torch.__version__, "numpy": np.__version__}
