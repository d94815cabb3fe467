"""Per-image feature cache.

An entry is keyed by the image's content hash, its mask's content hash and the extraction
settings hash (which includes the pyradiomics version). Entries are written atomically
(temporary file + rename) and carry a checksum: a corrupt entry is recomputed, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._files import replace_owned
from .defaults import CACHE_ENV

log = logging.getLogger(__name__)
_MAGIC = b"FRDC1"


def default_cache_dir() -> Path:
    """``$FRD_CACHE_DIR`` if set, else the platform's user cache folder for ``frd``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("frd", appauthor=False)) / "features"


@dataclass
class CachedFeatures:
    names: list[str]
    values: np.ndarray
    dim: int


class FeatureCache:
    """A folder of cached feature vectors; ``enabled=False`` makes every call a no-op."""

    def __init__(self, root: str | Path | None = None, enabled: bool = True) -> None:
        self.enabled = enabled
        self.root = Path(root) if root is not None else default_cache_dir()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(image_hash: str, mask_hash: str | None, extraction_hash: str) -> str:
        return hashlib.sha256(f"{image_hash}|{mask_hash or '-'}|{extraction_hash}".encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.frdc"

    def get(self, key: str) -> CachedFeatures | None:
        if not self.enabled:
            return None
        path = self._path(key)
        try:
            blob = path.read_bytes()
        except OSError:
            self.misses += 1
            return None
        try:
            entry = _decode(blob)
        except (ValueError, KeyError, json.JSONDecodeError) as exc:
            log.warning("cache entry %s is corrupt (%s); recomputing", path, exc)
            self.misses += 1
            return None
        self.hits += 1
        return entry

    def put(self, key: str, entry: CachedFeatures) -> None:
        if not self.enabled:
            return
        path = self._path(key)
        try:
            data = _encode(entry)
            replace_owned(path, lambda tmp: Path(tmp).write_bytes(data))
        except OSError as exc:  # a read-only or full cache must not fail the run
            log.warning("cannot write feature cache %s: %s", path, exc)


def _encode(entry: CachedFeatures) -> bytes:
    header = json.dumps({"names": entry.names, "dim": entry.dim}).encode()
    payload = len(header).to_bytes(8, "little") + header + np.asarray(entry.values, "<f8").tobytes()
    return _MAGIC + hashlib.sha256(payload).digest() + payload


def _decode(blob: bytes) -> CachedFeatures:
    if not blob.startswith(_MAGIC):
        raise ValueError("bad magic")
    digest, payload = blob[5:37], blob[37:]
    if hashlib.sha256(payload).digest() != digest:
        raise ValueError("checksum mismatch")
    hlen = int.from_bytes(payload[:8], "little")
    header = json.loads(payload[8 : 8 + hlen])
    values = np.frombuffer(payload[8 + hlen :], dtype="<f8").astype(np.float64)
    if values.size != len(header["names"]):
        raise ValueError("length mismatch")
    return CachedFeatures(names=list(header["names"]), values=values, dim=int(header["dim"]))
