"""Prepare Duke-Breast-Cancer-MRI (TCIA) for CC-Net: DICOM tree -> PNG slices + ``LDM_metadata.csv``.

Per patient (as CC-Net's ``nifti_png_conversion.py``): DCE series pre + post in order, each phase volume
min-max normalised to 0..255 on its own, only the slices inside the tumour bounding box, each slice resized
to square pixels and then to ``size`` x ``size`` (bicubic). Slice ``k`` of the DICOM instance order is named
``slice<n-1-k>`` like CC-Net's reoriented NIfTI. The output layout is ``ccnet_zoo.data.layout``'s, the same as
the phantom's. Interrupted runs resume; nothing is overwritten without ``overwrite=True``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ccnet_zoo.data import layout
from ccnet_zoo.data.duke.dicom import (
    PatientSkipped,
    acquisition_times,
    check_phases,
    find_patients,
    list_dce_series,
    read_volume,
    scanner_fields,
)
from ccnet_zoo.data.duke.tables import Box, read_boxes, read_clinical
from ccnet_zoo.data.errors import DataError, OutputExistsError
from ccnet_zoo.data.prompts import with_prompts
from ccnet_zoo.data.splits import resolve_split, write_split_file
from frd._files import replace_owned_text

log = logging.getLogger(__name__)
STATE = "duke"
CLINICAL_FIELDS = (
    "metastatic",
    "tumor_subtype",
    "tumor_histologic_type",
    "tumor_location",
    "tumor_bilateral",
    "age",
    "ethnicity",
)


@dataclass(frozen=True)
class DukeConfig:
    """Preparation settings (stored with a run so that a resumed run uses the same ones)."""

    size: int = 512
    split: str = "paper"
    seed: int = 0
    all_slices: bool = False  # keep every slice instead of the tumour box (patients without a box too)
    max_patients: int | None = None


@dataclass
class DukeResult:
    """Summary of a preparation run."""

    root: Path
    prepared: list[str]
    skipped: dict[str, str] = field(default_factory=dict)
    resumed: list[str] = field(default_factory=list)


def resize_slice(image: NDArray[np.float64], spacing: tuple[float, float], size: int) -> NDArray[np.float64]:
    """Resample to square pixels (area) and then to ``size`` x ``size`` (bicubic), as CC-Net did."""
    import cv2

    rows, cols = image.shape
    s = min(spacing)
    phys = (max(1, round(cols * spacing[1] / s)), max(1, round(rows * spacing[0] / s)))  # cv2: (width, height)
    img = image.astype(np.float32)
    if phys != (cols, rows):
        img = cv2.resize(img, phys, interpolation=cv2.INTER_AREA)
    if img.shape != (size, size):
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_CUBIC)
    return img.astype(np.float64)


def resize_mask(mask: NDArray[np.bool_], size: int) -> NDArray[np.uint8]:
    """Nearest-neighbour resize of a boolean mask to 0/255 uint8."""
    import cv2

    out = cv2.resize(mask.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST)
    return (out > 0).astype(np.uint8) * 255


def _state_path(root: Path, pid: str | None = None) -> Path:
    return root / layout.STATE_DIR / (f"{STATE}.json" if pid is None else f"{STATE}-{pid}.json")


def _write_json(path: Path, obj: object) -> None:
    replace_owned_text(path, json.dumps(obj, indent=1, sort_keys=True))


def _convert_patient(
    pid: str, folder: Path, split: str, box: Box | None, clinical: dict[str, str], out: Path, config: DukeConfig
) -> dict[str, object]:
    series = list_dce_series(folder)
    check_phases(pid, series)
    times = acquisition_times(pid, series)
    n = len(series[0].files)
    if box is None:
        if not config.all_slices:
            raise PatientSkipped(f"{pid}: no row in the annotation-box table (pass --all-slices to keep it)")
        keep = list(range(n))
    else:
        lo, hi = max(0, box.start_slice), min(n - 1, box.end_slice)
        keep = list(range(n)) if config.all_slices else list(range(lo, hi + 1))
        if not keep:
            raise PatientSkipped(f"{pid}: box slices {box.start_slice}..{box.end_slice} outside the {n} slices")
    files: list[str] = []
    shape = None
    for phase, s in enumerate(series):
        vol, spacing = read_volume(pid, s)
        if shape is None:
            shape = vol.shape
        elif vol.shape != shape:
            raise PatientSkipped(f"{pid}: phase {phase} has shape {vol.shape}, the pre-contrast {shape}")
        lo_v, hi_v = float(vol.min()), float(vol.max())
        norm = (vol - lo_v) / (hi_v - lo_v) * 255.0 if hi_v > lo_v else np.zeros_like(vol)
        for k in keep:
            img = np.clip(np.rint(resize_slice(norm[k], spacing, config.size)), 0, 255).astype(np.uint8)
            path = layout.image_path(out, split, pid, phase, n - 1 - k)
            layout.write_png(path, img)
            files.append(str(path.relative_to(out)))
    if box is not None and shape is not None:
        for k in keep:
            mask = np.zeros(shape[1:], dtype=bool)
            if box.start_slice <= k <= box.end_slice:
                mask[max(0, box.start_row) : box.end_row + 1, max(0, box.start_column) : box.end_column + 1] = True
            path = layout.mask_path(out, split, pid, n - 1 - k)
            layout.write_png(path, resize_mask(mask, config.size))
            files.append(str(path.relative_to(out)))
    row = {"patient_id": pid, "acquisition_times": layout.format_times(times), **scanner_fields(series)}
    row.update({k: clinical.get(k, "") for k in CLINICAL_FIELDS})
    return {"row": with_prompts(row), "split": split, "files": files}


def prepare_duke(
    dicom_root: Path,
    out: Path,
    boxes_path: Path | None,
    clinical_path: Path | None = None,
    config: DukeConfig | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> DukeResult:
    """Convert the Duke DICOM tree under ``dicom_root`` into ``out``; see the module docstring."""
    config = config or DukeConfig()
    if not 16 <= config.size <= 2048:
        raise DataError(f"size must be within 16..2048, got {config.size}")
    if boxes_path is None and not config.all_slices:
        raise DataError("the annotation-box table is needed to keep the tumour slices (or pass --all-slices)")
    out = Path(out)
    patients = find_patients(Path(dicom_root))  # fails early on a wrong root
    boxes = read_boxes(boxes_path) if boxes_path is not None else {}
    clinical = read_clinical(clinical_path) if clinical_path is not None else {}
    if clinical_path is None:
        log.warning("no clinical-features table: tumour and demographic prompt fields stay blank")
    if config.max_patients is not None:
        patients = dict(list(patients.items())[: config.max_patients])
    resuming = layout.prepare_output(out, overwrite, resumable_source=STATE)
    params = {"config": asdict(config), "dicom_root": str(Path(dicom_root).resolve())}
    if resuming:
        previous = json.loads(_state_path(out).read_text(encoding="utf-8"))
        if previous != params:
            raise OutputExistsError(
                f"{out} holds an unfinished run with other settings ({previous['config']}); "
                "pass --overwrite to start again"
            )
        log.info("resuming the unfinished preparation in %s", out)
    _write_json(_state_path(out), params)
    split = resolve_split(config.split, list(patients), default_seed=config.seed)
    result = DukeResult(out, [])
    records: dict[str, dict] = {}
    from tqdm import tqdm

    for pid, folder in tqdm(patients.items(), desc="duke", unit="patient", disable=not progress, leave=False):
        state = _state_path(out, pid)
        if state.is_file():
            rec = json.loads(state.read_text(encoding="utf-8"))
            if rec.get("split") == split[pid]:
                records[pid] = rec
                result.resumed.append(pid)
                continue
        try:
            rec = _convert_patient(pid, folder, split[pid], boxes.get(pid), clinical.get(pid, {}), out, config)
        except PatientSkipped as err:
            log.warning("skipped %s", err)
            result.skipped[pid] = str(err)
            continue
        _write_json(state, rec)
        records[pid] = rec
    if not records:
        raise DataError(f"no patient under {dicom_root} could be converted ({len(result.skipped)} skipped)")
    result.prepared = sorted(records)
    layout.write_table(
        out / layout.METADATA_FILE, layout.METADATA_COLUMNS, (records[p]["row"] for p in result.prepared)
    )
    write_split_file(out / layout.SPLITS_FILE, {p: records[p]["split"] for p in result.prepared})
    layout.write_manifest(
        out,
        {
            "source": "duke",
            "config": asdict(config),
            "patients": len(records),
            "images": sum(len(r["files"]) for r in records.values()),
            "skipped": result.skipped,
            "splits": {s: sum(r["split"] == s for r in records.values()) for s in layout.SPLITS},
        },
    )
    log.info(
        "duke: %d patients prepared (%d resumed), %d skipped -> %s",
        len(records),
        len(result.resumed),
        len(result.skipped),
        out,
    )
    return result
