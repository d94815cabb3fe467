"""Duke's spreadsheets: ``Annotation_Boxes`` and ``Clinical_and_Other_Features`` (CSV, or XLSX with openpyxl).

Columns are found by name (all header rows above the first patient row are searched, since the clinical
table has three header rows); coded values are decoded with the codes CC-Net's
``ldm_metadata_processing.py`` used, and already decoded text is accepted as is.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

from ccnet_zoo.data.errors import SpreadsheetError

PID_RE = re.compile(r"^Breast_MRI_\d+$")

SUBTYPE = {"0": "luminal-like", "1": "ER/PR positive, HER2 positive", "2": "her2 positive", "3": "triple negative"}
HISTOLOGY = {
    "0": "DCIS",
    "1": "ductal",
    "2": "lobular",
    "3": "metaplastic",
    "4": "LCIS",
    "5": "tubular",
    "6": "mixed",
    "7": "micropapillary",
    "8": "colloid",
    "9": "mucinous",
    "10": "medullary",
}
ETHNICITY = {
    "0": "",
    "1": "white",
    "2": "black",
    "3": "asian",
    "4": "native american",
    "5": "hispanic",
    "6": "multi",
    "7": "hawa",
    "8": "indian american",
}
METASTATIC = {"0": "non-metastatic", "1": "metastatic"}
LOCATION = {"L": "left", "R": "right", "left": "left", "right": "right"}
BILATERAL = {"0": "unilateral", "1": "bilateral"}
# clinical column -> keywords that must all occur in the (lower-cased, joined) header text
CLINICAL_KEYS = {
    "metastatic": ("metastatic",),
    "tumor_subtype": ("mol", "subtype"),
    "tumor_histologic_type": ("histologic", "type"),
    "tumor_location": ("tumor location",),
    "tumor_bilateral": ("bilateral",),
    "date_of_birth": ("date of birth",),
    "ethnicity": ("race",),
}
BOX_KEYS = ("start row", "end row", "start column", "end column", "start slice", "end slice")


def read_rows(path: Path) -> list[list[str]]:
    """All cells of the first sheet (XLSX) or of a CSV (',' or ';'), as stripped strings."""
    path = Path(path)
    if not path.is_file():
        raise SpreadsheetError(f"{path} does not exist")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            import openpyxl
        except ImportError as err:
            raise SpreadsheetError(
                f"{path.name}: reading .xlsx needs openpyxl (pip install openpyxl), or save the sheet as CSV"
            ) from err
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
            rows = [[_cell(v) for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]
            book.close()
            return rows
        except Exception as err:  # openpyxl raises many types for broken files
            raise SpreadsheetError(f"{path} is not a readable .xlsx file: {err}") from err
    if path.suffix.lower() != ".csv":
        raise SpreadsheetError(f"{path}: expected a .csv or .xlsx file")
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    delimiter = ";" if text.count(";") > text.count(",") else ","
    return [[c.strip() for c in row] for row in csv.reader(text.splitlines(), delimiter=delimiter)]


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _table(path: Path) -> tuple[list[str], list[list[str]]]:
    """Joined lower-case header text per column and the patient rows (first column = patient id)."""
    rows = read_rows(path)
    first = next((i for i, r in enumerate(rows) if r and PID_RE.match(r[0])), None)
    if first is None or first == 0:
        raise SpreadsheetError(f"{path}: no header row followed by rows starting with Breast_MRI_<n>")
    width = max(len(r) for r in rows)
    headers = [
        " ".join(r[j] for r in rows[:first] if j < len(r) and r[j]).lower().replace("\n", " ") for j in range(width)
    ]
    data = [r + [""] * (width - len(r)) for r in rows[first:] if r and PID_RE.match(r[0])]
    return headers, data


def _find(headers: list[str], keys: tuple[str, ...]) -> int | None:
    for j, h in enumerate(headers):
        if all(k in h for k in keys):
            return j
    return None


@dataclass(frozen=True)
class Box:
    """Tumour bounding box (CC-Net's convention: 0-based inclusive, slices in the DICOM instance order)."""

    start_row: int
    end_row: int
    start_column: int
    end_column: int
    start_slice: int
    end_slice: int


def read_boxes(path: Path) -> dict[str, Box]:
    """Read ``Annotation_Boxes`` into ``{patient_id: Box}``."""
    headers, data = _table(path)
    cols = [_find(headers, (k,)) for k in BOX_KEYS]
    missing = [k for k, c in zip(BOX_KEYS, cols, strict=True) if c is None]
    if missing:
        raise SpreadsheetError(f"{path}: missing column(s) {', '.join(missing)}")
    out = {}
    for r in data:
        try:
            vals = [int(float(r[c])) for c in cols]  # type: ignore[index]
        except ValueError as err:
            raise SpreadsheetError(f"{path}: non-numeric box for {r[0]}: {err}") from err
        out[r[0]] = Box(*vals)
    return out


def _decode(value: str, table: dict[str, str]) -> str:
    v = value.strip()
    if v in table:
        return table[v]
    if re.fullmatch(r"-?\d+(\.0+)?", v):
        return table.get(str(int(float(v))), "")
    return "" if v.upper() in ("NA", "NC", "N/A", "NAN") else v


def read_clinical(path: Path) -> dict[str, dict[str, str]]:
    """Read the clinical features into ``{patient_id: {metastatic, tumor_subtype, ..., age, ethnicity}}``."""
    headers, data = _table(path)
    cols = {k: _find(headers, keys) for k, keys in CLINICAL_KEYS.items()}
    missing = [k for k, c in cols.items() if c is None]
    if missing:
        raise SpreadsheetError(f"{path}: missing clinical column(s) for {', '.join(missing)}")
    out = {}
    for r in data:
        cell = {k: r[c] for k, c in cols.items() if c is not None}
        age = ""
        dob = cell["date_of_birth"]
        if re.fullmatch(r"-?\d+(\.\d+)?", dob):
            age = str(math.floor(-float(dob) / 365.2422))
        out[r[0]] = {
            "metastatic": _decode(cell["metastatic"], METASTATIC),
            "tumor_subtype": _decode(cell["tumor_subtype"], SUBTYPE),
            "tumor_histologic_type": _decode(cell["tumor_histologic_type"], HISTOLOGY),
            "tumor_location": LOCATION.get(cell["tumor_location"].strip(), ""),
            "tumor_bilateral": _decode(cell["tumor_bilateral"], BILATERAL),
            "age": age,
            "ethnicity": _decode(cell["ethnicity"], ETHNICITY),
        }
    return out
