"""FRD between the real and synthetic sides of the pairs, computed by ``frd`` with a preset (default ``ccnet``).

``frd.compute_stats`` + ``frd.frd_from_stats`` is what ``frd.compute_frd`` runs; the statistics are kept so that
the raw rows and the resolved settings travel with the result (each row with its patient), for the paired
bootstrap of a baseline/model comparison, which normalizes every resample by frd's arithmetic.
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
    # frd names every row by the path it was given
    real_pid = {f: p.synth_key.patient_id for f, p in zip(real, pairs, strict=True)}
    synth_pid = {f: p.synth_key.patient_id for f, p in zip(synth, pairs, strict=True)}
    rows = SetRows.of(
        sa.rows,
        sb.rows,
        [real_pid[f] for f in sa.row_paths],
        [synth_pid[f] for f in sb.row_paths],
        log=settings.log,
        means_only=settings.means_only,
        frd_settings=settings,
        names=sa.names,
    )
    return MetricResult("frd", float(res.frd), None, [int(x) for x in res.n], details=details, rows=rows)
