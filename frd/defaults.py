"""Defaults shared by the API and the CLI: option values, file extensions, cache and thread policy.

The preset registry lives in :mod:`frd.presets`; its names are re-exported here so that
``from frd.defaults import PRESETS`` keeps working.
"""

from __future__ import annotations

import os

from .presets import (  # noqa: F401  (re-exported: the old import paths keep working)
    CCNET_FEATURE_CLASSES,
    DEFAULT_PRESET,
    PRESETS,
    V0_FEATURE_CLASSES,
    V0_NORM_RANGE,
    V1_GLCM_FEATURES,
    V1_LOG_SIGMA,
    V1_NORM_RANGE,
    Preset,
)

NORM_REFS = ("d1", "joint", "independent")
NORM_TYPES = ("zscore", "minmax")
SQRTM_METHODS = ("scipy", "eigh")

#: Extensions read by ``frd`` (matched case-insensitively). DICOM series folders are handled apart.
IMAGE_EXTENSIONS: tuple[str, ...] = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".tif",
    ".tiff",
    ".nii",
    ".nii.gz",
    ".nrrd",
    ".nhdr",
    ".mha",
    ".mhd",
    ".dcm",
    ".dicom",
    ".npy",
)
STATS_EXTENSION = ".npz"

#: Cache location override; otherwise platformdirs' user cache dir.
CACHE_ENV = "FRD_CACHE_DIR"
#: BLAS threads for the statistics (matrices of at most ~1000²). One thread by default: on shared
#: cores several OpenBLAS threads contend and run several times slower than one.
BLAS_THREADS_ENV = "FRD_BLAS_THREADS"
MIN_IMAGES = 2


def blas_threads() -> int:
    """BLAS threads for the statistics: ``$FRD_BLAS_THREADS`` or 1."""
    try:
        return max(1, int(os.environ.get(BLAS_THREADS_ENV, "1")))
    except ValueError:
        return 1


def default_workers() -> int:
    """min(8, cores usable by this process), from the CPU affinity mask where the OS has one."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        usable = os.cpu_count() or 1
    return max(1, min(8, usable))
