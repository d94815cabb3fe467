"""Dask scale-out: a LocalCluster of 2 workers on 127.0.0.1 gives the single-machine statistics."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import frd
from frd.cli import main
from frd.distributed import compute_stats_dask


@pytest.mark.slow
def test_dask_equals_single_machine(png_sets):
    s = frd.resolve_settings("v1", sqrtm="eigh")
    da, db = compute_stats_dask(list(png_sets), s, n_workers=2, partition_size=4, cache=False)
    la, lb = frd.compute_stats(list(png_sets), s, cache=False)
    for d, local in ((da, la), (db, lb)):
        assert d.n == local.n and d.names == local.names
        np.testing.assert_allclose(d.complete_moments().mean, local.complete_moments().mean, rtol=1e-13)
        np.testing.assert_allclose(
            d.complete_moments().scatter, local.complete_moments().scatter, rtol=1e-11, atol=1e-9
        )
    assert frd.frd_from_stats(da, db, s).frd == pytest.approx(frd.frd_from_stats(la, lb, s).frd, rel=1e-12)


@pytest.mark.slow
def test_cli_dask_scheduler(png_sets):
    args = [*map(str, png_sets), "--preset", "v0", "--sqrtm", "eigh", "-q", "--no-cache"]
    local = CliRunner().invoke(main, args)
    dask = CliRunner().invoke(main, [*args, "--scheduler", "dask", "-w", "2"])
    assert dask.exit_code == 0, dask.output
    assert float(dask.stdout) == pytest.approx(float(local.stdout), rel=1e-12)
