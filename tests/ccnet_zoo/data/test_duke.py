"""Duke adapter on a synthetic TCIA tree written from phantom patients, including bad cases."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from duke_fixtures import write_boxes_csv, write_clinical_csv, write_patient_dicom

from ccnet_zoo.data import layout
from ccnet_zoo.data.duke.prepare import DukeConfig, prepare_duke
from ccnet_zoo.data.duke.tables import read_boxes, read_clinical
from ccnet_zoo.data.errors import DataError, DukeLayoutError, OutputExistsError, SpreadsheetError
from ccnet_zoo.data.phantom.generator import PhantomConfig, sample_patient, simulate_patient

SIZE = 64
CFG = PhantomConfig(patients=5, slices=4, size=SIZE, seed=5, lesion_fraction=1.0, post_phases=3)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = Path(tmp_path_factory.mktemp("duke"))
    specs = [sample_patient(CFG, i) for i in range(CFG.patients)]
    images = [simulate_patient(s, SIZE) for s in specs]
    for s, im in zip(specs, images, strict=True):
        write_patient_dicom(root / "tcia", s, im)
    study = lambda pid: next((root / "tcia" / "Duke-Breast-Cancer-MRI" / pid).iterdir())  # noqa: E731
    # bad case 1: patient 4 lost its pre-contrast series
    shutil.rmtree(next(p for p in study(specs[3].patient_id).iterdir() if "pre" in p.name))
    # bad case 2: a corrupted (unreadable) file in patient 5's second phase
    (next(p for p in study(specs[4].patient_id).iterdir() if "2nd" in p.name) / "1-002.dcm").write_bytes(b"junk")
    # a non-DCE series (copied pre series renamed to a T1 series) must be ignored for patient 1
    pre1 = next(p for p in study(specs[0].patient_id).iterdir() if "pre" in p.name)
    t1 = pre1.parent / "2.000000-ax t1 non fs-555"
    shutil.copytree(pre1, t1)
    import pydicom

    for f in t1.iterdir():
        ds = pydicom.dcmread(f)
        ds.SeriesDescription, ds.SeriesNumber = "ax t1 non fs", 2
        ds.save_as(f)
    boxes = write_boxes_csv(root / "Annotation_Boxes.csv", specs, images)
    clinical = write_clinical_csv(root / "Clinical_and_Other_Features.csv", specs)
    return {"root": root, "specs": specs, "images": images, "boxes": boxes, "clinical": clinical}


def test_prepare_reproduces_phantom_and_skips_bad_patients(tree: dict, tmp_path: Path, caplog) -> None:
    out = tmp_path / "out"
    config = DukeConfig(size=SIZE, split="random:3", all_slices=True)
    with caplog.at_level(logging.WARNING):
        result = prepare_duke(tree["root"] / "tcia", out, tree["boxes"], tree["clinical"], config, progress=False)
    specs = tree["specs"]
    assert result.prepared == sorted(s.patient_id for s in specs[:3])
    assert "pre-contrast series is missing" in result.skipped[specs[3].patient_id]
    assert "different slice counts" in result.skipped[specs[4].patient_id]
    assert "unreadable DICOM file 1-002.dcm" in caplog.text
    rows = {r["patient_id"]: r for r in layout.read_table(out / layout.METADATA_FILE, layout.METADATA_COLUMNS)}
    split = dict(r.values() for r in layout.read_table(out / layout.SPLITS_FILE))  # type: ignore[misc]
    for spec, images in zip(specs[:3], tree["images"][:3], strict=True):
        row, sc = rows[spec.patient_id], spec.scanner
        assert layout.parse_times(row["acquisition_times"]) == list(spec.timing.acquisition_times)
        assert (row["manufacturer"], row["scanner"], row["field_strength"]) == (
            sc.manufacturer,
            sc.scanner,
            sc.field_strength,
        )
        assert row["contrast_agent"] == sc.contrast_agent
        for key in ("tumor_subtype", "tumor_location", "tumor_bilateral", "metastatic", "ethnicity", "age"):
            assert row[key] == getattr(spec.clinical, key), key
        for phase in range(4):
            expected = layout.minmax_uint8(images.noisy[phase])
            for j in range(CFG.slices):  # slice names follow CC-Net's flipped NIfTI order = phantom order
                got = layout.read_png(layout.image_path(out, split[spec.patient_id], spec.patient_id, phase, j))
                assert np.abs(got.astype(int) - expected[j]).max() <= 1


def test_tumour_box_slices_and_masks(tree: dict, tmp_path: Path) -> None:
    out = tmp_path / "box"
    prepare_duke(tree["root"] / "tcia", out, tree["boxes"], None, DukeConfig(size=SIZE, split="random"), progress=False)
    spec, images = tree["specs"][0], tree["images"][0]
    kept = sorted(
        int(layout.IMAGE_RE.match(p.name)["slice"])  # type: ignore[index]
        for p in out.glob(f"*/*_A/{spec.patient_id}_0000_slice*.png")
    )
    assert kept == [j for j in range(CFG.slices) if images.lesion_mask[j].any()]
    mask = layout.read_png(next(out.glob(f"*/annotations/{spec.patient_id}_0001_mask{kept[0]}.png")))
    rows, cols = np.nonzero(images.lesion_mask.any(axis=0))
    assert mask[rows.min(), cols.min()] == 255 and mask[rows.max(), cols.max()] == 255
    assert int((mask > 0).sum()) == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)


def test_resume_and_never_overwrite(tree: dict, tmp_path: Path) -> None:
    out = tmp_path / "r"
    tcia = tree["root"] / "tcia"
    first = prepare_duke(tcia, out, tree["boxes"], None, DukeConfig(size=SIZE, max_patients=1), progress=False)
    assert len(first.prepared) == 1
    (out / layout.MANIFEST_FILE).unlink()  # simulate an interrupted run: no manifest yet
    with pytest.raises(OutputExistsError):  # other settings than the unfinished run
        prepare_duke(tcia, out, tree["boxes"], None, DukeConfig(size=SIZE), progress=False)
    again = prepare_duke(tcia, out, tree["boxes"], None, DukeConfig(size=SIZE, max_patients=1), progress=False)
    assert again.resumed == first.prepared
    with pytest.raises(OutputExistsError):
        prepare_duke(tcia, out, tree["boxes"], None, DukeConfig(size=SIZE, max_patients=1), progress=False)
    redo = prepare_duke(tcia, out, tree["boxes"], None, DukeConfig(size=SIZE), overwrite=True, progress=False)
    assert not redo.resumed and len(redo.prepared) == 3


def test_paper_split_is_the_default(tree: dict, tmp_path: Path) -> None:
    out = tmp_path / "p"
    prepare_duke(tree["root"] / "tcia", out, tree["boxes"], None, DukeConfig(size=SIZE), progress=False)
    split = {r["patient_id"]: r["split"] for r in layout.read_table(out / layout.SPLITS_FILE)}
    # Breast_MRI_001 is in CC-Net's validation list, 002 and 003 are training patients
    assert split == {"Breast_MRI_001": "validation", "Breast_MRI_002": "train", "Breast_MRI_003": "train"}


def test_bad_inputs_raise_typed_errors(tree: dict, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DukeLayoutError):
        prepare_duke(tmp_path / "empty", tmp_path / "o", tree["boxes"], progress=False)
    with pytest.raises(DataError, match="annotation-box"):
        prepare_duke(tree["root"] / "tcia", tmp_path / "o", None, progress=False)
    bad = tmp_path / "boxes.csv"
    bad.write_text("Patient ID,Start Row\nBreast_MRI_001,3\n")
    with pytest.raises(SpreadsheetError, match="end row"):
        read_boxes(bad)
    xlsx = tmp_path / "Annotation_Boxes.xlsx"
    xlsx.write_bytes(b"not really a workbook")
    try:
        import openpyxl  # noqa: F401

        expected = "not a readable .xlsx"
    except ImportError:
        expected = "openpyxl"
    with pytest.raises(SpreadsheetError, match=expected):
        read_boxes(xlsx)


def test_clinical_codes_are_decoded(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "Patient ID;Date of Birth (Days);Race and Ethnicity;Metastatic at Presentation;Mol Subtype;"
        "Histologic type;Tumor Location;Bilateral Information\n"
        "{codes};;;;;;;\n"
        "Breast_MRI_001;-15000;2;0;2;1;L;0\n"
        "Breast_MRI_002;NA;white;1;triple negative;NA;R;1\n"
    )
    c = read_clinical(path)
    assert c["Breast_MRI_001"] == {
        "metastatic": "non-metastatic",
        "tumor_subtype": "her2 positive",
        "tumor_histologic_type": "ductal",
        "tumor_location": "left",
        "tumor_bilateral": "unilateral",
        "age": "41",
        "ethnicity": "black",
    }
    assert c["Breast_MRI_002"]["age"] == "" and c["Breast_MRI_002"]["tumor_histologic_type"] == ""
    assert c["Breast_MRI_002"]["tumor_bilateral"] == "bilateral"
