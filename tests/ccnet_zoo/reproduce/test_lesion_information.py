"""benchmarks/lesion_information.py: the conditional-mean regression that bounds the lesion signal (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from zoo_helpers import benchmark_module


def _module():
    return benchmark_module("lesion_information")


def test_regression_runs_on_a_run_folder_and_writes_only_its_own(
    table_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = table_run
    before = sorted(p.name for p in (run / "generated").rglob("*"))
    out = tmp_path / "out"
    assert _module().main([str(run), "--out", str(out), "--seconds", "1"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((out / "lesion_information.json").read_text(encoding="utf-8"))
    assert printed["steps"] >= 1
    bins = len(printed["real_lesion_signal"])
    assert bins > 0 and len(printed["regression_gap"]) == len(printed["ccnet_gap"]) == bins
    assert sorted(p.name for p in (run / "generated").rglob("*")) == before  # the run is only read
    assert len(list(out.glob("p*/*.png"))) == len(list((run / "generated").glob("p*/*.png")))
    with pytest.raises(SystemExit) as err:  # never into an existing folder
        _module().main([str(run), "--out", str(out)])
    assert err.value.code == 2


def test_lesion_t1_is_replaced_only_inside_the_block() -> None:
    from ccnet_zoo.data.phantom import tissues

    before = tissues.T1_MS["lesion"]
    with _module().lesion_t1((2200.0, 2600.0)):
        assert tissues.T1_MS["lesion"] == (2200.0, 2600.0)
        assert tissues.t1_ms("lesion", 3.0) == 2600.0
    assert tissues.T1_MS["lesion"] == before
    with pytest.raises(RuntimeError), _module().lesion_t1((1.0, 2.0)):
        raise RuntimeError("boom")
    assert tissues.T1_MS["lesion"] == before
    with _module().lesion_t1(None):
        assert tissues.T1_MS["lesion"] == before


def test_what_if_lesion_t1_rebuilds_the_phantom_inside_out(
    zoo_phantom: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ccnet_zoo.data.phantom import tissues

    run = tmp_path / "run"
    run.mkdir()
    (run / "data").symlink_to(zoo_phantom, target_is_directory=True)
    out = tmp_path / "out"
    assert _module().main([str(run), "--out", str(out), "--seconds", "1", "--lesion-t1", "2200", "2600"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["lesion_t1_ms"] == [2200.0, 2600.0] and printed["ccnet_gap"] is None
    assert (out / "data" / "dataset.json").is_file() and not (run / "generated").exists()
    assert tissues.T1_MS["lesion"] == (1300.0, 1600.0)  # restored
    # the same patients and split as the run's phantom; the outputs named by phase like generated images
    assert (out / "data" / "splits.csv").read_text() == (zoo_phantom / "splits.csv").read_text()
    written = sorted(p.relative_to(out) for p in out.glob("p*/*.png"))
    assert written and all(p.parts[0] == f"p{int(p.name.split('_')[3])}" for p in written)


def test_a_run_that_generated_nothing_is_refused_before_training(tmp_path: Path) -> None:
    (tmp_path / "run" / "data").mkdir(parents=True)
    with pytest.raises(SystemExit) as err:
        _module().main([str(tmp_path / "run"), "--out", str(tmp_path / "out")])
    assert err.value.code == 2 and not (tmp_path / "out").exists()
