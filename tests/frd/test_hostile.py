"""Hostile input, tried as an adversarial user would: each case fails clearly, warns, or is handled."""

from __future__ import annotations

import csv
import json
import logging
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from click.testing import CliRunner

import frd
from frd import cache as cache_module
from frd.cli import main
from frd.io import discover

from datagen import write_png_set


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_exit_2(r, *needles):
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    for needle in needles:
        assert needle in r.stderr, r.stderr
    assert r.stdout == ""


def _write_masks(folder: Path, images: Path, shape, box) -> None:
    folder.mkdir()
    for f in sorted(images.glob("*.png")):
        m = np.zeros(shape, np.uint8)
        m[box] = 1
        sitk.WriteImage(sitk.GetImageFromArray(m), str(folder / f.name))


# ------------------------------------------------------------------ masks


def test_ood_uses_masks(png_sets, tmp_path):
    a, b = png_sets
    _write_masks(tmp_path / "ma", a, (64, 64), np.s_[8:40, 8:40])
    _write_masks(tmp_path / "mb", b, (64, 64), np.s_[8:40, 8:40])
    scores = {}
    for name, extra in (("plain", []), ("masked", ["--masks", tmp_path / "ma", tmp_path / "mb"])):
        r = run("ood", a, b, "--out", tmp_path / f"{name}.csv", "--preset", "v0", "--no-cache", "-q", *extra)
        assert r.exit_code == 0, r.output
        with open(tmp_path / f"{name}.csv", encoding="utf-8") as fh:
            scores[name] = [float(row["ood_score"]) for row in csv.DictReader(fh)]
    assert scores["plain"] != pytest.approx(scores["masked"], rel=1e-3)
    # a missing mask is an error, so the masks are really read
    (tmp_path / "mb" / "img_000.png").unlink()
    r = run("ood", a, b, "--out", tmp_path / "x.csv", "--preset", "v0", "--masks", tmp_path / "ma", tmp_path / "mb")
    one_line_exit_2(r, "no mask in set B")


@pytest.fixture(scope="module")
def mask_sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("masks")
    write_png_set(root / "img", 4, seed=7)
    _write_masks(root / "small", root / "img", (32, 32), np.s_[:, :])  # another size than the 64x64 images
    _write_masks(root / "big", root / "img", (64, 64), np.s_[:32, :32])  # what resampling the small one gives
    return root


def test_mask_of_another_size_does_what_the_reference_does_and_says_so(mask_sets, caplog):
    img = mask_sets / "img"
    with caplog.at_level(logging.WARNING, logger="frd"):
        small = frd.extract_features(img, "v0", masks=mask_sets / "small", cache=False)
    big = frd.extract_features(img, "v0", masks=mask_sets / "big", cache=False)
    # pyradiomics' correctMask (v0, ccnet) puts the 32x32 mask on the image grid: the top-left quadrant
    np.testing.assert_array_equal(small.values, big.values)
    warned = [r.getMessage() for r in caplog.records if "has size (32, 32)" in r.getMessage()]
    assert len(warned) == 4 and "resamples the mask onto the image grid" in warned[0]
    assert small.notes == warned
    # the JSON report carries them too
    r = frd.compute_frd(img, img, "v0", masks=(mask_sets / "small", mask_sets / "big"), cache=False)
    assert [w for w in r.warnings if "has size (32, 32)" in w] == warned
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="frd"):
        frd.extract_features(img, "ccnet", masks=mask_sets / "small", cache=False)
    assert any("stretched onto the image" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
@pytest.mark.oracle
def test_mask_of_another_size_matches_the_reference(mask_sets, png_sets, tmp_path):
    """frd-score 1.0.1 itself on 64x64 images with 32x32 masks against another set with full masks."""
    import frd_score.frd as frd_score  # the [test] extra pins frd-score 1.0.1

    img, other = mask_sets / "img", png_sets[1]
    _write_masks(tmp_path / "full", other, (64, 64), np.s_[:, :])
    ref = frd_score.compute_frd(
        [str(img), str(other)],
        frd_version="v0",
        paths_masks=[str(mask_sets / "small"), str(tmp_path / "full")],
        num_workers=1,
    )
    ours = frd.compute_frd(img, other, "v0", masks=(mask_sets / "small", tmp_path / "full"), cache=False)
    assert ours.frd == pytest.approx(ref, rel=1e-6)


# ------------------------------------------------------------------ pixels


def test_nan_pixels_warn_with_file_and_count_also_from_the_cache(tmp_path, caplog):
    images, masks = tmp_path / "nan", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        arr = rng.uniform(0, 255, (32, 32)).astype(np.float32)
        if i == 1:
            arr[:2, :3] = np.nan
        np.save(images / f"x{i}.npy", arr)
        roi = np.ones((32, 32), np.uint8)
        roi[:4] = 0  # the NaN pixels lie outside the ROI, so v0 can still extract
        np.save(masks / f"x{i}.npy", roi)
    for attempt in range(2):  # the second run reads the features from the cache and still warns
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="frd"):
            frd.extract_features(images, "v0", masks=masks, cache_dir=tmp_path / "cache", workers=2)
        msgs = [r.getMessage() for r in caplog.records if "NaN pixel" in r.getMessage()]
        assert msgs == [f"{images / 'x1.npy'}: 6 NaN pixel(s) of 1024; radiomics features of it may be NaN"], attempt
    # NIfTI too
    vol = rng.uniform(0, 255, (6, 16, 16)).astype(np.float32)
    vol[0, 0, :4] = np.nan
    sitk.WriteImage(sitk.GetImageFromArray(vol), str(tmp_path / "v.nii.gz"))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="frd"):
        frd.extract_features([tmp_path / "v.nii.gz"], "v0", cache=False)
    assert any("v.nii.gz: 4 NaN/Inf voxel(s) of 1536 in the file" in r.getMessage() for r in caplog.records)
    # where the NaN pixels break the extraction (here: inside the ROI), the error names them
    with pytest.raises(frd.ExtractionError, match=r"x1\.npy: 6 NaN pixel\(s\) of 1024"):
        frd.extract_features([images / "x1.npy"], "v0", cache=False)


def test_unreadable_image_reasons_name_the_cause(tmp_path, png_sets):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    (bad / "b.nii.gz").write_bytes(b"\x1f\x8b not gzip")
    (bad / "c.png").write_bytes(b"")
    (bad / "d.nrrd").write_bytes(b"NOT A NRRD HEADER\n" * 4)
    (bad / "e.png").write_bytes(b"GIF89a" + b"\0" * 40)
    causes = {
        "a.png": "PNG critical error",
        "b.nii.gz": "not recognized as a NIFTI file",
        "c.png": "the file is empty (0 bytes)",
        "d.nrrd": 'couldn\'t parse "NOT A NRRD HEADER" as magic',
        "e.png": "File is not png type",
    }
    for name, cause in causes.items():
        with pytest.raises(frd.InvalidImageError) as info:
            frd.extract_features([bad / name], "v0", cache=False)
        msg = str(info.value)
        assert name in msg and cause in msg, msg
        assert ".cxx" not in msg and "sitk::ERROR" not in msg and "0x" not in msg, msg


def test_itk_errors_inside_the_extraction_give_their_cause():
    from frd.io import unreadable_reason

    itk = RuntimeError(
        "Exception thrown in SimpleITK LabelStatisticsImageFilter_Execute: /src/sitkImageFilter.cxx:42:\n"
        "sitk::ERROR: Inputs do not occupy the same physical space!"
    )
    assert unreadable_reason(itk) == "Inputs do not occupy the same physical space!"
    assert unreadable_reason(ValueError("arange: cannot compute length")) == "arange: cannot compute length"
    assert unreadable_reason(RuntimeError("")) == "RuntimeError"


@pytest.mark.slow
def test_v1_on_a_constant_image_says_what_is_wrong(tmp_path, png_sets):
    const = tmp_path / "const"
    write_png_set(const, 3, seed=3)
    sitk.WriteImage(sitk.GetImageFromArray(np.full((64, 64), 7, np.uint8)), str(const / "flat.png"))
    r = run(const, png_sets[1], "--no-cache", "-q")
    one_line_exit_2(r, "flat.png is constant (every pixel is 7)", "z-scores each image")
    r = run(const, png_sets[1], "--no-cache", "-q", "--skip-invalid", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["n"] == [3, 9]


# ------------------------------------------------------------------ files the user hands in


def _malformed_stats(tmp_path: Path) -> dict[str, Path]:
    files = {}
    files["not a zip"] = tmp_path / "junk.npz"
    files["not a zip"].write_bytes(b"PK\x03\x04 definitely not a zip")
    files["single array"] = tmp_path / "single.npz"
    with open(files["single array"], "wb") as fh:
        np.save(fh, np.zeros(3))
    good = frd.FeatureStats.from_features(
        np.random.default_rng(0).normal(size=(4, 2)), ["a", "b"], frd.resolve_settings("v0")
    )
    files["truncated"] = tmp_path / "trunc.npz"
    files["truncated"].write_bytes(good.save(tmp_path / "good.npz").read_bytes()[:300])
    meta = {"format": "frd-stats/1", "names": ["a", "b"], "n_complete": 3, "stats_hash": "x"}
    files["missing keys"] = tmp_path / "nokeys.npz"
    np.savez(files["missing keys"], meta=np.array(json.dumps(meta)))
    files["wrong shapes"] = tmp_path / "shapes.npz"
    zeros = {k: np.zeros(3) for k in ("shift", "sum", "min", "max", "nan_count")}
    np.savez(
        files["wrong shapes"],
        meta=np.array(json.dumps(meta)),
        sum_outer=np.zeros((3, 3)),
        nan_rows=np.zeros((0, 3)),
        **zeros,
    )
    files["bad meta"] = tmp_path / "badmeta.npz"
    np.savez(files["bad meta"], meta=np.array("{not json"))
    return files


def test_malformed_statistics_files_are_one_line_exit_2(tmp_path, png_sets):
    for kind, path in _malformed_stats(tmp_path).items():
        r = run(path, png_sets[1], "--preset", "v0", "-q")
        one_line_exit_2(r, path.name)
        assert "statistics" in r.stderr, (kind, r.stderr)


def test_binary_params_and_list_files_are_one_line_exit_2(tmp_path, png_sets):
    for name in ("params.yaml", "params.json", "list.txt"):
        (tmp_path / name).write_bytes(bytes(range(256)) * 4)
    for name in ("params.yaml", "params.json"):
        one_line_exit_2(run(*png_sets, "--params", tmp_path / name), name, "not a text file")
    one_line_exit_2(run(tmp_path / "list.txt", png_sets[1]), "list.txt", "not a text list")
    (tmp_path / "broken.yaml").write_text("setting: [unclosed\n", encoding="utf-8")
    one_line_exit_2(run(*png_sets, "--params", tmp_path / "broken.yaml"), "cannot parse parameter file")


@pytest.mark.slow
def test_unreachable_dask_scheduler_is_one_line_exit_2_within_the_bound(png_sets, monkeypatch):
    from frd import distributed

    assert distributed.CONNECT_TIMEOUT_S <= 10
    monkeypatch.setattr(distributed, "CONNECT_TIMEOUT_S", 1.0)
    t0 = time.monotonic()
    r = run(*png_sets, "--preset", "v0", "--scheduler", "dask", "--address", "tcp://127.0.0.1:9")
    assert time.monotonic() - t0 < 8
    one_line_exit_2(r, "tcp://127.0.0.1:9", "Dask scheduler")


def test_address_without_dask_is_an_error(png_sets):
    one_line_exit_2(run(*png_sets, "--address", "tcp://127.0.0.1:8786"), "--scheduler dask")


def test_fifo_and_device_files_in_a_list_are_skipped_with_a_reason(png_sets, tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    images = sorted(str(p) for p in png_sets[0].glob("*.png"))
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join([str(fifo), "/dev/null", "/dev/zero", *images]) + "\n", encoding="utf-8")
    folder = tmp_path / "folder"
    folder.mkdir()
    os.mkfifo(folder / "pipe.png")
    for p in images[:3]:
        os.symlink(p, folder / Path(p).name)
    cmd = [sys.executable, "-m", "frd", str(listing), str(folder), "--preset", "v0", "--no-cache"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONUTF8": "1"})
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) >= 0
    for name in ("pipe.png: a FIFO", "/dev/null: a device file", "/dev/zero: a device file"):
        assert name in done.stderr, done.stderr
    assert str(folder / "pipe.png") + ": a FIFO" in done.stderr
    refs = discover([fifo, *images])
    assert [r.path for r in refs] == images
    r = run(fifo, png_sets[1], "--preset", "v0")  # a FIFO given as a set: one line, never a hang
    one_line_exit_2(r, "pipe.png: a FIFO")


def test_recursive_follows_symlinked_folders_without_looping(tmp_path, caplog):
    root = tmp_path / "root"
    write_png_set(root / "own", 2, seed=1)
    write_png_set(tmp_path / "elsewhere" / "deep", 3, seed=2)
    os.symlink(tmp_path / "elsewhere", root / "linked")
    os.symlink(root, root / "own" / "back_to_root")  # a loop
    os.symlink(tmp_path / "elsewhere", root / "linked_again")  # the same folder twice
    with caplog.at_level(logging.WARNING, logger="frd"):
        refs = discover(root, recursive=True)
    keys = [r.key for r in refs]
    assert keys == [
        "linked/deep/img_000",
        "linked/deep/img_001",
        "linked/deep/img_002",
        "own/img_000",
        "own/img_001",
    ]
    assert any("back_to_root" in r.getMessage() for r in caplog.records)
    assert any("linked_again" in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------------ settings and numbers


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "0", "-1"])
def test_bin_width_must_be_finite_and_positive(png_sets, value):
    one_line_exit_2(run(*png_sets, "--preset", "v0", "--bin-width", value), "bin_width must be a finite number > 0")
    with pytest.raises(frd.SettingsError, match="finite"):
        frd.resolve_settings("v0", bin_width=float(value))


@pytest.mark.parametrize("preset", ["v0", "ccnet"])
def test_identical_sets_report_zero_and_keep_d2_raw(png_sets, preset):
    r = frd.compute_frd(png_sets[0], png_sets[0], preset, sqrtm="scipy")
    assert r.d2_raw < 0  # round-off of scipy's sqrtm on a singular product (~ -1e-4 here)
    assert r.frd == 0.0 and r.d2 == 0.0
    d = json.loads(r.to_json())
    assert d["frd"] == 0.0 and d["d2_raw"] == r.d2_raw
    assert any("negative" in w for w in r.warnings)


# ------------------------------------------------------------------ outputs


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_output_files_honour_the_umask(png_sets, tmp_path, umask):
    a, b = png_sets
    old = os.umask(umask)
    try:
        r = run(a, b, "--preset", "v0", "-q", "--save-stats", tmp_path / "a.npz", "--save-features", tmp_path / "f.csv")
        assert r.exit_code == 0, r.output
        r = run("ood", a, b, "--preset", "v0", "-q", "--out", tmp_path / "o.csv")
        assert r.exit_code == 0, r.output
    finally:
        os.umask(old)
    for name in ("a.npz", "f.csv", "o.csv"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask, name


def test_unwritable_cache_warns_once_and_leaves_no_temp_files(png_sets, tmp_path, caplog, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="frd"):
        r = frd.compute_frd(*png_sets, "v0", cache_dir=blocker / "cache")
    assert r.n == (12, 9)
    assert len([x for x in caplog.records if "feature cache" in x.getMessage()]) == 1

    # a write that fails half-way (disk full, read-only remount) removes its temporary file
    def full(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache_module.os, "replace", full)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="frd"):
        frd.compute_frd(*png_sets, "v0", cache_dir=tmp_path / "c")
    assert len([x for x in caplog.records if "No space left" in x.getMessage()]) == 1
    assert [p for p in (tmp_path / "c").rglob("*") if p.is_file()] == []


def test_output_clashes_and_bad_extensions_are_caught_before_extraction(png_sets, tmp_path):
    a, b = png_sets
    cache = tmp_path / "cache"  # stays absent: nothing was extracted
    (tmp_path / "taken.csv").write_text("x", encoding="utf-8")
    (tmp_path / "outfile").write_text("x", encoding="utf-8")
    cases = [
        (["--save-stats", tmp_path / "s.npz", "--save-stats", tmp_path / "s"], "same file"),
        (["--save-features", tmp_path / "f.txt"], "must end with .csv or .parquet"),
        (["--save-features", tmp_path / "taken.csv"], "exists"),
        (["--save-stats", tmp_path / "x.npz", "--save-features", tmp_path / "x.npz"], "must end with .csv"),
    ]
    for extra, needle in cases:
        one_line_exit_2(run(a, b, "--preset", "v0", "--cache-dir", cache, *extra), needle)
    one_line_exit_2(run("ood", a, b, "--out", tmp_path / "o.txt", "--cache-dir", cache), "must end with .csv")
    one_line_exit_2(run("ood", a, b, "--out", tmp_path / "taken.csv", "--cache-dir", cache), "exists")
    one_line_exit_2(run("interpret", a, b, "--out", tmp_path / "outfile", "--cache-dir", cache), "is a file")
    assert not cache.exists()


# ------------------------------------------------------------------ signals


@pytest.fixture(scope="module")
def long_sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("long")
    write_png_set(root / "a", 60, seed=1, size=160)
    write_png_set(root / "b", 60, seed=2, size=160)
    return root / "a", root / "b"


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process from /proc, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            st = _proc_stat(int(entry.name))
            if st is not None and st[1] == pid:
                out.append(int(entry.name))
    return out


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads processes from /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_killing_frd_leaves_no_worker_processes(long_sets, sig):
    """SIGTERM and Ctrl-C stop the pool on the way out; after SIGKILL the kernel ends the workers."""
    cmd = [sys.executable, "-m", "frd", *map(str, long_sets), "--no-cache", "-w", "2", "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 2:
        workers = _children(proc.pid)
        time.sleep(0.1)
    assert len(workers) >= 2, "the pool never started"
    time.sleep(0.5)  # let the workers get busy inside pyradiomics
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == (143 if sig == signal.SIGTERM else 130), err
        assert err.strip().splitlines()[-1] in ("frd: terminated", "frd: interrupted"), err
    deadline = time.monotonic() + 10
    left = workers
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = [w for w in workers if (st := _proc_stat(w)) is not None and st[0] != "Z"]  # zombies have ended
    assert left == [], f"workers still running after {sig.name}: {left}"
