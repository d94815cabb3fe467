"""The per-image feature rows behind a set metric (FRD, FID), kept so that a paired bootstrap can reuse them.

FRD keeps frd's raw radiomics rows (after the preset's float32 cast, :attr:`frd.FeatureStats.rows`) with the
resolved frd settings, so that every resample is normalized and scored by frd's own arithmetic
(:func:`frd.replay.normalize_sets`) exactly as the reported value was; FID keeps the Inception activations. Each
row carries its patient, so resampling patients never needs the images again. A metrics run stores them beside its
JSON report (``save_set_rows`` / ``load_set_rows``: one ``.npz`` of plain arrays, read without pickle).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ccnet_zoo.metrics.errors import MetricsError
from frd._files import replace_owned

if TYPE_CHECKING:
    from frd import Settings


@dataclass(frozen=True)
class SetRows:
    """Rows of the two sides of one set metric, with the patient of each row.

    ``log``: the score is ln d² (frd presets with ``log``); ``means_only``: d² is ‖μ₁ − μ₂‖² only.
    ``frd_settings`` (FRD): :meth:`frd.Settings.to_dict` of the run, and ``names`` the feature names: the rows are
    raw and each resample is normalized by frd's arithmetic with these settings. Without them (FID) the rows are
    used as they are.
    """

    real: NDArray[np.float64]
    synth: NDArray[np.float64]
    real_patients: tuple[str, ...]
    synth_patients: tuple[str, ...]
    log: bool = False
    means_only: bool = False
    frd_settings: dict[str, Any] | None = None
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        r, s = self.real, self.synth
        if r.ndim != 2 or s.ndim != 2 or r.shape[1] != s.shape[1]:
            raise MetricsError(f"row sets must be (N, p) with one p, got {r.shape} and {s.shape}")
        if len(self.real_patients) != len(r) or len(self.synth_patients) != len(s):
            raise MetricsError("one patient per row is needed on each side")
        if self.frd_settings is not None and len(self.names) != r.shape[1]:
            raise MetricsError(f"{len(self.names)} feature names for {r.shape[1]} columns")

    def settings(self) -> Settings:
        """The frd :class:`~frd.Settings` the rows were computed with (FRD rows only)."""
        from frd import Settings

        if self.frd_settings is None:
            raise MetricsError("these rows carry no frd settings (they are not FRD rows)")
        known = {f.name for f in fields(Settings)}
        kw = {k: v for k, v in self.frd_settings.items() if k in known}
        kw["resize"] = tuple(kw["resize"]) if kw.get("resize") else None
        kw["norm_range"] = tuple(kw["norm_range"])
        return Settings(**kw)

    @classmethod
    def of(
        cls,
        real: NDArray[np.floating],
        synth: NDArray[np.floating],
        real_patients: Sequence[str],
        synth_patients: Sequence[str],
        *,
        log: bool = False,
        means_only: bool = False,
        frd_settings: Settings | dict[str, Any] | None = None,
        names: Sequence[str] = (),
    ) -> SetRows:
        if frd_settings is not None and not isinstance(frd_settings, dict):
            frd_settings = json.loads(json.dumps(frd_settings.to_dict()))  # plain JSON types, as saved
        return cls(
            np.asarray(real, np.float64),
            np.asarray(synth, np.float64),
            tuple(str(p) for p in real_patients),
            tuple(str(p) for p in synth_patients),
            log,
            means_only,
            frd_settings,
            tuple(str(n) for n in names),
        )


def save_set_rows(path: str | Path, rows: Mapping[str, SetRows]) -> Path:
    """Write ``{metric: SetRows}`` to ``path`` (an ``.npz`` this program owns), atomically."""
    arrays: dict[str, NDArray[np.generic]] = {}
    meta = {}
    for metric, r in rows.items():
        arrays[f"{metric}/real"], arrays[f"{metric}/synth"] = r.real, r.synth
        arrays[f"{metric}/real_patients"] = np.array(r.real_patients, dtype=np.str_)
        arrays[f"{metric}/synth_patients"] = np.array(r.synth_patients, dtype=np.str_)
        meta[metric] = {"log": r.log, "means_only": r.means_only, "frd_settings": r.frd_settings, "names": r.names}
    arrays["meta"] = np.array(json.dumps(meta))

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    return replace_owned(path, write)


def load_set_rows(path: str | Path) -> dict[str, SetRows]:
    """``{metric: SetRows}`` from a file written by :func:`save_set_rows`."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        return {
            metric: SetRows.of(
                z[f"{metric}/real"],
                z[f"{metric}/synth"],
                z[f"{metric}/real_patients"].tolist(),
                z[f"{metric}/synth_patients"].tolist(),
                log=bool(flags["log"]),
                means_only=bool(flags["means_only"]),
                frd_settings=flags.get("frd_settings"),
                names=flags.get("names") or (),
            )
            for metric, flags in meta.items()
        }
