"""FRD between the real and synthetic sides of the pairs, computed by ``frd`` with a preset (default ``ccnet``).

``frd.compute_stats`` + ``frd.frd_from_stats`` is what ``frd.compute_frd`` runs; the statistics are kept so that
the preset's normalized rows (:func:`frd.replay.normalize_sets`, the arithmetic of the reported value) travel
with the result, each with its patient, for the paired bootstrap of a baseline/model comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ccnet_zoo.metrics.pairing import Pair
from ccnet_zoo.metrics.registry import MetricContext
from ccnet_zoo.metrics.result import MetricResult
from ccnet_zoo.metrics.set_rows import SetRows

#: keyword options of frd.compute_frd that are not settings or analyses
_RUN_OPTIONS = ("workers", "cache", "cache_dir", "skip_invalid", "progress")


def compute(pairs: Sequence[Pair], ctx: MetricContext) -> MetricResult:
    """``frd.compute_frd`` of the paired real files against the paired synthetic files."""
    import frd
    from frd.options import resolve_options
    from frd.replay import normalize_sets

    preset = ctx.frd_preset
    run = {k: v for k, v in ctx.frd_options.items() if k in _RUN_OPTIONS}
    settings, analysis = resolve_options(preset, {k: v for k, v in ctx.frd_options.items() if k not in run})
    real, synth = [str(p.real) for p in pairs], [str(p.synth) for p in pairs]
    sa, sb = frd.compute_stats([real, synth], settings, **run)
    res = frd.frd_from_stats(sa, sb, settings, analysis=analysis)
    details: dict[str, Any] = {
        "preset": preset,
        "settings_hash": res.settings_hash,
        "d2": res.d2,
        "n_features": len(res.features),
        "note": f"frd preset {preset}",
    }
    if res.ci is not None:
        details["ci"] = res.ci
    norm = normalize_sets(sa, sb, settings)
    (ya, paths_a), (yb, paths_b) = norm.rows(sa, 0), norm.rows(sb, 1)
    # frd names every row by the path it was given
    real_pid = {f: p.synth_key.patient_id for f, p in zip(real, pairs, strict=True)}
    synth_pid = {f: p.synth_key.patient_id for f, p in zip(synth, pairs, strict=True)}
    rows = SetRows.of(
        ya,
        yb,
        [real_pid[f] for f in paths_a],
        [synth_pid[f] for f in paths_b],
        log=settings.log,
        means_only=settings.means_only,
    )
    return MetricResult("frd", float(res.frd), None, [int(x) for x in res.n], details=details, rows=rows)
