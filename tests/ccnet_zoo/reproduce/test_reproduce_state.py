"""Reproduce at other image sizes, stage fingerprints (reruns never reuse stale stages), and the user's files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ccnet_zoo.cli import main

EPOCHS = [
    *("--set", "train.ae.epochs=1", "--set", "train.mean.epochs=1"),
    *("--set", "train.ldm.epochs=1", "--set", "train.controlnet.epochs=1"),
]
BASE = [
    "reproduce",
    "--table",
    "1",
    "--patients",
    "8",
    "--slices",
    "2",
    "--steps",
    "2",
    "--device",
    "cpu",
    *EPOCHS,
    "-q",
]


def _invoke(out: Path, *extra: str):
    mp = pytest.MonkeyPatch()
    mp.setenv("CCNET_ZOO_CACHE", str(out.parent / "weights-cache"))
    mp.setenv("CCNET_ZOO_OFFLINE", "1")
    try:
        return CliRunner().invoke(main, [*BASE, *extra, "--out", str(out)])
    finally:
        mp.undo()


def _mtimes(out: Path) -> dict[str, int]:
    files = [*out.glob("runs/*/DONE.json"), out / "generated" / "generated.tsv", *out.glob("metrics/*.json")]
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in files}


@pytest.fixture(scope="module")
def run32(tmp_path_factory) -> Path:
    """A run on 32-px data with the 64-px tiny model (the model is larger than the data)."""
    import torch

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("size32") / "run"
    r = _invoke(out, "--size", "32")
    assert r.exit_code == 0, r.output
    return out


def test_size_32_end_to_end_with_a_64_px_model(run32: Path) -> None:
    from ccnet_zoo.data.layout import read_png

    table = json.loads((run32 / "table.json").read_text(encoding="utf-8"))
    assert table["table"] and all(r["frd"] is not None for r in table["table"])
    real = next((run32 / "data" / "test" / "test_B").glob("*.png"))
    synth = next((run32 / "generated").glob("p*/*.png"))
    assert read_png(real).shape == (32, 32) and read_png(synth).shape == (64, 64)
    assert (run32 / "kinetics.png").stat().st_size > 0


def test_table_json_records_the_fingerprint_of_every_stage(run32: Path) -> None:
    fps = json.loads((run32 / "table.json").read_text(encoding="utf-8"))["fingerprints"]
    assert set(fps) == {"data", "train/ae", "train/mean", "train/ldm", "train/controlnet", "generate", "metrics"}
    assert fps["data"]["size"] == 32 and fps["data"]["patients"] == 8 and fps["data"]["code"]
    assert fps["train/ae"]["config"]["train"]["epochs"] == 1 and fps["train/ae"]["config"]["seed"] == 42
    assert fps["generate"]["steps"] == 2 and fps["generate"]["seed"] == 0
    # each stage names the hash of what it was built from
    assert fps["train/ldm"]["upstream"] and fps["generate"]["model"] and fps["metrics"]["generated"]
    assert all(len(v["hash"]) == 16 for v in fps.values())


def test_rerun_with_other_steps_regenerates_but_keeps_training(run32: Path, tmp_path: Path, caplog) -> None:
    out = tmp_path / "run"
    shutil.copytree(run32, out)
    before = _mtimes(out)
    r = _invoke(out, "--size", "32", "--steps", "3")
    assert r.exit_code == 0, r.output
    after = _mtimes(out)
    trained = [k for k in before if k.startswith("runs/")]
    assert trained and all(after[k] == before[k] for k in trained)
    assert after["generated/generated.tsv"] != before["generated/generated.tsv"]
    assert all(after[k] != before[k] for k in before if k.startswith("metrics/"))
    table = json.loads((out / "table.json").read_text(encoding="utf-8"))
    assert table["fingerprints"]["generate"]["steps"] == 3 and table["settings"]["steps"] == 3
    assert any("steps: 2 -> 3" in m for m in caplog.messages)


def test_rerun_with_other_sample_settings_samples_with_them(run32: Path, tmp_path: Path) -> None:
    """The reused ControlNet run stores the sample section it was trained with; the rerun samples with its own."""
    out = tmp_path / "run"
    shutil.copytree(run32, out)
    before = _mtimes(out)
    images = {p.relative_to(out): p.read_bytes() for p in sorted((out / "generated").glob("p*/*.png"))}
    r = _invoke(out, "--size", "32", "--set", "sample.strength=1.0")  # tiny samples from strength 0.25
    assert r.exit_code == 0, r.output
    after = _mtimes(out)
    assert all(after[k] == before[k] for k in before if k.startswith("runs/"))  # training kept
    again = {p.relative_to(out): p.read_bytes() for p in sorted((out / "generated").glob("p*/*.png"))}
    assert again.keys() == images.keys() and any(again[k] != images[k] for k in images)
    table = json.loads((out / "table.json").read_text(encoding="utf-8"))
    assert table["fingerprints"]["generate"]["sample"]["strength"] == 1.0


@pytest.mark.slow
def test_rerun_with_other_epochs_retrains_that_stage_only(run32: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    shutil.copytree(run32, out)
    before = _mtimes(out)
    args = [a if a != "train.controlnet.epochs=1" else "train.controlnet.epochs=2" for a in BASE]
    mp = pytest.MonkeyPatch()
    mp.setenv("CCNET_ZOO_OFFLINE", "1")
    mp.setenv("CCNET_ZOO_CACHE", str(out.parent / "weights-cache"))
    r = CliRunner().invoke(main, [*args, "--size", "32", "--out", str(out)])
    mp.undo()
    assert r.exit_code == 0, r.output
    after = _mtimes(out)
    assert after["runs/ae/DONE.json"] == before["runs/ae/DONE.json"]
    assert after["runs/mean/DONE.json"] == before["runs/mean/DONE.json"]
    assert after["runs/ldm/DONE.json"] == before["runs/ldm/DONE.json"]
    assert after["runs/controlnet/DONE.json"] != before["runs/controlnet/DONE.json"]
    assert after["generated/generated.tsv"] != before["generated/generated.tsv"]
    losses = (out / "runs" / "controlnet" / "losses.csv").read_text(encoding="utf-8").strip().splitlines()
    assert len(losses) == 3  # header + 2 epochs: trained again from scratch, not resumed


def test_phantom_change_redoes_the_data(run32: Path, tmp_path: Path) -> None:
    from ccnet_zoo.reproduce.config import ReproduceConfig
    from ccnet_zoo.reproduce.run import _data
    from ccnet_zoo.reproduce.state import RunState

    out = tmp_path / "run"
    shutil.copytree(run32 / "data", out / "data")
    shutil.copy(run32 / "reproduce.json", out / "reproduce.json")
    same = ReproduceConfig(out=out, patients=8, slices=2, size=32)
    stamp = (out / "data" / "dataset.json").stat().st_mtime_ns
    _data(same, RunState(out), False)
    assert (out / "data" / "dataset.json").stat().st_mtime_ns == stamp  # reused
    root, fp = _data(ReproduceConfig(out=out, patients=8, slices=1, size=32), RunState(out), False)
    assert fp["slices"] == 1
    assert json.loads((root / "dataset.json").read_text(encoding="utf-8"))["config"]["slices"] == 1


def test_killed_data_stage_is_redone_without_any_option(tmp_path: Path, monkeypatch) -> None:
    import ccnet_zoo.data.layout as layout
    from ccnet_zoo.reproduce.config import ReproduceConfig
    from ccnet_zoo.reproduce.run import _data
    from ccnet_zoo.reproduce.state import RunState

    cfg = ReproduceConfig(out=tmp_path / "run", patients=6, slices=1, size=32)
    original, calls = layout.write_png, {"n": 0}

    def dies(path, image):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt  # the job is killed while writing the phantom
        original(path, image)

    with monkeypatch.context() as m:
        m.setattr(layout, "write_png", dies)
        with pytest.raises(KeyboardInterrupt):
            _data(cfg, RunState(cfg.out), False)
    assert (cfg.out / "data").is_dir() and not (cfg.out / "data" / "dataset.json").exists()
    root, _ = _data(cfg, RunState(cfg.out), False)
    assert (root / "dataset.json").is_file()
    assert RunState(cfg.out).stages["data"]["done"]


@pytest.mark.slow
def test_size_128_data_with_the_64_px_model(tmp_path: Path) -> None:
    """The Duke case in small: data larger than the model (512 px data, 224 px model); the kinetics figure and
    the metrics pair images of different sizes."""
    r = _invoke(tmp_path / "run", "--size", "128", "--patients", "6")
    assert r.exit_code == 0, r.output
    table = json.loads((tmp_path / "run" / "table.json").read_text(encoding="utf-8"))
    assert table["fingerprints"]["data"]["size"] == 128 and all(row["mse"] > 0 for row in table["table"])


@pytest.mark.parametrize("name", ["table.md", "kinetics.png", "runs", "generated"])
def test_a_user_file_in_out_is_never_replaced(tmp_path: Path, name: str) -> None:
    out = tmp_path / "run"
    target = out / name
    if "." in name:
        target.parent.mkdir(parents=True)
        target.write_text("mine\n", encoding="utf-8")
    else:
        (target / "keep").mkdir(parents=True)
    r = _invoke(out, "--size", "32")
    assert r.exit_code == 2 and "was not written by ccnet-zoo reproduce" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    if "." in name:
        assert target.read_text(encoding="utf-8") == "mine\n"
    else:
        assert (target / "keep").is_dir()
    assert not (out / "data").exists()  # stopped before any work


def test_other_user_files_in_out_are_left_alone(run32: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    shutil.copytree(run32, out)
    (out / "notes.txt").write_text("mine\n", encoding="utf-8")
    r = _invoke(out, "--size", "32")
    assert r.exit_code == 0, r.output
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine\n"
    state = json.loads((out / "reproduce.json").read_text(encoding="utf-8"))
    assert "notes.txt" not in state["owned"] and "table.md" in state["owned"]


def test_ownership_record_confines_paths(tmp_path: Path) -> None:
    from ccnet_zoo.reproduce.state import OwnershipError, RunState

    st = RunState(tmp_path / "run")
    with pytest.raises(OwnershipError, match="outside"):
        st.claim(tmp_path / "elsewhere.txt")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "reproduce.json").write_text(
        json.dumps({"format": "ccnet-zoo-reproduce/1", "owned": ["../victim", "/etc/passwd", "ok.txt"]}),
        encoding="utf-8",
    )
    assert RunState(tmp_path / "run").owned == {"ok.txt"}  # a crafted record cannot grant other paths


def test_mean_stage_hangs_off_the_data_and_the_ldm_off_both(tmp_path: Path, monkeypatch) -> None:
    """``ldm.target: residual``: the mean stage trains without the autoencoder (a new AE config does not retrain
    it), the LDM and ControlNet get the AE and mean runs, and a new mean config retrains everything after it
    but not the AE. A config without the residual target trains no mean stage. (Training is recorded, not run.)"""
    from ccnet_zoo.models.config import load_config
    from ccnet_zoo.reproduce import run as run_module
    from ccnet_zoo.reproduce.config import ReproduceConfig
    from ccnet_zoo.reproduce.state import RunState
    from ccnet_zoo.train import api

    calls: list[tuple[str, dict]] = []

    def fake(stage, cfg, data, out, **kw):
        calls.append((stage, {k: kw.get(k) for k in ("ae", "ldm", "mean")}))
        Path(out).mkdir(parents=True, exist_ok=True)

    monkeypatch.setattr(api, "train_stage", fake)
    out = tmp_path / "run"
    out.mkdir()
    cfg = ReproduceConfig(out=out)
    data_fp = {"kind": "phantom", "seed": 0}

    def train(overrides: dict) -> list[str]:
        calls.clear()
        state = RunState(out)
        run_module._train(cfg, state, tmp_path, data_fp, False, load_config("tiny", overrides, typed=True))
        return [stage for stage, _ in calls]

    runs = out / "runs"
    assert train({}) == ["ae", "mean", "ldm", "controlnet"]
    links = dict(calls)
    assert links["mean"] == {"ae": None, "ldm": None, "mean": None}
    assert links["ldm"] == {"ae": runs / "ae", "ldm": None, "mean": runs / "mean"}
    assert links["controlnet"] == {"ae": runs / "ae", "ldm": runs / "ldm", "mean": runs / "mean"}
    assert train({}) == []  # nothing changed: every stage reused
    assert train({"train": {"ae": {"epochs": 2}}}) == ["ae", "ldm", "controlnet"]  # the mean is kept
    assert train({"train": {"ae": {"epochs": 2}, "mean": {"epochs": 3}}}) == ["mean", "ldm", "controlnet"]
    paper_like = {"ldm": {"target": "change"}, "train": {"ae": {"epochs": 2}, "mean": {"epochs": 3}}}
    assert train(paper_like) == ["ldm", "controlnet"]  # no mean stage; the AE as before
    assert all(kw["mean"] is None for _, kw in calls)
