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
