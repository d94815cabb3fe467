"""Images in memory (numpy, torch) and the data_range contract: the FRD of the PNGs they would be saved as."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from PIL import Image

import frd
from frd.arrays import to_png_grid

from datagen import tissue


@pytest.fixture(scope="module")
def model_outputs():
    """Two sets as a generator would return them: float32 in [-1, 1], a few values beyond it."""
    rng = np.random.default_rng(5)
    a = np.stack([tissue(rng, (40, 40)) for _ in range(10)]) * 2 - 1
    b = np.stack([tissue(rng, (40, 40), smooth=1.0, contrast=0.5) for _ in range(8)]) * 2.2 - 1.1
    return a.astype(np.float32), b.astype(np.float32)


def _save_pngs(batch: np.ndarray, folder, lo: float, hi: float) -> None:
    """What a training script does: scale to 0-255, round half up, clip, save 8-bit PNGs with PIL."""
    folder.mkdir()
    for i, x in enumerate(batch):
        q = np.clip(np.floor((x.astype(np.float64) - lo) / (hi - lo) * 255 + 0.5), 0, 255).astype(np.uint8)
        Image.fromarray(q).save(folder / f"{i:03d}.png")


@pytest.mark.parametrize("preset", ["v0", pytest.param("v1", marks=pytest.mark.slow)])
def test_data_range_gives_the_frd_of_the_saved_pngs(model_outputs, tmp_path, preset):
    a, b = model_outputs
    _save_pngs(a, tmp_path / "a", -1, 1)
    _save_pngs(b, tmp_path / "b", -1, 1)
    on_files = frd.compute_frd(tmp_path / "a", tmp_path / "b", preset, cache=False)
    in_memory = frd.compute_frd(a, b, preset, data_range=(-1, 1), cache=False)
    assert in_memory.frd == pytest.approx(on_files.frd, rel=1e-6)
    assert in_memory.n == on_files.n == (10, 8)


def test_one_picture_one_number_whatever_the_intensity_convention(model_outputs):
    a, b = model_outputs
    a8, b8 = to_png_grid(a, (-1, 1)), to_png_grid(b, (-1, 1))
    as_bytes = frd.compute_frd(a8, b8, "v0", cache=False).frd
    as_unit = frd.compute_frd(a8 / 255.0, b8 / 255.0, "v0", data_range=(0, 1), cache=False).frd
    as_sym = frd.compute_frd(a8 / 127.5 - 1, b8 / 127.5 - 1, "v0", data_range=(-1, 1), cache=False).frd
    assert as_unit == as_bytes and as_sym == as_bytes
    # and without data_range the [0, 1] floats are a different (and warned-about) number
    assert frd.compute_frd(a8 / 255.0, b8 / 255.0, "v0", cache=False).frd != pytest.approx(as_bytes, rel=1e-3)


def test_extract_features_takes_arrays_like_the_saved_pngs(model_outputs, tmp_path):
    a, _ = model_outputs
    _save_pngs(a, tmp_path / "a", -1, 1)
    on_files = frd.extract_features(tmp_path / "a", "v0", cache=False)
    in_memory = frd.extract_features(a, "v0", data_range=(-1, 1), cache=False)
    np.testing.assert_array_equal(in_memory.values, on_files.values)
    assert in_memory.names == on_files.names and in_memory.paths[0] == "array[0]"


def test_png_grid_rounds_half_up_and_clips():
    x = np.array([-2.0, -1.0, -0.5, 0.0, 1 / 255, 0.5, 1.0, 3.0, np.inf, -np.inf])
    assert to_png_grid(x, (-1, 1)).tolist() == [0, 0, 64, 128, 128, 191, 255, 255, 255, 0]
    assert to_png_grid(np.array([0.5 / 255, 1.5 / 255]), (0, 1)).tolist() == [1, 2]
    with pytest.raises(frd.InvalidImageError, match="1 NaN"):
        to_png_grid(np.array([0.0, np.nan]), (0, 1))


def test_float_arrays_without_data_range_warn_once_naming_the_range(model_outputs, caplog):
    a, b = model_outputs
    with caplog.at_level(logging.WARNING, logger="frd"):
        r = frd.compute_frd(a, b, "v0", cache=False)
    lo, hi = float(min(a.min(), b.min())), float(max(a.max(), b.max()))
    msgs = [rec.getMessage() for rec in caplog.records if "data_range" in rec.getMessage()]
    assert len(msgs) == 1
    assert f"[{lo:.6g}, {hi:.6g}]" in msgs[0]
    assert msgs[0] in r.warnings
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="frd"):
        frd.compute_frd(to_png_grid(a, (-1, 1)), to_png_grid(b, (-1, 1)), "v0", cache=False)
        frd.compute_frd(a, b, "v0", data_range=(-1, 1), cache=False)
    assert not [rec for rec in caplog.records if "data_range" in rec.getMessage()]


@pytest.mark.slow
def test_lists_of_arrays_and_tensors_equal_the_batch(model_outputs):
    import torch

    a, b = model_outputs
    batch = frd.compute_frd(a, b, "v0", data_range=(-1, 1), cache=False).frd
    as_list = frd.compute_frd(list(a), list(b), "v0", data_range=(-1, 1), cache=False).frd
    as_tensors = frd.compute_frd(
        torch.from_numpy(a)[:, None], torch.from_numpy(b).to(torch.float16), "v0", data_range=(-1, 1), cache=False
    ).frd
    assert as_list == batch
    # float16 moves a few values across a rounding boundary: close, not equal
    assert as_tensors == pytest.approx(batch, rel=0.05)
    exact = frd.compute_frd(torch.from_numpy(a)[:, None], torch.from_numpy(b), "v0", data_range=(-1, 1), cache=False)
    assert exact.frd == batch


def test_rgb_arrays_equal_rgb_pngs(tmp_path):
    rng = np.random.default_rng(8)
    sets = [np.stack([np.stack([tissue(rng, (32, 32)) for _ in range(3)], -1) for _ in range(6)]) for _ in range(2)]
    for name, s in zip("ab", sets, strict=True):
        (tmp_path / name).mkdir()
        for i, x in enumerate(s):
            Image.fromarray(to_png_grid(x, (0, 1)), "RGB").save(tmp_path / name / f"{i}.png")
    on_files = frd.compute_frd(tmp_path / "a", tmp_path / "b", "v0", cache=False).frd
    assert frd.compute_frd(*sets, "v0", data_range=(0, 1), cache=False).frd == pytest.approx(on_files, rel=1e-6)


def test_bad_data_range_and_files_with_data_range_are_errors(model_outputs, png_sets):
    a, b = model_outputs
    for bad in [(1, 1), (0, float("nan")), (2, 1), "01", (0,)]:
        with pytest.raises(frd.SettingsError, match="data_range"):
            frd.compute_frd(a, b, "v0", data_range=bad)
    with pytest.raises(frd.SettingsError, match="files are read as stored"):
        frd.compute_frd(*png_sets, "v0", data_range=(0, 255))
    with pytest.raises(frd.InvalidImageError, match="NaN"):
        frd.compute_frd(np.where(a > 0.9, np.nan, a), b, "v0", data_range=(-1, 1))


def test_streaming_update_follows_data_range_and_warns_once(model_outputs, caplog):
    a, b = model_outputs
    # keep_rows: the stream replays the reference arithmetic, as compute_frd does (float64 sums differ ~1e-9).
    m = frd.FRD("v0", data_range=(-1, 1), keep_rows=True)
    for chunk in np.array_split(a, 3):
        m.update(chunk, real=True)
    m.update(b, real=False)
    assert m.compute().frd == pytest.approx(frd.compute_frd(a, b, "v0", data_range=(-1, 1)).frd, rel=1e-9)
    raw = frd.FRD("v0")
    with caplog.at_level(logging.WARNING, logger="frd"):
        for chunk in np.array_split(a, 3):
            raw.update(chunk, real=True)
        raw.update(b, real=False)
    assert len([r for r in caplog.records if "data_range" in r.getMessage()]) == 1


def test_torch_metric_data_range_and_reset_real_features(model_outputs, monkeypatch):
    import torch

    import frd.metric_torch as mt

    torch.set_num_threads(1)
    a, b = model_outputs
    ta, tb = torch.from_numpy(a)[:, None], torch.from_numpy(b)[:, None]
    expected = frd.compute_frd(a, b, "v0", data_range=(-1, 1)).frd

    extracted = []
    real_extract = mt.extract_arrays

    def counting(images, *args, **kwargs):
        extracted.append(len(images.refs))
        return real_extract(images, *args, **kwargs)

    monkeypatch.setattr(mt, "extract_arrays", counting)
    metric = mt.FRDMetric("v0", data_range=(-1, 1), reset_real_features=False)
    for _epoch in range(3):  # a validation loop feeds the same real images every epoch
        metric.update(ta[:5], real=True)
        metric.update(ta[5:], real=True)
        metric.update(tb, real=False)
        assert float(metric.compute()) == pytest.approx(expected, rel=1e-9)
        metric.reset()
    # the real set was extracted in the first epoch only; the fake set every epoch
    assert extracted == [5, 5, 8, 8, 8]
    assert torch.cat(metric.real_features).shape[0] == 10 and len(metric.fake_features) == 0

    extracted.clear()
    plain = mt.FRDMetric("v0", data_range=(-1, 1))  # torchmetrics' default: reset forgets both sets
    for _epoch in range(2):
        plain.update(ta, real=True)
        plain.update(tb, real=False)
        assert float(plain.compute()) == pytest.approx(expected, rel=1e-9)
        plain.reset()
    assert extracted == [10, 8, 10, 8] and len(plain.real_features) == 0


def test_torch_metric_warns_once_for_float_batches_without_data_range(model_outputs, caplog):
    import torch

    from frd.metric_torch import FRDMetric

    a, _ = model_outputs
    metric = FRDMetric("v0")
    with caplog.at_level(logging.WARNING, logger="frd"):
        metric.update(torch.from_numpy(a[:4])[:, None], real=True)
        metric.update(torch.from_numpy(a[4:])[:, None], real=False)
    msgs = [r.getMessage() for r in caplog.records if "without data_range" in r.getMessage()]
    assert len(msgs) == 1 and f"[{float(a[:4].min()):.6g}, " in msgs[0]
