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
    """The dataclasses are the schema: a YAML with ``base:`` loads typed, and gives back what checkpoints store."""
    from ccnet_zoo.models.config import SCHEMA, CCNetConfig, SampleConfig, TrainConfig, load_config

    (tmp_path / "mine.yaml").write_text("base: tiny\nimage_size: 32\nsample: {steps: 3}\n", encoding="utf-8")
    cfg = load_config(tmp_path / "mine.yaml", {"train": {"ae": {"epochs": 2}}}, typed=True)
    assert isinstance(cfg, CCNetConfig) and isinstance(cfg.sample, SampleConfig)
    assert (cfg.image_size, cfg.sample.steps, cfg.sample.guidance_scale, cfg.stage1.kind) == (32, 3, 0.0, "monai")
    assert isinstance(cfg.train["ae"], TrainConfig) and cfg.train["ae"].epochs == 2 and cfg.train["ae"].kl_weight
    for name in shipped_configs():
        plain = load_config(name)
        typed = CCNetConfig.from_dict(plain).to_dict()
        for stage, values in plain["train"].items():  # an explicit null of an optional key is the same as absent
            plain["train"][stage] = {k: v for k, v in values.items() if v is not None}
        assert typed == plain, name
    assert SCHEMA["sample"]["guidance_scale"] == ((int, float, type(None)), True)
    with pytest.raises(ConfigError, match=r"'sample\.steps' must be int"):
        CCNetConfig.from_dict({**load_config("tiny"), "sample": {**load_config("tiny")["sample"], "steps": "many"}})
