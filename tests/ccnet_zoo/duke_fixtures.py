"""Write phantom patients as a Duke-like TCIA DICOM tree plus the two spreadsheets (CSV).

Used by the tests and to try ``prepare-duke`` without the real data. Folder and tag layout follow TCIA:
``<root>/Duke-Breast-Cancer-MRI/<pid>/01-01-1990-NA-MRI BREAST BILATERAL W  WO-<uid>/<n>.000000-ax dyn
<pass>-<uid>/1-<nnn>.dcm`` with SeriesDescription, SeriesNumber, InstanceNumber, AcquisitionTime,
Manufacturer, ManufacturerModelName, MagneticFieldStrength, ContrastBolusAgent/Volume and PixelSpacing.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ccnet_zoo.data.phantom.generator import PatientImages, PatientSpec

PASS_NAMES = ("pre", "1st pass", "2nd pass", "3rd pass", "4th pass")
MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"


def _hhmmss(seconds: float) -> str:
    s = round(seconds) % 86400
    return f"{s // 3600:02d}{(s % 3600) // 60:02d}{s % 60:02d}.000000"


def write_patient_dicom(
    root: Path, spec: PatientSpec, images: PatientImages, start_s: float = 9 * 3600.0, fov_mm: float = 340.0
) -> Path:
    """Write the patient's phases as DCE series; DICOM instance k = phantom slice n-1-k (CC-Net's flip)."""
    import pydicom
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    study = Path(root) / "Duke-Breast-Cancer-MRI" / spec.patient_id / "01-01-1990-NA-MRI BREAST BILATERAL W  WO-97538"
    n_ph, n_sl, rows, cols = images.noisy.shape
    scale = 4000.0 / float(images.noisy.max())
    study_uid = generate_uid()
    for phase in range(n_ph):
        folder = study / f"{phase + 3}.000000-ax dyn {PASS_NAMES[phase]}-{10000 + phase}"
        folder.mkdir(parents=True, exist_ok=True)
        series_uid = generate_uid()
        t = start_s + spec.timing.acquisition_times[phase]
        for k in range(n_sl):
            meta = FileMetaDataset()
            meta.MediaStorageSOPClassUID = MR_STORAGE
            meta.MediaStorageSOPInstanceUID = generate_uid()
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds = FileDataset(str(folder / f"1-{k + 1:03d}.dcm"), {}, file_meta=meta, preamble=b"\0" * 128)
            ds.SOPClassUID, ds.SOPInstanceUID = MR_STORAGE, meta.MediaStorageSOPInstanceUID
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
            ds.PatientID, ds.Modality = spec.patient_id, "MR"
            ds.SeriesDescription = f"ax dyn {PASS_NAMES[phase]}"
            ds.SeriesNumber, ds.InstanceNumber = phase + 3, k + 1
            ds.AcquisitionTime = _hhmmss(t + 0.5 * k)
            ds.SeriesTime = _hhmmss(t)
            ds.Manufacturer = "GE MEDICAL SYSTEMS" if spec.scanner.manufacturer.startswith("GE") else "SIEMENS"
            ds.ManufacturerModelName = spec.scanner.scanner
            ds.MagneticFieldStrength = spec.scanner.tesla
            if phase > 0 and spec.scanner.contrast_agent:
                ds.ContrastBolusAgent = spec.scanner.contrast_agent
                if spec.scanner.contrast_bolus_volume:
                    ds.ContrastBolusVolume = spec.scanner.contrast_bolus_volume
            ds.Rows, ds.Columns = rows, cols
            ds.PixelSpacing = [fov_mm / rows, fov_mm / cols]
            ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
            pixels = np.clip(np.rint(images.noisy[phase, n_sl - 1 - k] * scale), 0, 65535).astype(np.uint16)
            ds.PixelData = pixels.tobytes()
            pydicom.dcmwrite(ds.filename, ds, enforce_file_format=True)
    return study.parent


def write_boxes_csv(path: Path, specs: list[PatientSpec], images: list[PatientImages]) -> Path:
    """Annotation_Boxes as CSV: the lesion mask's bounding box (0-based inclusive, DICOM instance order)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Patient ID", "Start Row", "End Row", "Start Column", "End Column", "Start Slice", "End Slice"])
        for spec, im in zip(specs, images, strict=True):
            m = im.lesion_mask[::-1]  # DICOM instance order
            if not m.any():
                continue
            zs, ys, xs = np.nonzero(m)
            w.writerow([spec.patient_id, ys.min(), ys.max(), xs.min(), xs.max(), zs.min(), zs.max()])
    return path


def write_clinical_csv(path: Path, specs: list[PatientSpec]) -> Path:
    """Clinical_and_Other_Features as CSV with Duke's three header rows and codes."""
    inv = {
        "metastatic": {"non-metastatic": "0", "metastatic": "1"},
        "tumor_subtype": {
            "luminal-like": "0",
            "ER/PR positive, HER2 positive": "1",
            "her2 positive": "2",
            "triple negative": "3",
        },
        "tumor_histologic_type": {
            "DCIS": "0",
            "ductal": "1",
            "lobular": "2",
            "metaplastic": "3",
            "tubular": "5",
            "mucinous": "9",
        },
        "tumor_bilateral": {"unilateral": "0", "bilateral": "1"},
        "ethnicity": {
            "": "0",
            "white": "1",
            "black": "2",
            "asian": "3",
            "native american": "4",
            "hispanic": "5",
            "multi": "6",
            "hawa": "7",
            "indian american": "8",
        },
    }
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["", "Demographics", "", "Tumor Characteristics", "", "", "", ""])
        w.writerow(
            [
                "Patient ID",
                "Date of Birth (Days)",
                "Race and Ethnicity",
                "Metastatic at Presentation (Outside of Lymph Nodes)",
                "Mol Subtype",
                "Histologic type",
                "Tumor Location",
                "Bilateral Information",
            ]
        )
        w.writerow(["", "", "{0 = N/A 1 = white, 2 = black}", "{0 = no 1 = yes}", "", "", "", ""])
        for s in specs:
            c = s.clinical
            w.writerow(
                [
                    s.patient_id,
                    str(-int(c.age) * 365 - 100) if c.age else "NA",
                    inv["ethnicity"].get(c.ethnicity, "0"),
                    inv["metastatic"].get(c.metastatic, "NA"),
                    inv["tumor_subtype"].get(c.tumor_subtype, "NA"),
                    inv["tumor_histologic_type"].get(c.tumor_histologic_type, "NA"),
                    {"left": "L", "right": "R"}.get(c.tumor_location, "NA"),
                    inv["tumor_bilateral"].get(c.tumor_bilateral, "NA"),
                ]
            )
    return path
