"""LPIPS math on the real torchmetrics v0.1 linear weights and a random AlexNet in torchvision's key layout."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from ccnet_zoo.metrics import MetricsError, compute_metrics, report_table
from ccnet_zoo.metrics.lpips import LPIPS, linear_weights_path, load_lpips, lpips_pairs


def _torchvision_alexnet_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A random state dict with torchvision AlexNet's keys and shapes (features.* and classifier.*)."""
    g = torch.Generator().manual_seed(seed)
    shapes = {
        "features.0": (64, 3, 11, 11),
        "features.3": (192, 64, 5, 5),
        "features.6": (384, 192, 3, 3),
        "features.8": (256, 384, 3, 3),
        "features.10": (256, 256, 3, 3),
        "classifier.1": (4096, 9216),
        "classifier.4": (4096, 4096),
        "classifier.6": (1000, 4096),
    }
    sd = {}
    for k, shape in shapes.items():
        fan_in = int(torch.tensor(shape[1:]).prod())
        sd[f"{k}.weight"] = torch.randn(shape, generator=g) / fan_in**0.5
        sd[f"{k}.bias"] = torch.randn(shape[0], generator=g) * 0.01
    return sd


@pytest.fixture
def alexnet_file(tmp_path: Path) -> Path:
    path = tmp_path / "alexnet-random.pth"
    torch.save(_torchvision_alexnet_state(), path)
    return path


def _reference(sd: dict[str, torch.Tensor], a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """An independent LPIPS from torchmetrics' own building blocks over a torchvision-shaped AlexNet slice list."""
    from torchmetrics.functional.image.lpips import NetLinLayer, ScalingLayer, _normalize_tensor, _spatial_average

    convs = {
        0: (3, 64, 11, 4, 2),
        3: (64, 192, 5, 1, 2),
        6: (192, 384, 3, 1, 1),
        8: (384, 256, 3, 1, 1),
        10: (256, 256, 3, 1, 1),
    }
    layers: list[nn.Module] = []
    for i in range(12):
        if i in convs:
            cin, cout, k, s, p = convs[i]
            conv = nn.Conv2d(cin, cout, k, stride=s, padding=p)
            conv.weight.data, conv.bias.data = sd[f"features.{i}.weight"], sd[f"features.{i}.bias"]
            layers.append(conv)
        else:
            layers.append(nn.MaxPool2d(3, 2) if i in (2, 5) else nn.ReLU())
    slices = [nn.Sequential(*layers[lo:hi]) for lo, hi in ((0, 2), (2, 5), (5, 8), (8, 10), (10, 12))]
    lin_sd = torch.load(linear_weights_path(), map_location="cpu", weights_only=True)
    lins = []
    for k, c in enumerate((64, 192, 384, 256, 256)):
        lin = NetLinLayer(c, use_dropout=True).eval()
        lin.model[1].weight.data = lin_sd[f"lin{k}.model.1.weight"]
        lins.append(lin)
    scale = ScalingLayer()
    xa, xb = scale(a), scale(b)
    total = torch.zeros(a.shape[0], 1, 1, 1)
    for sl, lin in zip(slices, lins, strict=True):
        xa, xb = sl(xa), sl(xb)
        total = total + _spatial_average(lin((_normalize_tensor(xa) - _normalize_tensor(xb)) ** 2), keep_dim=True)
    return total.flatten()


def test_lpips_matches_torchmetrics_building_blocks(alexnet_file: Path) -> None:
    model = load_lpips(alexnet_file)
    g = torch.Generator().manual_seed(1)
    a = torch.rand(3, 3, 64, 64, generator=g) * 2 - 1
    b = (a + 0.3 * torch.randn(3, 3, 64, 64, generator=g)).clamp(-1, 1)
    with torch.no_grad():
        got = model(a, b)
        ref = _reference(_torchvision_alexnet_state(), a, b)
    assert got.shape == (3,) and torch.all(got > 0)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        assert model(a, a).abs().max() < 1e-6


@pytest.mark.slow
def test_loading_rejects_wrong_files(tmp_path: Path, alexnet_file: Path) -> None:
    sd = _torchvision_alexnet_state()
    del sd["features.8.weight"]
    torch.save(sd, tmp_path / "broken.pth")
    with pytest.raises(MetricsError, match="not a torchvision AlexNet"):
        load_lpips(tmp_path / "broken.pth")
    torch.save({"anything": nn.Conv2d(1, 1, 1)}, tmp_path / "pickled-module.pth")  # needs full unpickling
    with pytest.raises(MetricsError, match="weights-only"):
        load_lpips(tmp_path / "pickled-module.pth")
    torch.save({"lin0.model.1.weight": torch.zeros(1, 3, 1, 1)}, tmp_path / "badlin.pth")
    with pytest.raises(MetricsError, match="linear layers"):
        load_lpips(alexnet_file, tmp_path / "badlin.pth")


def test_lpips_pairs_corrected_and_quirks(dataset: tuple[Path, Path, Path], alexnet_file: Path) -> None:
    from ccnet_zoo.metrics import pair_images

    _, real, synth = dataset
    pairs = pair_images(real, synth, phase=1).pairs
    model = load_lpips(alexnet_file)
    one_by_one = [float(lpips_pairs([p], model)[0]) for p in pairs[:3]]
    batched = lpips_pairs(pairs, model, batch_size=4)
    assert batched[:3].tolist() == pytest.approx(one_by_one, rel=1e-5)
    quirky = lpips_pairs(pairs, model, paper_quirks=True)
    assert len(quirky) == len(pairs) and not (quirky == batched).all()
    assert isinstance(model, LPIPS)


def test_table_says_not_available_without_backbone(dataset: tuple[Path, Path, Path], alexnet_file: Path) -> None:
    _, real, synth = dataset
    report = compute_metrics(real, synth, phase=1, metrics=["lpips", "mse"])
    r = report["lpips"]
    assert not r.available and r.value is None and r.std is None
    assert r.fetch == "ccnet-zoo weights fetch lpips-alexnet-jax"
    table = report_table(report)
    lpips_row = next(line for line in table.splitlines() if line.startswith("| LPIPS"))
    assert "not available" in lpips_row and "weights fetch lpips-alexnet-jax" in lpips_row
    assert not any(ch.isdigit() and ch != "0" for ch in lpips_row.split("|")[2])  # no number in the value cell
    assert report["mse"].available
    # the same file registered by the user (explicitly) is used: then a number appears
    from ccnet_zoo.weights import Registry

    reg = Registry.load()
    reg.add("my-alexnet", file=alexnet_file)
    report2 = compute_metrics(real, synth, phase=1, metrics=["lpips"], alexnet="my-alexnet", registry=reg)
    assert report2["lpips"].available and report2["lpips"].value > 0 and report2["lpips"].n == 9
