"""Writing per-image features to a file the user names (CSV, or Parquet with pandas + pyarrow)."""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

from .errors import FRDError, OutputExistsError, SettingsError
from .stats import FeatureStats


def save_features(path: str | Path, sets: list[tuple[str, FeatureStats]]) -> Path:
    """One row per image: ``set``, ``path``, then the raw features. Never overwrites ``path``."""
    path = Path(path)
    if path.exists():
        raise OutputExistsError(f"{path} exists; frd never overwrites a file, choose another name")
    ext = path.suffix.lower()
    if ext not in (".csv", ".parquet"):
        raise SettingsError(f"--save-features writes .csv or .parquet, got {path.name}")
    for label, s in sets:
        if s.rows is None:
            raise FRDError(f"set {label} has no per-image features (a statistics file); pass images")
    names = sets[0][1].names
    rows = [
        [label, p, *map(float, r)]
        for label, s in sets
        for p, r in zip(s.row_paths or [""] * len(s.rows), s.rows, strict=True)  # type: ignore[arg-type]
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=ext)
    os.close(fd)
    try:
        if ext == ".csv":
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(["set", "path", *names])
                w.writerows(rows)
        else:
            try:
                import pandas as pd
            except ImportError as exc:
                raise FRDError("Parquet needs pandas and pyarrow: pip install pandas pyarrow, or use .csv") from exc
            try:
                pd.DataFrame(rows, columns=["set", "path", *names]).to_parquet(tmp, index=False)
            except ImportError as exc:
                raise FRDError("Parquet needs pyarrow: pip install pyarrow, or use .csv") from exc
        try:
            os.link(tmp, path)
        except FileExistsError as exc:
            raise OutputExistsError(f"{path} exists; frd never overwrites a file") from exc
    finally:
        os.unlink(tmp)
    return path
