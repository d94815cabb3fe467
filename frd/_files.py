"""Creating output files safely: never over an existing file, never half-written."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from .errors import OutputExistsError


def refuse_existing(path: str | Path) -> None:
    if Path(path).exists():
        raise OutputExistsError(f"{path} exists; frd never overwrites a file, choose another name")


def _umask() -> int:
    """The process umask, read without changing it where the OS tells it (Linux), else set and restored."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


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
        # mkstemp makes 0600 files; an output file gets the mode open() would give it under the umask.
        os.chmod(tmp, 0o666 & ~_umask())
        write(tmp)
        try:
            os.link(tmp, path)
        except FileExistsError as exc:
            raise OutputExistsError(f"{path} exists; frd never overwrites a file") from exc
    finally:
        os.unlink(tmp)
    return path
