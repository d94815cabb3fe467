"""Typed errors of the weights registry; the CLI turns them into a one-line message and exit code 2."""

from __future__ import annotations

from ccnet_zoo.errors import CCNetZooError


class WeightsError(CCNetZooError, RuntimeError):
    """A registry, download or verification problem (the message says what and where)."""


class UnknownWeightsError(WeightsError, KeyError):
    """No registry entry has this name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class WeightsNotAvailableError(WeightsError):
    """The file is not in the cache (nor installed locally); ``hint`` is the command that fetches it."""

    def __init__(self, name: str, reason: str = "not in the cache", hint: str | None = None) -> None:
        self.name = name
        self.hint = hint or f"ccnet-zoo weights fetch {name}"
        super().__init__(f"weights {name!r} not available ({reason}); run `{self.hint}`")


class HashMismatchError(WeightsError):
    """A file's sha256 is not the registered one (the file was removed)."""


class UnverifiedWeightsError(WeightsError):
    """The entry has no verified sha256 and none was given with ``--sha256``."""


class DownloadError(WeightsError):
    """The download failed or was interrupted (any partial file was removed)."""


class OfflineError(WeightsError):
    """A download was needed in offline mode."""
