"""The weights registry: named, sha256-verified files in a local cache (``ccnet-zoo weights ...``).

Nothing here imports torch. Offline use: ``CCNET_ZOO_OFFLINE=1`` (or ``offline=True``) never touches the network.
"""

from ccnet_zoo.weights.cache import CACHE_ENV, OFFLINE_ENV, cache_dir, is_offline, sha256_file
from ccnet_zoo.weights.errors import (
    DownloadError,
    HashMismatchError,
    OfflineError,
    UnknownWeightsError,
    UnverifiedWeightsError,
    WeightsError,
    WeightsNotAvailableError,
)
from ccnet_zoo.weights.registry import Registry, VerifyResult, WeightsEntry


def weights_path(name: str, registry: Registry | None = None) -> str:
    """The verified local file of ``name`` (never downloads; raises :class:`WeightsNotAvailableError`)."""
    return str((registry or Registry.load()).path(name))


__all__ = [
    "CACHE_ENV",
    "OFFLINE_ENV",
    "DownloadError",
    "HashMismatchError",
    "OfflineError",
    "Registry",
    "UnknownWeightsError",
    "UnverifiedWeightsError",
    "VerifyResult",
    "WeightsEntry",
    "WeightsError",
    "WeightsNotAvailableError",
    "cache_dir",
    "is_offline",
    "sha256_file",
    "weights_path",
]
