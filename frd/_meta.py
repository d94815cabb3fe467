"""Versions of the software that determines a result, for reports and statistics files."""

from __future__ import annotations

import platform
from importlib import metadata

from ._version import __version__
from .settings import pyradiomics_version


def versions() -> dict[str, str]:
    """frd, pyradiomics, numpy, scipy, SimpleITK and Python versions."""
    out = {"frd": __version__, "pyradiomics": pyradiomics_version(), "python": platform.python_version()}
    for dist in ("numpy", "scipy", "SimpleITK"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not-installed"
    return out
