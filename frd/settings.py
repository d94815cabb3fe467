"""Resolve a preset plus user overrides into the full, hashable settings of one FRD run."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import numbers
from dataclasses import asdict, dataclass, replace
from functools import cached_property, lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from .defaults import NORM_REFS, NORM_TYPES, SQRTM_METHODS
from .engines import DEFAULT_ENGINE, ENGINES, choose_engine
from .errors import InputNotFoundError, SettingsError
from .presets import PRESETS, V1_LOG_SIGMA

#: Bumped whenever the per-image feature vector of the same settings could change.
FEATURE_FORMAT = 1


@lru_cache(maxsize=1)
def pyradiomics_version() -> str:
    """Version of the installed pyradiomics distribution, read without importing it."""
    for dist in ("pyradiomics-bhklab", "pyradiomics"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return "not-installed"


@dataclass(frozen=True)
class Settings:
    """Resolved settings of a run. ``extraction_hash`` identifies per-image features."""

    preset: str
    params_2d: dict[str, Any]
    params_3d: dict[str, Any]
    keep_diagnostics: bool
    corner_mask: bool
    expand_2d: bool
    resize: tuple[int, int] | None
    float32_features: bool
    drop_nan_rows: bool
    norm_type: str
    norm_ref: str
    norm_range: tuple[float, float]
    drop_nonfinite_columns: bool
    log: bool
    sqrtm: str
    means_only: bool = False
    #: The engine that extracts the features (see frd.engines; ``engine=None`` chooses it).
    engine: str = DEFAULT_ENGINE
    #: --robust: near-constant columns dropped, normalizing spread floored (never a preset's number).
    robust: bool = False

    def params(self, dim: int) -> dict[str, Any]:
        """pyradiomics parameters for 2D or 3D images."""
        return self.params_2d if dim == 2 else self.params_3d

    def extraction_dict(self) -> dict[str, Any]:
        """The part of the settings that determines each image's raw feature vector."""
        # The engine enters the cache key. pyradiomics, the default before fast was, leaves it out: its
        # cache entries and statistics files written before the option existed keep their keys.
        engine = {} if self.engine == "pyradiomics" else {"engine": self.engine}
        return engine | {
            "params_2d": self.params_2d,
            "params_3d": self.params_3d,
            "keep_diagnostics": self.keep_diagnostics,
            "corner_mask": self.corner_mask,
            "expand_2d": self.expand_2d,
            "resize": list(self.resize) if self.resize else None,
            "pyradiomics": pyradiomics_version(),
            "feature_format": FEATURE_FORMAT,
        }

    @cached_property
    def extraction_hash(self) -> str:
        return _hash(self.extraction_dict())

    @cached_property
    def stats_hash(self) -> str:
        """Identifies what a statistics file holds: extraction plus the float32 cast."""
        return _hash({"extraction": self.extraction_hash, "float32": self.float32_features})

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["resize"] = list(self.resize) if self.resize else None
        d["norm_range"] = list(self.norm_range)
        d["pyradiomics"] = pyradiomics_version()
        return d

    @property
    def hash(self) -> str:
        """Hash of every setting, extraction and statistics alike."""
        return _hash(self.to_dict())


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def load_params_file(path: str | Path) -> dict[str, Any]:
    """Read a pyradiomics parameter file (YAML or JSON) into a dict."""
    p = Path(path)
    if not p.is_file():
        raise InputNotFoundError(f"parameter file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{p} is not a text file (YAML or JSON expected): undecodable byte at {exc.start}") from exc
    import yaml

    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        reason = " ".join(str(exc).split())
        raise SettingsError(f"cannot parse parameter file {p}: {reason[:200]}") from exc
    if not isinstance(data, dict) or not set(data) & {"imageType", "featureClass", "setting"}:
        raise SettingsError(f"{p} is not a pyradiomics parameter file: expected keys imageType/featureClass/setting")
    data.setdefault("imageType", {"Original": {}})
    data.setdefault("featureClass", {})
    data.setdefault("setting", {})
    return data


def _parse_resize(resize: int | tuple[int, int] | list[int] | str | None) -> tuple[int, int] | None:
    if resize is None:
        return None
    if isinstance(resize, str):
        parts = resize.lower().replace("x", " ").split()
        try:
            vals = [int(v) for v in parts]
        except ValueError as exc:
            raise SettingsError(f"resize must be N or WxH, got {resize!r}") from exc
    elif isinstance(resize, int):
        vals = [resize]
    else:
        vals = [int(v) for v in resize]
    if len(vals) == 1:
        vals = vals * 2
    if len(vals) != 2 or min(vals) < 2:
        raise SettingsError(f"resize must be N or WxH with sizes >= 2, got {resize!r}")
    return (vals[0], vals[1])


def _override_params(
    params: dict[str, Any],
    feature_classes: list[str] | None,
    image_types: list[str] | None,
    log_sigma: list[float] | None,
    bin_width: float | None,
) -> dict[str, Any]:
    p = copy.deepcopy(params)
    if feature_classes is not None:
        old = p["featureClass"]
        # Like the reference: a class the preset restricts keeps its restriction.
        p["featureClass"] = {c: old.get(c) for c in feature_classes}
    if image_types is not None:
        p["imageType"] = {t: ({"sigma": list(log_sigma or V1_LOG_SIGMA)} if t == "LoG" else {}) for t in image_types}
    elif log_sigma is not None and "LoG" in p["imageType"]:
        p["imageType"]["LoG"] = {"sigma": list(log_sigma)}
    if bin_width is not None:
        p["setting"]["binWidth"] = bin_width
    return p


_KNOWN_CLASSES = {"firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm", "shape", "shape2D"}
_KNOWN_TYPES = {
    "Original",
    "Wavelet",
    "LoG",
    "Square",
    "SquareRoot",
    "Logarithm",
    "Exponential",
    "Gradient",
    "LBP2D",
    "LBP3D",
}


def resolve_settings(
    preset: str = "v1",
    *,
    params_file: str | Path | None = None,
    feature_classes: list[str] | None = None,
    image_types: list[str] | None = None,
    log_sigma: list[float] | None = None,
    bin_width: float | None = None,
    resize: int | tuple[int, int] | str | None = None,
    norm_ref: str | None = None,
    norm_type: str | None = None,
    log: bool | None = None,
    sqrtm: str | None = None,
    means_only: bool = False,
    engine: str | None = None,
    robust: bool = False,
) -> Settings:
    """Start from ``preset`` and apply the overrides given (``None`` keeps the preset's value).

    >>> s = resolve_settings("v0", norm_ref="independent")
    >>> (s.norm_type, s.norm_ref, s.log)
    ('minmax', 'independent', False)
    """
    if preset not in PRESETS:
        raise SettingsError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    base = PRESETS[preset]
    for name, values, known in (
        ("feature class", feature_classes, _KNOWN_CLASSES),
        ("image type", image_types, _KNOWN_TYPES),
    ):
        bad = sorted(set(values or ()) - known)
        if bad:
            raise SettingsError(f"unknown {name} {', '.join(bad)}; known: {', '.join(sorted(known))}")
    if norm_ref is not None and norm_ref not in NORM_REFS:
        raise SettingsError(f"norm_ref must be one of {', '.join(NORM_REFS)}, got {norm_ref!r}")
    if norm_type is not None and norm_type not in NORM_TYPES:
        raise SettingsError(f"norm_type must be one of {', '.join(NORM_TYPES)}, got {norm_type!r}")
    if sqrtm is not None and sqrtm not in SQRTM_METHODS:
        raise SettingsError(f"sqrtm must be one of {', '.join(SQRTM_METHODS)}, got {sqrtm!r}")
    if engine is not None and engine not in ENGINES:
        raise SettingsError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if bin_width is not None and not (
        isinstance(bin_width, numbers.Real)
        and not isinstance(bin_width, bool)
        and math.isfinite(bin_width)
        and bin_width > 0
    ):
        raise SettingsError(f"bin_width must be a finite number > 0, got {bin_width!r}")

    if params_file is not None:
        custom = load_params_file(params_file)
        p2 = p3 = custom
    else:
        p2, p3 = base.params_2d, base.params_3d
    p2 = _override_params(p2, feature_classes, image_types, log_sigma, bin_width)
    p3 = _override_params(p3, feature_classes, image_types, log_sigma, bin_width)

    s = Settings(
        preset=base.name,
        params_2d=p2,
        params_3d=p3,
        keep_diagnostics=base.keep_diagnostics,
        corner_mask=base.corner_mask,
        expand_2d=base.expand_2d,
        resize=_parse_resize(resize) if resize is not None else base.resize,
        float32_features=base.float32_features,
        drop_nan_rows=base.drop_nan_rows,
        norm_type=norm_type or base.norm_type,
        norm_ref=norm_ref or base.norm_ref,
        norm_range=base.norm_range,
        drop_nonfinite_columns=base.drop_nonfinite_columns,
        log=base.log if log is None else bool(log),
        sqrtm=sqrtm or base.sqrtm,
        means_only=bool(means_only),
        engine=choose_engine(engine, (p2, p3)),
        robust=bool(robust),
    )
    if norm_type is not None and norm_type != base.norm_type:
        # The preset's range belongs to its own normalization: z-scores keep their unit scale.
        s = replace(s, norm_range=(0.0, 1.0) if norm_type == "zscore" else PRESETS["v0"].norm_range)
    return s
