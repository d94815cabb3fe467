"""Find and read the DCE series of Duke-Breast-Cancer-MRI patients in a TCIA-layout DICOM tree.

TCIA layout: ``<root>/Breast_MRI_001/<study>/<n>.000000-<description>-<uid>/<k>-<nnn>.dcm``. A series is DCE
when its description contains "dyn" or "vibrant" (CC-Net's ``select_phases_common.py``); subtraction
series are ignored. Series are ordered by SeriesNumber; the first must be the pre-contrast one. A single
multi-phase series (GE "Ax Vibrant MultiPhase") is split by TemporalPositionIdentifier.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ccnet_zoo.data.duke.tables import PID_RE
from ccnet_zoo.data.errors import DataError, DukeLayoutError

log = logging.getLogger(__name__)
DCE_RE = re.compile(r"dyn|vibrant", re.IGNORECASE)
SUB_RE = re.compile(r"\bsub", re.IGNORECASE)
PRE_RE = re.compile(r"\bpre\b", re.IGNORECASE)
ORDINAL_RE = re.compile(r"\b(\d)(?:st|nd|rd|th)\b|\bph(?:ase)?\s*(\d)\b", re.IGNORECASE)
FOLDER_RE = re.compile(r"^(?P<num>\d+(?:\.\d+)?)-(?P<desc>.*?)(?:-\d+)?$")


class PatientSkipped(DataError):
    """A patient cannot be converted (the reason is the message); the run goes on."""


@dataclass
class Series:
    """One DCE series (or one temporal position of a multi-phase series)."""

    description: str
    number: float
    files: list[Path]
    headers: list = field(default_factory=list)  # pydicom datasets without pixels, sorted

    @property
    def ordinal(self) -> int | None:
        """Post-contrast pass number parsed from the description ("1st pass" -> 1), if any."""
        m = ORDINAL_RE.search(self.description)
        return int(m.group(1) or m.group(2)) if m else None


def find_patients(root: Path) -> dict[str, Path]:
    """``{patient_id: folder}`` for every ``Breast_MRI_<n>`` folder up to three levels below ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise DukeLayoutError(f"{root} is not a folder")
    found: dict[str, Path] = {}
    base = len(root.parts)
    for dirpath, dirnames, _ in os.walk(root):
        depth = len(Path(dirpath).parts) - base
        for d in list(dirnames):
            if PID_RE.match(d):
                found.setdefault(d, Path(dirpath) / d)
        dirnames[:] = [d for d in dirnames if not PID_RE.match(d)] if depth < 3 else []
    if not found:
        raise DukeLayoutError(f"no Breast_MRI_<n> patient folders under {root} (is it the TCIA download?)")
    return dict(sorted(found.items()))


def _series_time(ds: object) -> float | None:
    for tag in ("AcquisitionTime", "SeriesTime", "ContentTime"):
        v = str(getattr(ds, tag, "") or "").strip()
        if len(v) >= 6 and v[:6].isdigit():
            return int(v[:2]) * 3600 + int(v[2:4]) * 60 + float(v[4:])
    return None


def _read_header(path: Path):
    import pydicom

    return pydicom.dcmread(path, stop_before_pixels=True)


def list_dce_series(patient_dir: Path) -> list[Series]:
    """DCE series of one patient, ordered (pre first); unreadable files are skipped with a warning."""
    candidates: list[Series] = []
    for dirpath, _, filenames in os.walk(patient_dir):
        files = sorted(Path(dirpath) / f for f in filenames if not f.startswith("."))
        if not files:
            continue
        name = Path(dirpath).name
        m = FOLDER_RE.match(name)
        desc = m["desc"] if m else name
        number = float(m["num"]) if m else float("inf")
        headers = []
        for f in files:
            try:
                headers.append((f, _read_header(f)))
            except Exception as err:  # pydicom raises InvalidDicomError, OSError, ...
                log.warning("%s: unreadable DICOM file %s skipped (%s)", patient_dir.name, f.name, err)
        if not headers:
            continue
        first = headers[0][1]
        desc = str(getattr(first, "SeriesDescription", "") or desc)
        if not DCE_RE.search(desc) or SUB_RE.search(desc):
            log.debug("%s: series %r is not DCE, ignored", patient_dir.name, desc)
            continue
        number = float(getattr(first, "SeriesNumber", number) or number)
        headers.sort(key=lambda fh: (_temporal(fh[1]), int(getattr(fh[1], "InstanceNumber", 0) or 0)))
        candidates.append(Series(desc, number, [f for f, _ in headers], [h for _, h in headers]))
    candidates.sort(key=lambda s: s.number)
    if len(candidates) == 1:
        candidates = _split_temporal(candidates[0])
    return candidates


def _temporal(ds: object) -> int:
    return int(getattr(ds, "TemporalPositionIdentifier", 0) or 0)


def _split_temporal(series: Series) -> list[Series]:
    positions = sorted({_temporal(h) for h in series.headers})
    if len(positions) <= 1:
        return [series]
    out = []
    for k, pos in enumerate(positions):
        idx = [i for i, h in enumerate(series.headers) if _temporal(h) == pos]
        desc = f"{series.description} (pre)" if k == 0 else f"{series.description} ph{k}"
        out.append(
            Series(desc, series.number + k / 100, [series.files[i] for i in idx], [series.headers[i] for i in idx])
        )
    return out


def check_phases(pid: str, series: list[Series]) -> None:
    """Raise PatientSkipped when the DCE series cannot form pre + post phases; warn on ordinal gaps."""
    if not series:
        raise PatientSkipped(f"{pid}: no DCE series (none named 'dyn' or 'vibrant')")
    if series[0].ordinal is not None and not PRE_RE.search(series[0].description):
        raise PatientSkipped(
            f"{pid}: the pre-contrast series is missing (first DCE series is {series[0].description!r})"
        )
    if len(series) < 2:
        raise PatientSkipped(f"{pid}: only the pre-contrast series, no post-contrast phase")
    ordinals = [s.ordinal for s in series[1:]]
    if all(o is not None for o in ordinals) and ordinals != list(range(1, len(ordinals) + 1)):
        log.warning(
            "%s: post-contrast passes %s are not consecutive; phases are numbered in acquisition order", pid, ordinals
        )
    counts = {len(s.files) for s in series}
    if len(counts) > 1:
        detail = ", ".join(f"{s.description!r}: {len(s.files)}" for s in series)
        raise PatientSkipped(f"{pid}: phases have different slice counts ({detail})")


def acquisition_times(pid: str, series: list[Series]) -> list[int]:
    """Seconds since the pre-contrast series (earliest AcquisitionTime of each series; midnight wrap)."""
    starts = []
    for s in series:
        times = [t for t in (_series_time(h) for h in s.headers) if t is not None]
        if not times:
            raise PatientSkipped(f"{pid}: series {s.description!r} has no AcquisitionTime/SeriesTime")
        starts.append(min(times))
    out = []
    for t in starts:
        d = t - starts[0]
        out.append(round(d + 86400 if d < -43200 else d))
    if any(b <= a for a, b in itertools.pairwise(out)):
        log.warning("%s: acquisition times %s are not increasing", pid, out)
    return out


def read_volume(pid: str, series: Series) -> tuple[NDArray[np.float64], tuple[float, float]]:
    """Pixel volume (slices, rows, cols) with rescale applied, and the in-plane pixel spacing (row, col)."""
    import pydicom

    slices = []
    for f in series.files:
        try:
            ds = pydicom.dcmread(f)
            arr = ds.pixel_array.astype(np.float64)
        except Exception as err:
            raise PatientSkipped(f"{pid}: cannot read pixels of {f.name} in {series.description!r}: {err}") from err
        slope = float(getattr(ds, "RescaleSlope", 1.0) or 1.0)
        slices.append(arr * slope + float(getattr(ds, "RescaleIntercept", 0.0) or 0.0))
    shapes = {a.shape for a in slices}
    if len(shapes) != 1:
        raise PatientSkipped(f"{pid}: slices of {series.description!r} have different sizes {sorted(shapes)}")
    spacing = getattr(series.headers[0], "PixelSpacing", None) or (1.0, 1.0)
    return np.stack(slices), (float(spacing[0]), float(spacing[1]))


def scanner_fields(series: list[Series]) -> dict[str, str]:
    """manufacturer, scanner, field_strength, contrast_agent, contrast_bolus_volume from DICOM tags."""
    pre = series[0].headers[0]
    post = series[1].headers[0] if len(series) > 1 else pre
    maker = str(getattr(pre, "Manufacturer", "") or "")
    manufacturer = {"GE MEDICAL SYSTEMS": "GE Medical Systems", "SIEMENS": "Siemens"}.get(maker.upper(), maker)
    field_ = getattr(pre, "MagneticFieldStrength", None)
    agent = str(getattr(post, "ContrastBolusAgent", "") or getattr(pre, "ContrastBolusAgent", "") or "").upper()
    volume = getattr(post, "ContrastBolusVolume", None) or getattr(pre, "ContrastBolusVolume", None)
    return {
        "manufacturer": manufacturer,
        "scanner": str(getattr(pre, "ManufacturerModelName", "") or ""),
        "field_strength": f"{float(field_):g}T" if field_ not in (None, "") else "",
        "contrast_agent": agent.strip(),
        "contrast_bolus_volume": f"{float(volume):g}" if volume not in (None, "") else "",
    }
