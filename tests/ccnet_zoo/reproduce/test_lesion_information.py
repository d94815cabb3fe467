"""benchmarks/lesion_information.py: the conditional-mean regression that bounds the lesion signal (issue 11)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _module():
    spec = importlib.util.spec_from_file_location("lesion_information", ROOT / "benchmarks" / "lesion_information.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_regression_runs_on_a_run_folder_and_writes_only_its_own(
    zoo_phantom: Path, trained_runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ccnet_zoo.pipeline import CCNetPipeline, generate_split
    from ccnet_zoo.train.data import load_rows

    run = tmp_path / "run"
    run.mkdir()
    (run / "data").symlink_to(zoo_phantom, target_is_directory=True)
    pipe = CCNetPipeline.from_pretrained(trained_runs["controlnet"])
    rows = load_rows(zoo_phantom)
    # the small phantom's test split may hold no lesion: generate for the training patients too (bins need lesions)
    generate_split(pipe, rows["train"] + rows["test"], run / "generated", batch_size=16, progress=False)
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
