"""Datalists: one row per (pre-contrast slice, post phase k), as CC-Net's ``create_datalist.py``.

Columns (tab-separated ``<split>.tsv``): DATALIST_COLUMNS. ``acquisition_time`` is in seconds since the
pre-contrast scan (``acquisition_times[k]`` of ``LDM_metadata.csv``); ``report`` is ``text<which_text>`` or
the default report; paths are relative to the folder of the tsv file (``read_datalist`` resolves them).
"""

from __future__ import annotations

import csv
import functools
import logging
import os
from pathlib import Path

from ccnet_zoo.data import layout
from ccnet_zoo.data.errors import DataError, OutputExistsError
from ccnet_zoo.data.prompts import DEFAULT_REPORT
from frd._files import replace_owned

log = logging.getLogger(__name__)
DATALIST_COLUMNS = (
    "patient_id",
    "split",
    "slice",
    "phase",
    "acquisition_time",
    "source",
    "target",
    "segmentation_mask",
    "report",
    "report_raw",
)


def build_datalist(root: Path, which_text: int | None = 1) -> dict[str, list[dict[str, str]]]:
    """Rows per split for the dataset in ``root``; ``which_text=None`` uses the default report text.

    Paths in the rows are absolute. Pre-contrast slices of patients missing from the metadata, and post
    phases without an acquisition time, are skipped with a warning.
    """
    root = Path(root).resolve()
    if which_text not in (None, 1, 2, 3):
        raise DataError(f"which_text must be 1, 2, 3 or None (default report), got {which_text}")
    meta_rows = layout.read_table(root / layout.METADATA_FILE, ("patient_id", "acquisition_times"))
    meta = {r["patient_id"]: r for r in meta_rows}
    out: dict[str, list[dict[str, str]]] = {}
    found_any = False
    for split in layout.SPLITS:
        rows: list[dict[str, str]] = []
        folder_a = root / split / f"{split}_A"
        if not folder_a.is_dir():
            out[split] = rows
            continue
        for pre in sorted(folder_a.iterdir()):
            m = layout.IMAGE_RE.match(pre.name)
            if not m or m["phase"] != "0000":
                continue
            found_any = True
            pid, idx = m["pid"], int(m["slice"])
            if pid not in meta:
                log.warning("%s: patient %s is not in %s, skipped", pre.name, pid, layout.METADATA_FILE)
                continue
            times = layout.parse_times(meta[pid]["acquisition_times"])
            report = DEFAULT_REPORT if which_text is None else meta[pid].get(f"text{which_text}", "")
            mask = layout.mask_path(root, split, pid, idx)
            for k in range(1, 10):
                target = layout.image_path(root, split, pid, k, idx)
                if not target.is_file():
                    continue
                if k >= len(times):
                    log.warning("%s: no acquisition time for phase %d in %s, skipped", pid, k, times)
                    continue
                rows.append(
                    {
                        "patient_id": pid,
                        "split": split,
                        "slice": str(idx),
                        "phase": str(k),
                        "acquisition_time": str(times[k]),
                        "source": str(pre),
                        "target": str(target),
                        "segmentation_mask": str(mask) if mask.is_file() else "",
                        "report": report,
                        "report_raw": report,
                    }
                )
        out[split] = rows
    if not found_any:
        raise DataError(f"{root} holds no pre-contrast slices (<split>/<split>_A/<pid>_0000_slice<i>.png)")
    return out


def _write_tsv(tmp: str, rows: list[dict[str, object]]) -> None:
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=DATALIST_COLUMNS, delimiter="\t")
        w.writeheader()
        w.writerows(rows)


def write_datalists(
    root: Path, out_dir: Path | None = None, which_text: int | None = 1, overwrite: bool = False
) -> dict[str, Path]:
    """Write ``<out_dir>/{train,validation,test}.tsv`` (default ``<root>/datalists``); returns the paths."""
    out_dir = Path(out_dir) if out_dir is not None else Path(root) / "datalists"
    targets = {s: out_dir / f"{s}.tsv" for s in layout.SPLITS}
    existing = [str(p) for p in targets.values() if p.exists()]
    if existing and not overwrite:
        raise OutputExistsError(f"{', '.join(existing)} exist(s); pass --overwrite to replace")
    lists = build_datalist(root, which_text)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir.resolve()
    for split, path in targets.items():
        rows = []
        for row in lists[split]:
            rel = dict(row)
            for key in ("source", "target", "segmentation_mask"):
                if rel[key]:
                    rel[key] = os.path.relpath(rel[key], base)
            rows.append(rel)
        replace_owned(path, functools.partial(_write_tsv, rows=rows))
        log.info("%s: %d pairs", path, len(lists[split]))
    return targets


def read_datalist(path: Path) -> list[dict[str, object]]:
    """Read a tsv datalist; paths become absolute, ``acquisition_time`` a float, ``phase``/``slice`` ints."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist")
    base = path.resolve().parent
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        missing = [c for c in ("source", "target", "acquisition_time") if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path} lacks column(s) {', '.join(missing)}")
        rows: list[dict[str, object]] = []
        for r in reader:
            row: dict[str, object] = dict(r)
            for key in ("source", "target", "segmentation_mask"):
                v = r.get(key) or ""
                row[key] = str((base / v).resolve()) if v and not os.path.isabs(v) else v
            row["acquisition_time"] = float(r["acquisition_time"])
            for key in ("phase", "slice"):
                if r.get(key):
                    row[key] = int(r[key])
            rows.append(row)
    return rows
