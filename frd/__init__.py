"""Fréchet Radiomics Distance (FRD) between two sets of medical images.

>>> import frd
>>> result = frd.compute_frd("real/", "synthetic/", preset="v1")  # doctest: +SKIP
>>> print(result.frd, result.d2, result.n)  # doctest: +SKIP

``import frd`` is light: it never imports torch, and pyradiomics only when features are extracted.
"""

from ._meta import versions
from ._version import __version__
from .api import FRDResult, compute_frd, compute_stats, extract_features, frd_from_stats
from .distance import frechet_distance, frechet_terms
from .errors import (
    DimensionMismatchError,
    ExtractionError,
    FRDError,
    InputNotFoundError,
    InvalidImageError,
    MaskMismatchError,
    NoImagesError,
    OutputExistsError,
    SettingsError,
    StatsMismatchError,
    TooFewImagesError,
)
from .extract import FeatureTable
from .presets import PRESETS
from .settings import Settings, resolve_settings
from .stats import FeatureStats
from .streaming import FRD

__all__ = [
    "FRD",
    "PRESETS",
    "DimensionMismatchError",
    "ExtractionError",
    "FRDError",
    "FRDResult",
    "FeatureStats",
    "FeatureTable",
    "InputNotFoundError",
    "InvalidImageError",
    "MaskMismatchError",
    "NoImagesError",
    "OutputExistsError",
    "Settings",
    "SettingsError",
    "StatsMismatchError",
    "TooFewImagesError",
    "__version__",
    "compute_frd",
    "compute_stats",
    "extract_features",
    "frd_from_stats",
    "frechet_distance",
    "frechet_terms",
    "resolve_settings",
    "versions",
]
