"""Typed errors of the models, training and sampling layers (the CLI prints them on one line, exit code 2)."""

from __future__ import annotations

from ccnet_zoo.errors import CCNetZooError


class ModelError(CCNetZooError, ValueError):
    """Bad model input or arguments (the message says what to do)."""


class ConfigError(ModelError):
    """A config file is missing, malformed or holds an invalid value."""


class CheckpointError(ModelError):
    """A checkpoint is missing, incomplete or does not match the model."""
