"""Datalist builder: one row per (pre slice, post phase) with the right time, prompt and paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccnet_zoo.data import layout
from ccnet_zoo.data.datalist import DATALIST_COLUMNS, build_datalist, read_datalist, write_datalists
from ccnet_zoo.data.errors import DataError, OutputExistsError
from ccnet_zoo.data.prompts import DEFAULT_REPORT


def test_rows_pair_each_pre_slice_with_every_post_phase(small_phantom) -> None:
    lists = build_datalist(small_phantom.root, which_text=2)
    expected = {s: 0 for s in layout.SPLITS}
    for spec in small_phantom.patients:
        expected[small_phantom.split[spec.patient_id]] += len(spec.slice_indices) * (
            len(spec.timing.acquisition_times) - 1
        )
    assert {s: len(r) for s, r in lists.items()} == expected
    specs = {s.patient_id: s for s in small_phantom.patients}
    meta = {r["patient_id"]: r for r in layout.read_table(small_phantom.root / layout.METADATA_FILE)}
    for split, rows in lists.items():
        for row in rows:
            spec = specs[row["patient_id"]]
            k = int(row["phase"])
            assert row["split"] == split == small_phantom.split[spec.patient_id]
            assert int(row["acquisition_time"]) == spec.timing.acquisition_times[k] > 0
            assert row["report"] == meta[spec.patient_id]["text2"]
            assert Path(row["source"]).name == layout.image_name(spec.patient_id, 0, int(row["slice"]))
            assert Path(row["target"]).name == layout.image_name(spec.patient_id, k, int(row["slice"]))
            assert Path(row["segmentation_mask"]).is_file()


def test_written_tsv_round_trips_with_relative_paths(small_phantom, tmp_path: Path) -> None:
    paths = write_datalists(small_phantom.root, tmp_path / "lists", which_text=None)
    header = paths["train"].read_text().splitlines()[0].split("\t")
    assert header == list(DATALIST_COLUMNS)
    assert not Path(paths["train"].read_text().splitlines()[1].split("\t")[5]).is_absolute()
    rows = read_datalist(paths["train"])
    assert rows and all(Path(str(r["source"])).is_file() and Path(str(r["target"])).is_file() for r in rows)
    assert all(r["report"] == DEFAULT_REPORT for r in rows)
    assert isinstance(rows[0]["acquisition_time"], float)
    with pytest.raises(OutputExistsError):
        write_datalists(small_phantom.root, tmp_path / "lists")
    write_datalists(small_phantom.root, tmp_path / "lists", overwrite=True)


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(DataError):
        build_datalist(tmp_path)  # no metadata
    (tmp_path / layout.METADATA_FILE).write_text("patient_id;acquisition_times\nX;[0, 100]\n")
    with pytest.raises(DataError, match="no pre-contrast"):
        build_datalist(tmp_path)
    with pytest.raises(DataError):
        build_datalist(tmp_path, which_text=4)
    with pytest.raises(DataError):
        layout.parse_times("0, 100")
