"""The preset registry: each preset reproduces one published FRD definition (see docs/presets.md).

* ``v1``    frd-score 1.0.1 ``frd_version="v1"`` (the FRD paper, Konz, Osuala et al. 2026).
* ``v0``    frd-score 1.0.1 ``frd_version="v0"`` (frd-score 0.0.2 lineage).
* ``ccnet`` the variant used in the CC-Net paper (MICCAI 2024): v0 extraction without shape
  classes, images resized to 224, each set min-max normalized on its own.

A new preset is one :class:`Preset` entry in :data:`PRESETS`; :func:`frd.resolve_settings`
turns it plus the user's overrides into :class:`frd.Settings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Upper end of the v0 min-max range: "an observed range for features of the Inception
#: classifier in FID" (frd-score 0.0.2 README). Kept bit-exact.
V0_NORM_RANGE: tuple[float, float] = (0.0, 7.45670747756958)
V1_NORM_RANGE: tuple[float, float] = (0.0, 1.0)

V1_GLCM_FEATURES: tuple[str, ...] = (
    "Autocorrelation",
    "JointAverage",
    "ClusterProminence",
    "ClusterShade",
    "ClusterTendency",
    "Contrast",
    "Correlation",
    "DifferenceAverage",
    "DifferenceEntropy",
    "DifferenceVariance",
    "JointEnergy",
    "JointEntropy",
    "Imc1",
    "Imc2",
    "Idm",
    "Idmn",
    "Id",
    "Idn",
    "InverseVariance",
    "MaximumProbability",
    "SumEntropy",
    "SumSquares",
)
V1_LOG_SIGMA: tuple[float, ...] = (2.0, 3.0, 4.0, 5.0)

V0_FEATURE_CLASSES: tuple[str, ...] = (
    "firstorder",
    "glcm",
    "glrlm",
    "gldm",
    "glszm",
    "ngtdm",
    "shape",
    "shape2D",
)
CCNET_FEATURE_CLASSES: tuple[str, ...] = ("firstorder", "glcm", "glrlm", "gldm", "glszm", "ngtdm")


def _v1_params(dim: int) -> dict[str, Any]:
    """pyradiomics parameters of frd-score 1.0.1's ``configs/extraction_{2d,3d}.yaml``."""
    setting: dict[str, Any] = {
        "normalize": True,
        "normalizeScale": 100,
        "interpolator": "sitkBSpline",
        "resampledPixelSpacing": [2, 2, 0] if dim == 2 else [2, 2, 2],
        "padDistance": 10,
        "preCrop": True,
        "binWidth": 5,
        "voxelArrayShift": 300,
        "label": 1,
    }
    if dim == 2:
        setting.update(force2D=True, force2Ddimension=0)
    else:
        setting.update(correctMask=True, minimumROIDimensions=1)
    return {
        "imageType": {"Original": {}, "LoG": {"sigma": list(V1_LOG_SIGMA)}, "Wavelet": {}},
        "featureClass": {
            "firstorder": None,
            "glcm": list(V1_GLCM_FEATURES),
            "glrlm": None,
            "glszm": None,
            "ngtdm": None,
        },
        "setting": setting,
    }


def _v0_params(classes: tuple[str, ...]) -> dict[str, Any]:
    return {
        "imageType": {"Original": {}},
        "featureClass": {c: None for c in classes},
        "setting": {"correctMask": True, "minimumROIDimensions": 1},
    }


@dataclass(frozen=True)
class Preset:
    """Everything that defines one FRD variant, from pixels to the final number."""

    name: str
    description: str
    params_2d: dict[str, Any]
    params_3d: dict[str, Any]
    #: v1 keeps pyradiomics' numeric diagnostics (raw intensity stats, mask sizes) as features.
    keep_diagnostics: bool
    #: v1 zeroes one corner voxel of the default all-ones mask (pyradiomics #765 work-around).
    corner_mask: bool
    #: v1 hands 2D images to pyradiomics as (1, H, W) volumes with z-spacing 1.
    expand_2d: bool
    resize: tuple[int, int] | None
    #: v1 casts raw features to float32 before any statistics, as its reference does.
    float32_features: bool
    drop_nan_rows: bool
    norm_type: str
    norm_ref: str
    norm_range: tuple[float, float]
    #: z-score without a std == 0 guard, NaN/Inf columns dropped afterwards (v1).
    drop_nonfinite_columns: bool
    log: bool
    sqrtm: str = "scipy"
    extra: dict[str, Any] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    "v1": Preset(
        name="v1",
        description="frd-score 1.0.1 v1: Original+LoG+Wavelet, z-score on the first set, ln(d²)",
        params_2d=_v1_params(2),
        params_3d=_v1_params(3),
        keep_diagnostics=True,
        corner_mask=True,
        expand_2d=True,
        resize=None,
        float32_features=True,
        drop_nan_rows=True,
        norm_type="zscore",
        norm_ref="d1",
        norm_range=V1_NORM_RANGE,
        drop_nonfinite_columns=True,
        log=True,
    ),
    "v0": Preset(
        name="v0",
        description="frd-score 1.0.1 v0: Original image, 8 classes, joint min-max, raw d²",
        params_2d=_v0_params(V0_FEATURE_CLASSES),
        params_3d=_v0_params(V0_FEATURE_CLASSES),
        keep_diagnostics=False,
        corner_mask=False,
        expand_2d=False,
        resize=None,
        float32_features=False,
        drop_nan_rows=False,
        norm_type="minmax",
        norm_ref="joint",
        norm_range=V0_NORM_RANGE,
        drop_nonfinite_columns=False,
        log=False,
    ),
    "ccnet": Preset(
        name="ccnet",
        description="CC-Net paper (MICCAI 2024): 93 features, resize 224, per-set min-max, raw d²",
        params_2d=_v0_params(CCNET_FEATURE_CLASSES),
        params_3d=_v0_params(CCNET_FEATURE_CLASSES),
        keep_diagnostics=False,
        corner_mask=False,
        expand_2d=False,
        resize=(224, 224),
        float32_features=False,
        drop_nan_rows=False,
        norm_type="minmax",
        norm_ref="independent",
        norm_range=V0_NORM_RANGE,
        drop_nonfinite_columns=False,
        log=False,
    ),
}
DEFAULT_PRESET = "v1"
