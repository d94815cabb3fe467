"""FRD between the real and synthetic sides of the pairs, computed by ``frd`` with a preset (default ``ccnet``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ccnet_zoo.metrics.pairing import Pair
from ccnet_zoo.metrics.registry import MetricContext
from ccnet_zoo.metrics.result import MetricResult


def compute(pairs: Sequence[Pair], ctx: MetricContext) -> MetricResult:
    """``frd.compute_frd`` of the paired real files against the paired synthetic files."""
    import frd

    preset = ctx.frd_preset
    res = frd.compute_frd([p.real for p in pairs], [p.synth for p in pairs], preset=preset, **ctx.frd_options)
    details: dict[str, Any] = {
        "preset": preset,
        "settings_hash": res.settings_hash,
        "d2": res.d2,
        "n_features": len(res.features),
        "note": f"frd preset {preset}",
    }
    if res.ci is not None:
        details["ci"] = res.ci
    return MetricResult("frd", float(res.frd), None, [int(x) for x in res.n], details=details)
