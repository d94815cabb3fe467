"""frd._files: the one atomic-write helper of both packages (replace_owned) beside create_new."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from frd._files import replace_owned, replace_owned_text


def test_replace_owned_writes_replaces_and_honours_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "manifest.json"
    old = os.umask(0o027)
    try:
        replace_owned_text(path, "one")
        assert path.read_text() == "one"
        assert stat.S_IMODE(path.stat().st_mode) == 0o640  # 0o666 minus the umask, not mkstemp's 0o600
        replace_owned_text(path, "two")
    finally:
        os.umask(old)
    assert path.read_text() == "two" and os.listdir(path.parent) == ["manifest.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    replace_owned_text(path, "old")

    def broken(tmp: str) -> None:
        Path(tmp).write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        replace_owned(path, broken)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["table.csv"]


def test_the_temporary_file_keeps_the_suffix(tmp_path: Path) -> None:
    """Writers that pick the format from the name (PIL, matplotlib) see the real suffix."""
    seen = []
    replace_owned(tmp_path / "x.png", lambda tmp: (seen.append(Path(tmp)), Path(tmp).write_bytes(b"p")))
    assert seen[0].suffix == ".png" and seen[0].parent == tmp_path and seen[0].name.startswith(".")
