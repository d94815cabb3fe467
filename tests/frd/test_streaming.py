"""Streaming FRD: batches, processes and merges give the result of one batch."""

from __future__ import annotations

import numpy as np
import pytest

import frd

from datagen import tissue


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(0)
    a = (np.stack([tissue(rng, (40, 40)) for _ in range(12)]) * 255).astype(np.uint8)
    b = (np.stack([tissue(rng, (40, 40), smooth=1.0, contrast=0.5) for _ in range(10)]) * 255).astype(np.uint8)
    return a, b


def test_batches_and_merge_equal_one_batch(arrays):
    a, b = arrays
    one = frd.FRD("v0", sqrtm="eigh")
    one.update(a, real=True)
    one.update(b, real=False)
    many = frd.FRD("v0", sqrtm="eigh")
    for chunk in np.array_split(a, 4):
        many.update(chunk, real=True)
    other = frd.FRD("v0", sqrtm="eigh")  # e.g. another process
    for chunk in np.array_split(b, 3):
        other.update(chunk, real=False)
    many.merge(other)
    r1, r2 = one.compute(), many.compute()
    assert many.n == one.n == (12, 10)
    assert r2.frd == pytest.approx(r1.frd, rel=1e-12)
    # scipy's sqrtm of the singular product amplifies round-off; still far below any meaningful change
    s1, s2 = frd.FRD("v0"), frd.FRD("v0")
    s1.update(a, True), s1.update(b, False)
    for chunk in np.array_split(a, 4):
        s2.update(chunk, True)
    s2.update(b, False)
    assert s2.compute().frd == pytest.approx(s1.compute().frd, rel=1e-7)


@pytest.mark.slow
def test_matches_compute_frd_on_files(png_sets):
    m = frd.FRD("v1")
    m.update(png_sets[0], real=True)
    m.update(png_sets[1], real=False)
    assert m.compute().frd == pytest.approx(frd.compute_frd(*png_sets, preset="v1").frd, rel=1e-9)


def test_feature_tables_rows_and_reset(png_sets):
    table_a = frd.extract_features(png_sets[0], preset="v0")
    table_b = frd.extract_features(png_sets[1], preset="v0")
    m = frd.FRD("v0")
    m.update(table_a, real=True)  # a FeatureTable
    m.update(table_b.values, real=False)  # plain rows, accepted once the feature names are known
    assert m.compute().frd == pytest.approx(frd.compute_frd(*png_sets, preset="v0").frd, rel=1e-9)
    with pytest.raises(frd.SettingsError, match="columns"):
        m.update(np.zeros((2, 5)), real=False)
    m.reset()
    assert m.n == (0, 0)
    with pytest.raises(frd.FRDError, match="both"):
        m.compute()


@pytest.mark.slow
def test_torchmetrics_wrapper_equals_streaming(arrays):
    import torch  # the zoo extra brings torch; frd itself never needs it

    from frd.metric_torch import FRDMetric

    torch.set_num_threads(1)
    a, b = arrays
    metric = FRDMetric("v0", sqrtm="eigh")
    metric.update(torch.tensor(a[:6, None], dtype=torch.float32), real=True)
    metric.update(torch.tensor(a[6:, None], dtype=torch.float32), real=True)
    metric.update(torch.tensor(b[:, None], dtype=torch.float32), real=False)
    s = frd.FRD("v0", sqrtm="eigh")
    s.update(a, True)
    s.update(b, False)
    assert float(metric.compute()) == pytest.approx(s.compute().frd, rel=1e-12)
