"""Typed errors of the metrics; the CLI turns them into a one-line message and exit code 2."""

from __future__ import annotations

from ccnet_zoo.errors import CCNetZooError


class MetricsError(CCNetZooError, ValueError):
    """Bad input to a metric (the message says what and where)."""


class PairingError(MetricsError):
    """Real and synthetic images cannot be paired by patient, slice and phase."""
