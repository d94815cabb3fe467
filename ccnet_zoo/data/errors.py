"""Typed errors of the data layer; the CLI turns them into a one-line message and exit code 2."""

from __future__ import annotations

from ccnet_zoo.errors import CCNetZooError


class DataError(CCNetZooError, ValueError):
    """Bad input data or arguments (the message says what and where)."""


class OutputExistsError(DataError):
    """The output exists and would be overwritten."""


class DukeLayoutError(DataError):
    """The DICOM tree does not look like Duke-Breast-Cancer-MRI."""


class SpreadsheetError(DataError):
    """A clinical-features or annotation-box spreadsheet cannot be read or lacks columns."""
