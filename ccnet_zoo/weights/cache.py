"""Where weights live on disk, offline mode, and sha256 helpers (no torch, no network)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path

from frd._files import replace_owned, replace_owned_text

CACHE_ENV = "CCNET_ZOO_CACHE"
OFFLINE_ENV = "CCNET_ZOO_OFFLINE"
_TRUE = {"1", "true", "yes", "on"}


def cache_dir(override: str | Path | None = None) -> Path:
    """The cache root: ``override``, else ``$CCNET_ZOO_CACHE``, else the platform's user cache folder."""
    if override is not None:
        return Path(override).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("ccnet-zoo", appauthor=False))


def is_offline(flag: bool | None = None) -> bool:
    """True when ``flag`` is True, or when it is None and ``$CCNET_ZOO_OFFLINE`` is set to 1/true/yes/on."""
    if flag is not None:
        return bool(flag)
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in _TRUE


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def is_sha256(text: str | None) -> bool:
    """True for 64 hex digits."""
    return text is not None and len(text) == 64 and all(c in "0123456789abcdef" for c in text.lower())


def _stamp(path: Path) -> Path:
    return path.with_name(f".{path.name}.verified")


def verified_hash(path: Path) -> str:
    """sha256 of ``path``, reusing a stamp written beside it while size, mtime, ctime and inode are unchanged.

    ctime and inode catch what size and mtime miss: a file rewritten in place with its mtime set back, or
    replaced by another file (rename) with the same size and mtime.
    """
    st = path.stat()
    stamp = _stamp(path)
    key = {
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
        "inode": st.st_ino,
        "device": st.st_dev,
    }
    if stamp.is_file():
        try:
            saved = json.loads(stamp.read_text(encoding="utf-8"))
            if {k: saved.get(k) for k in key} == key and is_sha256(saved.get("sha256")):
                return str(saved["sha256"])
        except (OSError, ValueError):
            pass
    digest = sha256_file(path)
    with contextlib.suppress(OSError):  # a read-only folder: just do not remember
        stamp.write_text(json.dumps({**key, "sha256": digest}), encoding="utf-8")
    return digest


def remove_file(path: Path) -> None:
    """Remove a file and its stamp if present."""
    for p in (path, _stamp(path)):
        p.unlink(missing_ok=True)


def atomic_copy(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` through a temporary file in the destination folder, then rename."""
    replace_owned(dest, lambda tmp: shutil.copyfile(src, tmp))


def atomic_write_json(path: Path, data: object) -> None:
    """Write JSON through a temporary file + rename."""
    replace_owned_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
