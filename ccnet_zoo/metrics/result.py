"""What a metrics run returns: one :class:`MetricResult` per metric inside a :class:`MetricsReport`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ccnet_zoo.metrics.set_rows import SetRows
from frd._json import jsonable

OK = "ok"
UNAVAILABLE = "unavailable"


@dataclass
class MetricResult:
    """A metric's value, std over pairs (None for set metrics) and n — or why there is no value.

    ``n`` is the number of pairs for MSE/LPIPS and ``[n_real, n_synth]`` for the set metrics FRD/FID.

    ``status`` is ``"ok"`` or ``"unavailable"``; an unavailable metric has ``value=None``, a ``message`` and
    ``fetch``, the command that makes it available (``ccnet-zoo weights fetch NAME``).

    ``rows`` (set metrics only, never serialised): the per-image feature rows behind the value, with their patients,
    for the paired bootstrap of a baseline/model comparison (:mod:`ccnet_zoo.metrics.set_rows`).
    """

    metric: str
    value: float | None
    std: float | None
    n: int | list[int]
    status: str = OK
    message: str = ""
    fetch: str | None = None
    per_pair: list[float] | None = None
    details: dict[str, Any] = field(default_factory=dict)
    rows: SetRows | None = field(default=None, repr=False, compare=False)

    @property
    def available(self) -> bool:
        return self.status == OK

    @classmethod
    def unavailable(cls, metric: str, message: str, fetch: str | None = None) -> MetricResult:
        return cls(metric=metric, value=None, std=None, n=0, status=UNAVAILABLE, message=message, fetch=fetch)


def per_pair_result(metric: str, values: NDArray[np.floating], note: str) -> MetricResult:
    """The result of a per-pair metric: mean, sample std (ddof=1) over pairs, n and every pair's value."""
    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return MetricResult(
        metric,
        float(values.mean()),
        std,
        len(values),
        per_pair=[float(v) for v in values],
        details={"std": "sample std over pairs (ddof=1)", "note": note},
    )


@dataclass
class MetricsReport:
    """All metrics of one real/synthetic comparison, with the pairing, settings and versions behind them."""

    results: dict[str, MetricResult]
    n_pairs: int
    unmatched_real: list[str]
    unmatched_synth: list[str]
    settings: dict[str, Any]
    versions: dict[str, str]
    seconds: dict[str, float]
    #: [patient, slice, phase] of each pair's synthetic side, in the order of every ``per_pair`` list
    pair_keys: list[list[Any]] = field(default_factory=list)

    def __getitem__(self, metric: str) -> MetricResult:
        return self.results[metric]

    def set_rows(self) -> dict[str, SetRows]:
        """``{metric: SetRows}`` of the set metrics that kept their feature rows."""
        return {name: r.rows for name, r in self.results.items() if r.rows is not None}

    def to_dict(self, per_pair: bool = False) -> dict[str, Any]:
        d = asdict(self)
        for r in d["results"].values():
            r.pop("rows", None)  # feature matrices: saved on their own (save_set_rows), never in the JSON
        if not per_pair:
            d.pop("pair_keys", None)
            for r in d["results"].values():
                r.pop("per_pair", None)
        return jsonable(d)

    def to_json(self, indent: int | None = 2, per_pair: bool = False) -> str:
        return json.dumps(self.to_dict(per_pair), indent=indent)
