"""The lesion-enhancement measurement on hand-made images with known lesion intensities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ccnet_zoo.data.layout import write_png
from ccnet_zoo.models.errors import ModelError
from ccnet_zoo.sample.enhancement import measure_enhancement


def _img(path: Path, lesion: int) -> str:
    a = np.full((16, 16), 50, np.uint8)
    a[4:8, 4:8] = lesion
    write_png(path, a)
    return str(path)


def test_slopes_and_phase_means(tmp_path: Path) -> None:
    mask = np.zeros((16, 16), np.uint8)
    mask[4:8, 4:8] = 255
    write_png(tmp_path / "m.png", mask)
    rows = []
    for sl, gain in ((1, 1.0), (2, 2.0)):
        pre = _img(tmp_path / f"pre{sl}.png", 100)
        for k, t in ((1, 100.0), (2, 200.0), (3, 300.0)):
            rows.append(
                {
                    "patient_id": "P",
                    "slice": str(sl),
                    "phase": str(k),
                    "acquisition_time": str(t),
                    "source": pre,
                    "target": _img(tmp_path / f"r{sl}{k}.png", 100 + 20 * k),
                    "generated": _img(tmp_path / f"g{sl}{k}.png", int(100 + 10 * gain * k)),
                    "segmentation_mask": str(tmp_path / "m.png"),
                }
            )
    rows.append({**rows[0], "segmentation_mask": ""})  # no mask: skipped
    rep = measure_enhancement(rows)
    assert rep.n_slices == 2 and rep.phase_counts == {1: 2, 2: 2, 3: 2}
    assert rep.phase_means["real"] == {1: 120.0, 2: 140.0, 3: 160.0}
    assert rep.phase_means["generated"][1] == pytest.approx(115.0)
    assert rep.slope_mean["real"] == pytest.approx(20.0) and rep.slope_mean["generated"] == pytest.approx(15.0)
    assert rep.slope_mean["pre"] == 0.0 and rep.slope_positive["generated"] == 1.0
    assert "slope per 100 s" in rep.table()


def test_needs_lesions(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="lesion mask"):
        measure_enhancement([{"segmentation_mask": ""}])
