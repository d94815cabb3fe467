"""Shipped configs carry the paper's values; invalid configs fail with messages that name the entry."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ccnet_zoo.models.config import load_config, shipped_configs, validate_config
from ccnet_zoo.models.errors import ConfigError


def test_shipped_configs_load() -> None:
    assert {"tiny", "aekl_v0", "ldm_v6", "controlnet_v1", "sd21"} <= set(shipped_configs())
    for name in shipped_configs():
        assert load_config(name)["name"] == name


def test_paper_values() -> None:
    ae, ldm, cn = load_config("aekl_v0"), load_config("ldm_v6"), load_config("controlnet_v1")
    assert ae["stage1"]["params"]["channels"] == [128, 256, 256, 512]
    assert ae["stage1"]["params"]["latent_channels"] == 3
    assert ldm["ldm"]["params"]["cross_attention_dim"] == 1024
    assert ldm["ldm"]["params"]["num_head_channels"] == [0, 512, 768]
    assert ldm["train"]["ldm"]["lr"] == 5e-5 and ae["train"]["ldm"]["lr"] == 2.5e-5
    assert cn["train"]["controlnet"]["lr"] == 2.5e-5
    assert cn["controlnet"]["params"]["conditioning_embedding_num_channels"] == [64, 128, 128, 256]
    sch = cn["scheduler"]
    got = tuple(sch[k] for k in ("num_train_timesteps", "schedule", "beta_start", "beta_end", "prediction_type"))
    assert got == (1000, "scaled_linear_beta", 0.0015, 0.0205, "v_prediction")
    assert cn["sample"]["steps"] == 200 and cn["sample"]["guidance_scale"] == 0.0
    sd = load_config("sd21")
    assert sd["stage1"]["scale_factor"] == 0.1 and sd["ldm"]["kind"] == "sd"


def _write(tmp_path: Path, cfg: dict) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ldm": {"acq_time_scal": 1.0}}, "unknown key.*ldm.acq_time_scal"),
        ({"image_size": 60}, "multiple of 8"),
        ({"text": {"kind": "bert"}}, "text.kind.*builtin, clip"),
        ({"scheduler": {"beta_start": 0.5}}, "beta_start < scheduler.beta_end"),
        ({"train": {"ldm": {"epochs": 0}}}, "train.ldm.epochs"),
        ({"train": {"ldm": {"lr": "fast"}}}, "train.ldm.lr' must be"),
        ({"stage1": {"params": {"chanels": [8]}}}, "chanels.*AutoencoderKL"),
        ({"ldm": {"params": {"num_class_embeds": 3}}}, "set by CC-Net"),
        ({"stage1": {"kind": "sd"}}, "both be 'sd'"),
        ({"extra": 1}, "unknown section"),
        ({"sample": {"strength": 0.0}}, r"sample.strength' must be within \(0, 1\]"),
        ({"sample": {"strength": 1.5}}, r"sample.strength' must be within \(0, 1\]"),
        ({"sample": {"eta": -1.0}}, "sample.eta' must be >= 0"),
        ({"train": {"ldm": {"ema_decay": 1.0}}}, r"train.ldm.ema_decay' must be within \[0, 1\)"),
        ({"train": {"controlnet": {"enhancement_weight": -1}}}, "train.controlnet.enhancement_weight' must be >= 0"),
        ({"ldm": {"target": "subtraction"}}, "'ldm.target' must be one of post, change"),
        ({"ldm": {"change_scale": 0}}, "'ldm.change_scale' must be > 0"),
    ],
)
def test_invalid_configs(tmp_path: Path, change: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, {"base": "tiny", **change}))


def test_missing_and_looping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown config 'nope'.*tiny"):
        load_config("nope")
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "absent.yaml")
    (tmp_path / "a.yaml").write_text(f"base: {tmp_path / 'b.yaml'}\n")
    (tmp_path / "b.yaml").write_text(f"base: {tmp_path / 'a.yaml'}\n")
    with pytest.raises(ConfigError, match="loops"):
        load_config(tmp_path / "a.yaml")
    (tmp_path / "bad.yaml").write_text("a: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")


def test_overrides_merge_and_validate() -> None:
    cfg = load_config("tiny", {"train": {"ldm": {"epochs": 3}}})
    assert cfg["train"]["ldm"]["epochs"] == 3 and cfg["train"]["ldm"]["lr"] == 1e-3
    cfg["sample"]["steps"] = 0
    with pytest.raises(ConfigError, match=r"sample\.steps"):
        validate_config(cfg)


def test_typed_config_with_base_and_overrides(tmp_path) -> None:
    """The dataclasses are the schema: a YAML with ``base:`` loads typed, ``autoencoder`` is the section ``stage1``."""
    from ccnet_zoo.models.config import SCHEMA, AutoencoderConfig, CCNetConfig, SampleConfig, TrainConfig

    (tmp_path / "mine.yaml").write_text("base: tiny\nimage_size: 32\nsample: {steps: 3}\n", encoding="utf-8")
    cfg = load_config(tmp_path / "mine.yaml", {"train": {"ae": {"epochs": 2}}}, typed=True)
    assert isinstance(cfg, CCNetConfig) and isinstance(cfg.sample, SampleConfig)
    assert (cfg.image_size, cfg.sample.steps, cfg.sample.guidance_scale) == (32, 3, 0.0)
    assert cfg.autoencoder == AutoencoderConfig(**load_config("tiny")["stage1"])
    assert isinstance(cfg.train["ae"], TrainConfig) and cfg.train["ae"].epochs == 2 and cfg.train["ae"].kl_weight
    assert cfg.train["ldm"].disc_lr is None  # left out of the YAML: the stage applies its default
    assert SCHEMA["sample"]["guidance_scale"] == ((int, float, type(None)), True)
    with pytest.raises(ConfigError, match=r"'sample\.steps' must be int"):
        CCNetConfig.from_dict({**load_config("tiny"), "sample": {**load_config("tiny")["sample"], "steps": "many"}})


def _bundle_config() -> dict:
    import json
    from importlib import resources

    from safetensors import safe_open

    path = resources.files("ccnet_zoo") / "weights" / "ccnet-tiny-phantom.safetensors"
    with safe_open(str(path), framework="pt") as fh:
        return json.loads(fh.metadata()["ccnet_zoo"])["config"]


@pytest.mark.parametrize("name", [*shipped_configs(), "shipped bundle"])
def test_typed_round_trip_is_byte_exact(name: str) -> None:
    """to_dict(from_dict(d)) is d itself, key order and explicit nulls included: checkpoint JSON, run folders'
    config.yaml, bundles and fingerprints written from a typed config are byte for byte what they were."""
    import json

    from ccnet_zoo.models.config import CCNetConfig

    plain = _bundle_config() if name == "shipped bundle" else load_config(name)
    typed = CCNetConfig.from_dict(plain)
    assert json.dumps(typed.to_dict()) == json.dumps(plain)
    assert yaml.safe_dump(typed.to_dict(), sort_keys=False) == yaml.safe_dump(plain, sort_keys=False)
    assert CCNetConfig.from_dict(typed.to_dict()) == typed
    if name != "shipped bundle":
        assert load_config(name, typed=True) == typed
    # the typed view holds the same values as the mapping, section by section
    assert typed.autoencoder.scale_factor == plain["stage1"]["scale_factor"]
    assert typed.ldm.params == plain["ldm"].get("params") and typed.sample.steps == plain["sample"]["steps"]
    for stage, values in plain["train"].items():
        assert {k: getattr(typed.train[stage], k) for k in values} == values


def test_round_trip_keeps_explicit_null_and_changed_values() -> None:
    """aekl_v0 writes ``clip_grad_value: null``; a changed or newly set value shows in to_dict all the same."""
    import dataclasses

    plain = load_config("aekl_v0")
    assert "clip_grad_value" in plain["train"]["controlnet"] and plain["train"]["controlnet"]["clip_grad_value"] is None
    typed = load_config("aekl_v0", typed=True)
    assert typed.to_dict()["train"]["controlnet"] == plain["train"]["controlnet"]
    cn = dataclasses.replace(typed.train["controlnet"], clip_grad_value=2.0, amp_dtype="fp16")
    changed = dataclasses.replace(typed, train={**typed.train, "controlnet": cn}).to_dict()["train"]["controlnet"]
    assert changed["clip_grad_value"] == 2.0 and changed["amp_dtype"] == "fp16"
    assert list(changed)[: len(plain["train"]["controlnet"])] == list(plain["train"]["controlnet"])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"train": {"ae": {"lr": "fast"}}}, r"'train\.ae\.lr' must be int/float, got 'fast'"),
        ({"sample": {"steps": 2.5}}, r"'sample\.steps' must be int, got 2\.5"),
        ({"sample": {"guidance_scale": True}}, r"'sample\.guidance_scale' must be a number"),
        ({"seed": "x"}, r"'seed' must be int"),
        ({"text": {"trainable": "yes"}}, r"'text\.trainable' must be bool"),
        ({"autoencoder": {"scale_factor": "big"}}, r"'autoencoder\.scale_factor' must be"),
        (
            {"sample": {"stepz": 3}},
            r"unknown key 'sample\.stepz'; allowed: acquisition_noise, batch_size, conditioning_scale",
        ),
        ({"train": {"ae": {"epoch": 3}}}, r"unknown key 'train\.ae\.epoch'"),
        ({"train": {"vae": {"epochs": 3}}}, r"unknown key 'train\.vae'; allowed: ae, mean, ldm, controlnet"),
        ({"stage2": {"kind": "monai"}}, r"unknown key 'stage2'"),
        ({"base": "tiny"}, r"unknown key 'base'"),
        ({"sample": 3}, r"'sample' is a section"),
    ],
)
def test_overrides_are_checked_key_by_key(overrides: dict, message: str) -> None:
    """``--set`` values are checked against the dataclass field types before merging; the error names the key."""
    from ccnet_zoo.models.config import check_overrides

    with pytest.raises(ConfigError, match=message):
        check_overrides(overrides, "--set")
    with pytest.raises(ConfigError, match=message):
        load_config("tiny", overrides)
    with pytest.raises(ConfigError, match=message):
        load_config("tiny", typed=True).with_overrides(overrides)


def test_with_overrides_is_a_validated_copy() -> None:
    tiny, plain = load_config("tiny", typed=True), load_config("tiny")
    cfg = tiny.with_overrides({"sample": {"steps": 5}, "autoencoder": {"scale_factor": 0.5}})
    assert (cfg.sample.steps, cfg.autoencoder.scale_factor) == (5, 0.5)
    assert tiny.to_dict() == plain and (tiny.sample.steps, tiny.autoencoder.scale_factor) != (5, 0.5)  # unchanged
    assert cfg.to_dict()["stage1"]["scale_factor"] == 0.5 and "autoencoder" not in cfg.to_dict()
    with pytest.raises(ConfigError, match=r"--set: 'sample\.steps' and 'sample\.batch_size' must be >= 1"):
        tiny.with_overrides({"sample": {"steps": 0}})  # what needs the whole config is checked after the merge


def test_autoencoder_is_an_accepted_section_name(tmp_path: Path) -> None:
    """YAML may say ``autoencoder:`` for ``stage1:``; files written keep ``stage1`` (the format)."""
    (tmp_path / "a.yaml").write_text("base: tiny\nautoencoder: {scale_factor: 0.25}\n", encoding="utf-8")
    cfg = load_config(tmp_path / "a.yaml", typed=True)
    assert cfg.autoencoder.scale_factor == 0.25 and cfg.autoencoder.kind == "monai"
    assert cfg.to_dict()["stage1"]["scale_factor"] == 0.25 and "autoencoder" not in cfg.to_dict()
    (tmp_path / "b.yaml").write_text("base: tiny\nautoencoder: {scale_factor: 0.25}\nstage1: {kind: monai}\n")
    with pytest.raises(ConfigError, match="give section 'stage1' once"):
        load_config(tmp_path / "b.yaml")


def test_components_take_the_typed_config() -> None:
    """Builders read attributes; a plain mapping given to the public API is validated and converted once."""
    from ccnet_zoo.models.factory import build_autoencoder
    from ccnet_zoo.models.schedulers import build_ddim

    typed, latent = load_config("tiny", typed=True), load_config("tiny")["stage1"]["params"]["latent_channels"]
    assert build_autoencoder(typed).latent_channels == latent
    assert build_autoencoder(load_config("tiny")).latent_channels == latent
    assert build_ddim(typed.scheduler, 4).num_inference_steps == 4
    with pytest.raises(ConfigError, match=r"stage1\.scale_factor"):
        build_autoencoder({**load_config("tiny"), "stage1": {"kind": "monai"}})
