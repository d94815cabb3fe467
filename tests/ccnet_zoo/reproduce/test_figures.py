"""The radiologist's figures on a constructed run: subtraction windows, lesion cases, relative enhancement."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from ccnet_zoo.data.layout import read_png, write_png
from ccnet_zoo.pipeline.generate import COLUMNS, MANIFEST
from ccnet_zoo.reproduce.figures import kinetics_data, kinetics_figure, lesion_cases, sample_grid, subtraction_panels


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """4 patients x 1 slice x phases 1-2 (60 s, 180 s); lesion radius grows with the patient; P3 has no lesion.

    Pre-contrast lesion 50, real phase k lesion 50 (1 + 0.5 k), CC-Net 50 (1 + 0.4 k): relative enhancement 0.5 k
    (real) and 0.4 k (CC-Net).
    """
    gen = tmp_path / "generated"
    yy, xx = np.mgrid[:32, :32]
    rows = []
    for p in range(4):
        pid = f"P{p}"
        mask = ((xx - 16) ** 2 + (yy - 16) ** 2 < (3 + 2 * p) ** 2) if p != 3 else np.zeros((32, 32), bool)
        pre = np.where(mask, 50, 20).astype(np.uint8)
        write_png(tmp_path / f"{pid}_pre.png", pre)
        write_png(tmp_path / f"{pid}_mask.png", (mask * 255).astype(np.uint8))
        for k, t in ((1, 60), (2, 180)):
            real = np.where(mask, 50 * (1 + 0.5 * k), 20).astype(np.uint8)
            synth = np.where(mask, 50 * (1 + 0.4 * k), 22).astype(np.uint8)
            write_png(tmp_path / f"{pid}_{k}_real.png", real)
            write_png(gen / f"p{k}" / f"{pid}_{k}.png", synth)
            rows.append(
                {
                    "patient_id": pid,
                    "slice": "7",
                    "phase": k,
                    "acquisition_time": t,
                    "source": tmp_path / f"{pid}_pre.png",
                    "target": tmp_path / f"{pid}_{k}_real.png",
                    "segmentation_mask": tmp_path / f"{pid}_mask.png",
                    "report": "",
                    "generated": gen / f"p{k}" / f"{pid}_{k}.png",
                }
            )
    with open(gen / MANIFEST, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, delimiter="\t")
        w.writeheader()
        w.writerows(rows)
    return gen


def test_lesion_cases_and_common_window(run: Path) -> None:
    from ccnet_zoo.reproduce.figures import _by_slice

    assert lesion_cases(run, 2) == [("P2", "7"), ("P1", "7")]  # largest lesions first; P3 has none
    assert [k[0] for k in lesion_cases(run)] == ["P2", "P1", "P0"]
    pan = subtraction_panels(_by_slice(run)[("P1", "7")])
    assert pan["window"] == 50.0  # the largest |post - pre| of real (50) and CC-Net (40), both rows
    assert pan["real_sub"][2].max() == 50 and pan["synth_sub"][2].max() == 40
    assert pan["diff"][2].max() == 10 and pan["diff_max"] == 10 and pan["mask"].sum() > 0
    assert pan["times"] == {1: "60", 2: "180"}


def test_kinetics_is_relative_enhancement_with_intervals(run: Path) -> None:
    data = kinetics_data(run, n_bins=2)
    real, ccnet = data["real"], data["CC-Net"]
    assert [b["time"] for b in real] == [60.0, 180.0] and [b["patients"] for b in real] == [3, 3]
    assert [b["mean"] for b in real] == pytest.approx([0.5, 1.0], abs=0.01)
    assert [b["mean"] for b in ccnet] == pytest.approx([0.4, 0.8], abs=0.01)
    for b in real + ccnet:
        assert b["low"] <= b["mean"] <= b["high"]
    # the mean lesion grey level per bin (the "within 15 grey levels of the real" check): 75/100 vs 70/90
    assert [b["signal"] for b in real] == pytest.approx([75.0, 100.0], abs=0.5)
    assert [b["signal"] for b in ccnet] == pytest.approx([70.0, 90.0], abs=0.5)


def test_synthetic_images_of_another_size_are_resampled(run: Path) -> None:
    """A model trained at another size writes images of that size: masks and panels are resampled (nearest)."""
    from ccnet_zoo.reproduce.figures import _by_slice, fit_mask

    for f in run.glob("p*/*.png"):
        img = read_png(f)
        write_png(f, np.repeat(np.repeat(img, 2, axis=0), 2, axis=1))  # 64 x 64 instead of 32 x 32
    assert fit_mask(np.eye(2, dtype=bool), (4, 4)).sum() == 8
    assert [b["mean"] for b in kinetics_data(run, n_bins=2)["CC-Net"]] == pytest.approx([0.4, 0.8], abs=0.01)
    pan = subtraction_panels(_by_slice(run)[("P1", "7")])
    assert pan["synth_sub"][2].shape == (32, 32) and pan["diff"][2].max() == 10


def test_figures_are_written(run: Path, tmp_path: Path) -> None:
    for path in (sample_grid(tmp_path, run, tmp_path / "grid.png"), kinetics_figure(run, tmp_path / "kin.png")):
        assert path.stat().st_size > 10_000


def test_intensity_note_follows_the_dataset(tmp_path: Path) -> None:
    import json

    from ccnet_zoo.reproduce.figures import intensity_note

    assert intensity_note(tmp_path) == "each phase volume min-max scaled on its own"  # no dataset.json (Duke-like)
    (tmp_path / "dataset.json").write_text(json.dumps({"config": {"intensity": "patient"}}), encoding="utf-8")
    assert intensity_note(tmp_path).startswith("one min-max window per patient")
