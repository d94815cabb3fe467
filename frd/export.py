"""Writing per-image features to a file the user names (CSV, or Parquet with pandas + pyarrow)."""

from __future__ import annotations

import csv
from pathlib import Path

from ._extras import install_command
from ._files import create_new, refuse_existing
from .errors import FRDError, SettingsError
from .stats import FeatureStats


def save_features(path: str | Path, sets: list[tuple[str, FeatureStats]]) -> Path:
    """One row per image: ``set``, ``path``, then the raw features. Never overwrites ``path``."""
    path = Path(path)
    refuse_existing(path)
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

    def write(tmp: str) -> None:
        if ext == ".csv":
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(["set", "path", *names])
                w.writerows(rows)
            return
        try:
            import pandas as pd

            pd.DataFrame(rows, columns=["set", "path", *names]).to_parquet(tmp, index=False)
        except ImportError as exc:
            raise FRDError(f"Parquet needs pandas and pyarrow: {install_command('parquet')}, or use .csv") from exc

    create_new(path, write)
    return path
