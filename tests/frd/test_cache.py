"""The per-image feature cache: reuse, invalidation and corruption."""

from __future__ import annotations

import logging
import os

import numpy as np

import frd


def _entries(root):
    return sorted(root.rglob("*.frdc"))


def test_second_run_hits_the_cache_and_gives_the_same_number(png_sets, tmp_path):
    a, b = png_sets
    cache = tmp_path / "c"
    cold = frd.compute_frd(a, b, preset="v0", cache_dir=cache)
    assert cold.timings["images_extracted"] == 21 and len(_entries(cache)) == 21
    warm = frd.compute_frd(a, b, preset="v0", cache_dir=cache)
    assert warm.timings["images_extracted"] == 0 and warm.timings["images_cached"] == 21
    assert warm.frd == cold.frd


def test_other_settings_do_not_reuse_entries(png_sets, tmp_path):
    cache = tmp_path / "c"
    frd.compute_frd(*png_sets, preset="v0", cache_dir=cache)
    r = frd.compute_frd(*png_sets, preset="v0", bin_width=10, cache_dir=cache)
    assert r.timings["images_extracted"] == 21


def test_corrupt_entry_is_recomputed_not_trusted(png_sets, tmp_path):
    cache = tmp_path / "c"
    cold = frd.compute_frd(*png_sets, preset="v0", cache_dir=cache)
    victim = _entries(cache)[0]
    blob = bytearray(victim.read_bytes())
    blob[-3] ^= 0xFF  # flip bits in a feature value
    victim.write_bytes(bytes(blob))
    _entries(cache)[1].write_bytes(b"")  # and truncate another
    again = frd.compute_frd(*png_sets, preset="v0", cache_dir=cache)
    assert again.timings["images_extracted"] == 2
    assert again.frd == cold.frd


def test_no_cache_writes_nothing(png_sets, tmp_path):
    cache = tmp_path / "c"
    frd.compute_frd(*png_sets, preset="v0", cache=False, cache_dir=cache)
    assert not cache.exists()


def test_changed_file_content_misses(tmp_path):
    """The key is the content: a changed pixel misses even with the old size and modification time."""
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for i in range(4):
        np.save(folder / f"x{i}.npy", rng.uniform(0, 255, (32, 32)).astype(np.float32))
    cache = tmp_path / "c"
    cold = frd.extract_features(folder, "v0", cache_dir=cache)
    victim = folder / "x2.npy"
    st = victim.stat()
    arr = np.load(victim)
    arr[10:20, 10:20] = 0.0
    np.save(victim, arr)
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert victim.stat().st_size == st.st_size and victim.stat().st_mtime_ns == st.st_mtime_ns
    timings = {}
    s = frd.resolve_settings("v0")
    [warm] = frd.compute_stats([folder], s, cache_dir=cache, timings=timings)
    assert timings["images_extracted"] == 1 and timings["images_cached"] == 3
    assert not np.array_equal(warm.rows[2], cold.values[2])
    np.testing.assert_array_equal(np.delete(warm.rows, 2, axis=0), np.delete(cold.values, 2, axis=0))


def test_entry_copied_over_another_is_detected_and_recomputed(png_sets, tmp_path, caplog):
    """Each entry's checksum covers its key, so an intact entry in the wrong file is not trusted."""
    a, b = png_sets
    cache = tmp_path / "c"
    cold = frd.compute_frd(a, b, preset="v0", cache_dir=cache)
    first, second = _entries(cache)[:2]
    second.write_bytes(first.read_bytes())
    with caplog.at_level(logging.WARNING, logger="frd"):
        again = frd.compute_frd(a, b, preset="v0", cache_dir=cache)
    assert again.timings["images_extracted"] == 1 and again.frd == cold.frd
    assert any("belongs to another image" in r.getMessage() for r in caplog.records)
    assert second.read_bytes() != first.read_bytes()  # rewritten with its own features


def test_pool_and_serial_agree(png_sets, monkeypatch):
    """Two worker processes give the serial run's number bit for bit, and really run as a pool."""
    from frd import extract

    pools = []

    class Recording(extract.ProcessPoolExecutor):
        def __init__(self, max_workers, **kwargs):
            pools.append(max_workers)
            super().__init__(max_workers, **kwargs)

    monkeypatch.setattr(extract, "ProcessPoolExecutor", Recording)
    serial = frd.compute_frd(*png_sets, preset="v0", cache=False, workers=1)
    assert pools == []
    pooled = frd.compute_frd(*png_sets, preset="v0", cache=False, workers=2)
    assert pools == [2]
    assert pooled.frd == serial.frd and pooled.n == serial.n == (12, 9)
