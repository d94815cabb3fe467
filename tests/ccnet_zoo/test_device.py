"""The one device rule, with CUDA mocked (CI has no GPU): GPU by default, ``cuda`` = ``cuda:LOCAL_RANK``."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from ccnet_zoo.device import DeviceError, resolve_device, use_device


@pytest.fixture
def gpus(monkeypatch: pytest.MonkeyPatch) -> list[torch.device]:
    """Pretend two bf16-capable GPUs; ``set_device`` calls are recorded (it needs an index, as the real one)."""
    calls: list[torch.device] = []

    def set_device(dev: torch.device) -> None:
        if isinstance(dev, torch.device) and dev.index is None:
            raise ValueError(f"Expected a torch.device with a specified index or an integer, but got: {dev}")
        calls.append(dev)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    monkeypatch.setattr(torch.cuda, "set_device", set_device)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    return calls


def test_default_is_the_gpu_with_an_index(gpus: list[torch.device]) -> None:
    assert resolve_device(None) == torch.device("cuda", 0)
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert resolve_device("cuda") == torch.device("cuda", 0)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device("cpu") == torch.device("cpu")


def test_cuda_means_cuda_local_rank(gpus: list[torch.device], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert resolve_device("cuda") == torch.device("cuda", 1)
    assert resolve_device(None) == torch.device("cuda", 1)
    assert use_device("cuda") == torch.device("cuda", 1)
    assert gpus == [torch.device("cuda", 1)]


def test_bad_devices_are_typed_errors(gpus: list[torch.device]) -> None:
    with pytest.raises(DeviceError, match="2 GPU"):
        resolve_device("cuda:5")
    with pytest.raises(DeviceError, match="not a device"):
        resolve_device("gpu")


def test_no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device(None) == torch.device("cpu")
    with pytest.raises(DeviceError, match="no GPU"):
        resolve_device("cuda")


def test_training_runtime_uses_the_rule_and_bf16(gpus: list[torch.device], monkeypatch: pytest.MonkeyPatch) -> None:
    from ccnet_zoo.train.runtime import Runtime

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    rt = Runtime.create(None)  # the bug of the issue: torch.device("cuda") was handed to set_device
    assert rt.device == torch.device("cuda", 0) and gpus == [torch.device("cuda", 0)]
    assert rt.amp and rt.amp_dtype == torch.bfloat16 and not rt.scale_loss  # bf16 needs no GradScaler
    fp16 = Runtime.create("cuda", amp_dtype="fp16")
    assert fp16.amp_dtype == torch.float16 and fp16.scale_loss
    cpu = Runtime.create("cpu")
    assert not cpu.amp and not cpu.scale_loss


def test_metrics_default_to_the_gpu(gpus: list[torch.device], tmp_path) -> None:
    import numpy as np

    from ccnet_zoo.data.layout import write_png
    from ccnet_zoo.metrics.compute import compute_metrics_for_pairs
    from ccnet_zoo.metrics.pairing import pair_images
    from ccnet_zoo.weights.registry import Registry

    for side in ("real", "synth"):
        write_png(tmp_path / side / "Breast_MRI_001_0001_slice0.png", np.full((16, 16), 100, np.uint8))
    pairing = pair_images(tmp_path / "real", tmp_path / "synth")
    registry = Registry.load(tmp_path / "cache", offline=True)
    rep = compute_metrics_for_pairs(pairing, metrics=("fid",), registry=registry)  # FID not cached: no GPU work
    assert rep.settings["device"] == "cuda:0"


def test_reproduce_generates_on_the_gpu(gpus: list[torch.device], monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from ccnet_zoo.pipeline import CCNetPipeline
    from ccnet_zoo.reproduce.config import ReproduceConfig
    from ccnet_zoo.reproduce.run import _model

    seen: list[object] = []
    monkeypatch.setattr(
        CCNetPipeline, "from_pretrained", classmethod(lambda cls, src, device="cpu", **k: seen.append(device))
    )
    monkeypatch.setenv("CCNET_ZOO_CACHE", str(tmp_path / "cache"))
    loader, fp = _model(ReproduceConfig(out=tmp_path, weights="ccnet-tiny-phantom"), None, tmp_path, {}, False)
    loader()
    assert seen == [torch.device("cuda", 0)] and fp["weights"] == "ccnet-tiny-phantom"


def test_cli_device_without_gpu_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from ccnet_zoo.cli import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    r = CliRunner().invoke(
        main,
        [
            "generate",
            "--weights",
            "ccnet-tiny-phantom",
            "--data",
            str(tmp_path),
            "--out",
            str(tmp_path / "g"),
            "--device",
            "cuda",
            "--quiet",
        ],
    )
    assert r.exit_code == 2 and "no GPU is available" in r.stderr and "Traceback" not in r.stderr
