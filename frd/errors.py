"""Typed exceptions. Every user-facing failure of the API is an :class:`FRDError`.

The CLI turns each into one line on stderr and exit code 2.
"""

from __future__ import annotations


class FRDError(Exception):
    """Base class of every error ``frd`` raises on bad input or settings."""


class InputNotFoundError(FRDError, FileNotFoundError):
    """A path given as input does not exist."""


class NoImagesError(FRDError):
    """A folder or file list holds no supported image."""


class InvalidImageError(FRDError):
    """A file could not be read as an image (corrupt, truncated or of an unsupported kind)."""


class TooFewImagesError(FRDError):
    """Fewer than two usable images in a set: no covariance can be estimated."""


class DimensionMismatchError(FRDError):
    """A set mixes 2D and 3D images, or the two sets differ in dimensionality."""


class MaskMismatchError(FRDError):
    """Masks do not pair one-to-one with images, or a mask does not fit its image."""


class StatsMismatchError(FRDError):
    """A statistics file was computed with other extraction settings, or is not a statistics file."""


class OutputExistsError(FRDError, FileExistsError):
    """An output file exists already; ``frd`` never overwrites a user's file."""


class SettingsError(FRDError, ValueError):
    """An unknown preset, option or parameter-file content."""


class ExtractionError(FRDError):
    """pyradiomics failed on an image (for example a mask that does not fit it)."""
