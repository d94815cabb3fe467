"""The per-image feature cache: reuse, invalidation and corruption."""

from __future__ import annotations

import pytest

import frd
from frd.cache import FeatureCache


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
    c = FeatureCache(tmp_path)
    assert FeatureCache.key("h1", None, "s") != FeatureCache.key("h2", None, "s")
    assert FeatureCache.key("h1", None, "s") != FeatureCache.key("h1", "m", "s")
    assert c.get(FeatureCache.key("h1", None, "s")) is None


@pytest.mark.parametrize("workers", [1, 2])
def test_pool_and_serial_agree(png_sets, workers):
    r = frd.compute_frd(*png_sets, preset="v0", cache=False, workers=workers)
    assert r.frd == pytest.approx(frd.compute_frd(*png_sets, preset="v0", cache=False, workers=1).frd, rel=0)
