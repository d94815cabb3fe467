"""The metric registry: what each metric is called, which way is better, how it is computed.

Adding a metric is one file plus one line here. The file (e.g. ``ccnet_zoo/metrics/psnr.py``) defines::

    def compute(pairs: Sequence[Pair], ctx: MetricContext) -> MetricResult: ...

(:func:`~ccnet_zoo.metrics.result.per_pair_result` builds the result of a per-pair metric), and the line below
names it. ``ccnet-zoo metrics --metric``, the metrics tables and Table 1 of ``ccnet-zoo reproduce`` take their
choices, columns and header from :data:`METRICS`, in its order. Nothing here imports torch: a metric names its
module, which is imported when the metric runs.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ccnet_zoo.metrics.pairing import Pair
    from ccnet_zoo.metrics.result import MetricResult
    from ccnet_zoo.weights import Registry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetricContext:
    """The settings every metric's ``compute`` receives (each metric reads the ones it needs)."""

    registry: Registry
    paper_quirks: bool = False
    frd_preset: str = "ccnet"
    frd_options: dict[str, Any] = field(default_factory=dict)
    inception: str = "fid-inception"
    alexnet: str | None = None  # None: the first cached of lpips-alexnet, lpips-alexnet-jax
    lpips_linear: str | Path | None = None
    batch_size: int = 16
    device: str = "cpu"
    fid_sqrtm: str = "scipy"
    fid_resize: str = "tf-bilinear"

    def weights(self, name: str, metric: str) -> tuple[Path | None, MetricResult | None]:
        """``(path, None)`` of registered weights, or ``(None, unavailable result)`` naming the fetch command."""
        from ccnet_zoo.metrics.result import MetricResult
        from ccnet_zoo.weights import WeightsNotAvailableError

        try:
            return self.registry.path(name), None
        except WeightsNotAvailableError as err:
            log.info("%s: %s", metric, err)
            return None, MetricResult.unavailable(metric, str(err), err.hint)


@dataclass(frozen=True)
class Metric:
    """One metric of the registry.

    ``kind``: ``"set"`` (one value for the two image sets, e.g. FRD, FID) or ``"pair"`` (one value per pair,
    reported as mean ± sample std). ``ci``: how its confidence interval is computed — ``"bootstrap"`` (resample
    the images of each set) or ``"paired"`` (over the per-pair values). ``module``: the module defining
    ``compute(pairs, ctx)``, a name inside ``ccnet_zoo.metrics`` or a full dotted path.
    """

    name: str
    label: str
    lower_is_better: bool
    kind: Literal["set", "pair"]
    ci: Literal["bootstrap", "paired"]
    module: str

    def run(self, pairs: Sequence[Pair], ctx: MetricContext) -> MetricResult:
        """Import the metric's module and compute it on ``pairs``."""
        path = self.module if "." in self.module else f"ccnet_zoo.metrics.{self.module}"
        compute: Callable[[Sequence[Pair], MetricContext], MetricResult] = importlib.import_module(path).compute
        return compute(pairs, ctx)

    @property
    def header(self) -> str:
        """The table header: the label with an arrow saying which way is better (``FRD ↓``)."""
        return f"{self.label} {'↓' if self.lower_is_better else '↑'}"


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("frd", "FRD", lower_is_better=True, kind="set", ci="bootstrap", module="frd_metric"),
        Metric("fid", "FID", lower_is_better=True, kind="set", ci="bootstrap", module="fid"),
        Metric("lpips", "LPIPS", lower_is_better=True, kind="pair", ci="paired", module="lpips"),
        Metric("mse", "MSE", lower_is_better=True, kind="pair", ci="paired", module="mse"),
        Metric("ssim", "SSIM", lower_is_better=False, kind="pair", ci="paired", module="ssim"),
        Metric("msssim", "MS-SSIM", lower_is_better=False, kind="pair", ci="paired", module="msssim"),
        Metric("psnr", "PSNR", lower_is_better=False, kind="pair", ci="paired", module="psnr"),
    )
}


def metric(name: str) -> Metric:
    """The registered metric ``name`` (:class:`~ccnet_zoo.metrics.errors.MetricsError` if there is none)."""
    from ccnet_zoo.metrics.errors import MetricsError

    try:
        return METRICS[name]
    except KeyError:
        raise MetricsError(f"unknown metric {name!r}; choose from {', '.join(METRICS)}") from None
