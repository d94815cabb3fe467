"""Creating output files safely: never over an existing file, never half-written."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from .errors import OutputExistsError


def refuse_existing(path: str | Path) -> None:
    if Path(path).exists():
        raise OutputExistsError(f"{path} exists; frd never overwrites a file, choose another name")


def create_new(path: str | Path, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then link it to ``path``.

    The link fails if ``path`` exists, even if it appeared meanwhile, so a user's file is never
    replaced; a failed write leaves nothing behind.
    """
    path = Path(path)
    refuse_existing(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        try:
            os.link(tmp, path)
        except FileExistsError as exc:
            raise OutputExistsError(f"{path} exists; frd never overwrites a file") from exc
    finally:
        os.unlink(tmp)
    return path


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (/proc), else swapped under a lock."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:  # reading the umask elsewhere means setting it; restore at once
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def replace_owned(path: str | Path, write: Callable[[str], None]) -> Path:
    """Atomically (re)write ``path``, a file the program owns (a manifest, a report, a checkpoint).

    ``write(tmp)`` fills a temporary file beside ``path``, which then replaces ``path`` in one rename: a reader
    sees the old or the new content, never half of it, and a failed write leaves nothing behind. The file gets
    the permissions a plain ``open(path, "w")`` would (0o666 minus the umask), not ``mkstemp``'s 0o600.
    Never use it on a user's file: it replaces whatever is at ``path`` (see :func:`create_new` for that).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def replace_owned_text(path: str | Path, text: str) -> Path:
    """:func:`replace_owned` for a UTF-8 text file."""
    return replace_owned(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
