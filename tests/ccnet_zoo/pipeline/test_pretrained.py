"""`CCNetPipeline.from_pretrained` / `save_pretrained` and `ccnet-zoo export`: train, export, register, generate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from zoo_helpers import assert_one_line_error

from ccnet_zoo import CCNetPipeline
from ccnet_zoo.cli import main
from ccnet_zoo.data.layout import read_png
from ccnet_zoo.models.errors import CheckpointError, ModelError
from ccnet_zoo.pipeline import NotABundleError


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CCNET_ZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CCNET_ZOO_OFFLINE", "1")
    return tmp_path / "cache"


def test_train_export_register_generate(
    trained_runs: dict[str, Path], zoo_phantom: Path, tmp_path: Path, cache: Path
) -> None:
    """The documented path end to end: a trained run -> export -> weights add -> generate --weights NAME gives the
    images that generate --controlnet RUN gives."""
    runner = CliRunner()
    bundle = tmp_path / "mine.safetensors"
    res = runner.invoke(main, ["export", str(trained_runs["controlnet"]), "--out", str(bundle)])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith(str(bundle)) and "weights add NAME --file" in res.stderr
    res = runner.invoke(main, ["weights", "add", "mine", "--file", str(bundle), "--kind", "ccnet"])
    assert res.exit_code == 0, res.output
    common = ["--data", str(zoo_phantom), "--steps", "2", "--limit", "3", "--seed", "5", "--quiet"]
    res = runner.invoke(main, ["generate", "--weights", "mine", "--out", str(tmp_path / "w"), *common])
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        main, ["generate", "--controlnet", str(trained_runs["controlnet"]), "--out", str(tmp_path / "r"), *common]
    )
    assert res.exit_code == 0, res.output
    from_weights = sorted((tmp_path / "w").rglob("*.png"))
    assert len(from_weights) == 3
    for path in from_weights:
        np.testing.assert_array_equal(read_png(path), read_png(tmp_path / "r" / path.relative_to(tmp_path / "w")))
    assert_one_line_error(
        runner.invoke(main, ["export", str(trained_runs["controlnet"]), "--out", str(bundle)]), "export", "exists"
    )


def test_from_pretrained_sources(trained_runs: dict[str, Path], tmp_path: Path, cache: Path) -> None:
    run = trained_runs["controlnet"]
    pipe = CCNetPipeline.from_pretrained(run)
    bundle = pipe.save_pretrained(tmp_path / "b.safetensors", description="test")
    with pytest.raises(CheckpointError, match="exists"):
        pipe.save_pretrained(bundle)  # never over a file
    from ccnet_zoo.weights import Registry

    Registry.load().add("b", file=bundle, kind="ccnet")
    pre, acq = torch.zeros(1, 1, 32, 32), torch.tensor([[300.0]])
    expected = pipe(pre, acq, steps=2, seed=1)
    for source in (bundle, "b", run / "checkpoints" / "best.json", str(run)):
        assert torch.equal(CCNetPipeline.from_pretrained(source)(pre, acq, steps=2, seed=1), expected), source
    with pytest.raises(CheckpointError, match="does not exist"):
        CCNetPipeline.from_pretrained(tmp_path / "missing.safetensors")


def test_a_file_that_is_not_a_bundle(tmp_path: Path, zoo_phantom: Path, cache: Path) -> None:
    from safetensors.torch import save_file

    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))  # safetensors, but no ccnet-zoo metadata
    for path in (junk, plain):
        with pytest.raises(NotABundleError, match="not a ccnet-zoo weights bundle"):
            CCNetPipeline.from_pretrained(path)
        res = CliRunner().invoke(
            main,
            ["generate", "--weights", str(path), "--data", str(zoo_phantom), "--out", str(tmp_path / "g"), "--quiet"],
        )
        assert_one_line_error(res, "generate", "not a ccnet-zoo weights bundle")


def test_guidance_values(trained_runs: dict[str, Path]) -> None:
    pipe = CCNetPipeline.from_pretrained(trained_runs["controlnet"])
    pre, acq = torch.zeros(1, 1, 32, 32), torch.tensor([[300.0]])
    prompts = ["a breast."]
    assert torch.equal(
        pipe(pre, acq, prompts, steps=2, guidance=0.0), pipe(pre, acq, prompts, steps=2, guidance="uncond")
    )
    assert pipe.config.sample.guidance_scale == 0.0  # the default is the config's: unconditional
    assert torch.equal(pipe(pre, acq, prompts, steps=2), pipe(pre, acq, prompts, steps=2, guidance="uncond"))
    with pytest.warns(FutureWarning, match="guidance_scale"):
        legacy = pipe(pre, acq, prompts, steps=2, guidance_scale=None)  # the former spelling of the text branch
    assert torch.equal(legacy, pipe(pre, acq, prompts, steps=2, guidance="text"))
    with pytest.raises(ModelError, match="guidance must be"):
        pipe(pre, acq, prompts, steps=2, guidance="both")
    with pytest.raises(TypeError, match="unexpected keyword"):
        pipe(pre, acq, prompts, steps=2, guidnce=1.0)


def test_resaving_the_shipped_bundle_gives_the_registered_file(tmp_path: Path, cache: Path) -> None:
    """The typed config travels through load and save and comes back as the same JSON: the shipped bundle,
    loaded and saved again, is byte for byte the file whose sha256 the registry holds."""
    import hashlib
    import json

    from safetensors import safe_open

    from ccnet_zoo.weights import Registry

    reg = Registry.load()
    shipped = reg.path("ccnet-tiny-phantom")
    with safe_open(str(shipped), framework="pt") as fh:
        description = json.loads(fh.metadata()["ccnet_zoo"])["description"]
    pipe = CCNetPipeline.from_pretrained(shipped)
    assert pipe.config.autoencoder.kind == "monai" and pipe.config.sample.steps >= 1
    again = pipe.save_pretrained(tmp_path / "again.safetensors", description=description)
    assert hashlib.sha256(again.read_bytes()).hexdigest() == reg.entry("ccnet-tiny-phantom").sha256
