"""MSE per pair (corrected) and the reference's uint8 quirks, reproduced exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ccnet_zoo.data.layout import image_name, write_png
from ccnet_zoo.metrics import compute_metrics, pair_images
from ccnet_zoo.metrics.mse import mse_corrected, mse_pairs
from ccnet_zoo.metrics.quirks import lpips_binarise, minmax_uint8, mse_uint8


def test_uint8_wraparound_reproduced() -> None:
    a, b = np.array([[3, 200]], np.uint8), np.array([[5, 10]], np.uint8)
    assert mse_uint8(a, b) == 4.0  # (254² + 190²) mod 256 each = 4 and 4
    assert mse_corrected(a, b) == pytest.approx((4 + 190**2) / 2 / 255**2)


def test_lpips_binarisation_and_minmax() -> None:
    x = np.array([[0, 50, 100, 150, 200, 255]], np.uint8)
    assert lpips_binarise(x).tolist() == [[0, 0, 0, 0, 1, 1]]
    assert minmax_uint8(np.array([[10, 20, 30]], np.uint8)).tolist() == [[0, 128, 255]]


def test_mse_pairs_values_and_resize_policy(tmp_path: Path) -> None:
    r = np.full((32, 32), 100, np.uint8)
    s = np.full((16, 16), 110, np.uint8)
    write_png(tmp_path / "r" / image_name("P", 1, 1), r)
    write_png(tmp_path / "s" / image_name("P", 1, 1), s)
    r2 = np.zeros((16, 16), np.uint8)
    r2[:, 8:] = 255
    write_png(tmp_path / "r" / image_name("P", 1, 2), r2)
    write_png(tmp_path / "s" / image_name("P", 1, 2), np.zeros((16, 16), np.uint8))
    pairs = pair_images(tmp_path / "r", tmp_path / "s").pairs
    got = mse_pairs(pairs)
    assert got.tolist() == pytest.approx([(10 / 255) ** 2, 0.5])  # real resized to the synthetic 16x16
    quirky = mse_pairs(pairs, paper_quirks=True)
    # constant images min-max to all-zero in the reference; the half-white one is resized to 224 (cv2 bilinear)
    # and its squares wrap modulo 256 (255² mod 256 = 1)
    import cv2

    up = cv2.resize(r2, (224, 224)).astype(np.int64)
    assert quirky.tolist() == pytest.approx([0.0, float(((up * up) % 256).mean())])
    assert quirky[1] < 40 < got[1] * 255**2  # the wrap-around hides a large difference


def test_report_mean_std_n(dataset: tuple[Path, Path, Path]) -> None:
    _, real, synth = dataset
    report = compute_metrics(real, synth, phase=1, metrics=["mse"])
    r = report["mse"]
    values = np.array(r.per_pair)
    assert r.n == 9 == report.n_pairs and r.available
    assert r.value == pytest.approx(values.mean()) and r.std == pytest.approx(values.std(ddof=1))
    # added uniform noise in [-12, 12]: E[d²] = 12*13/3 = 52 on the 0..255 scale (less where clipped)
    assert 30 / 255**2 < r.value < 60 / 255**2
    assert list(report.results) == ["mse"] and report.settings["phase"] == 1


def test_comparison_table_cells(dataset: tuple[Path, Path, Path]) -> None:
    from ccnet_zoo.metrics import comparison_table, format_cell

    pre, real, synth = dataset
    rows = {
        "phase 1 · pre-contrast": compute_metrics(pre, real, phase=1, real_phase=0, metrics=["mse", "lpips"]),
        "phase 1 · CC-Net": compute_metrics(real, synth, phase=1, metrics=["mse", "lpips"]),
    }
    table = comparison_table(rows, metrics=["mse", "lpips", "fid"]).splitlines()
    assert table[0] == "| | MSE ↓ | LPIPS ↓ | FID ↓ |" and len(table) == 4
    base, model = (line.split(" | ") for line in table[2:])
    assert base[1] == format_cell(rows["phase 1 · pre-contrast"]["mse"]) and "(n=9)" in base[1] and " ± " in base[1]
    assert model[2] == "not available: run `ccnet-zoo weights fetch lpips-alexnet-jax`"
    assert model[3] == "- |"  # not requested
    assert rows["phase 1 · CC-Net"]["mse"].value < rows["phase 1 · pre-contrast"]["mse"].value
