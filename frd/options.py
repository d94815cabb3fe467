"""Typed options of one FRD run: the preset overrides (settings) and the analyses on top of the score.

``compute_frd``, :class:`frd.FRD` and :class:`frd.metric_torch.FRDMetric` take either a resolved
:class:`frd.Settings` (with an :class:`Analysis`) or the familiar keywords
(``bin_width=10, bootstrap=200, ...``); :func:`resolve_options` turns the keywords into the two
typed objects once, so nothing downstream handles an untyped dict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypedDict

from .errors import SettingsError
from .settings import Settings, resolve_settings


@dataclass(frozen=True)
class Analysis:
    """What is computed beside the score; none of it changes the score itself."""

    #: Percentile bootstrap interval of the score from ``bootstrap`` resamples (0: none).
    bootstrap: int = 0
    #: Seed of every random choice (bootstrap, KID subsets, FD∞ subsets, sample matching).
    seed: int = 0
    #: Confidence level of the bootstrap interval.
    level: float = 0.95
    #: Also the kernel distance (unbiased MMD²) on the normalized features.
    kid: bool = False
    #: Also the FRD extrapolated to infinitely many images.
    fd_inf: bool = False
    #: Subsample the larger set to the smaller's size (seeded), as the original v1 did.
    match_sample_count: bool = False


class SettingOptions(TypedDict, total=False):
    """Keyword overrides of a preset (see :func:`frd.resolve_settings`)."""

    params_file: str | Path | None
    feature_classes: Sequence[str] | None
    image_types: Sequence[str] | None
    log_sigma: Sequence[float] | None
    bin_width: float | None
    resize: int | tuple[int, int] | str | None
    norm_ref: str | None
    norm_type: str | None
    log: bool | None
    sqrtm: str | None
    means_only: bool
    engine: str | None
    robust: bool


class Options(SettingOptions, total=False):
    """Every keyword option of ``compute_frd``: preset overrides and :class:`Analysis` fields."""

    bootstrap: int
    seed: int
    level: float
    kid: bool
    fd_inf: bool
    match_sample_count: bool


SETTING_KEYS: frozenset[str] = frozenset(SettingOptions.__annotations__)
ANALYSIS_KEYS: frozenset[str] = frozenset(f.name for f in fields(Analysis))


def resolve_options(
    preset: str | Settings, options: Mapping[str, Any], analysis: Analysis | None = None
) -> tuple[Settings, Analysis]:
    """The typed :class:`Settings` and :class:`Analysis` of ``preset`` plus keyword ``options``.

    ``None`` values keep the preset's choice. A ready :class:`Settings` takes no further overrides
    (they would silently not apply); an ``analysis`` object takes no analysis keywords.

    >>> s, a = resolve_options("v0", {"bin_width": 10, "bootstrap": 50})
    >>> s.params_2d["setting"]["binWidth"], a.bootstrap
    (10, 50)
    """
    overrides: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in options.items():
        if key in SETTING_KEYS:
            if value is not None:
                overrides[key] = value
        elif key in ANALYSIS_KEYS:
            if value is not None:
                extra[key] = value
        else:
            unknown = sorted(set(options) - SETTING_KEYS - ANALYSIS_KEYS)
            raise SettingsError(f"unknown option(s): {', '.join(unknown)}")
    if isinstance(preset, Settings):
        if overrides:
            raise SettingsError(
                f"options {', '.join(overrides)} given with resolved Settings; pass them to resolve_settings instead"
            )
        settings = preset
    else:
        settings = resolve_settings(preset, **overrides)
    if analysis is not None and extra:
        raise SettingsError(f"options {', '.join(extra)} given together with an Analysis object")
    return settings, analysis if analysis is not None else Analysis(**extra)
