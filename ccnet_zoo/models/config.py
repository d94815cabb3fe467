"""YAML configs of CC-Net, shipped in ``ccnet_zoo/configs`` and validated on load.

A config is a mapping with the sections below; a file may start from another with ``base: <name>`` (deep
merge, the file's values win). ``load_config("tiny")`` loads a shipped config, ``load_config("x.yaml")`` a file.

>>> cfg = load_config("tiny")
>>> cfg["scheduler"]["prediction_type"], cfg["image_size"]
('v_prediction', 64)
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ccnet_zoo.models.errors import ConfigError
from ccnet_zoo.models.monai_light import light_monai

Config = dict[str, Any]
_NUM = (int, float)
_OPT_NUM = (int, float, type(None))
# section -> key -> (allowed types, required)
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "stage1": {"kind": ((str,), True), "params": ((dict,), False), "scale_factor": (_NUM, True),
               "sample_posterior": ((bool,), False)},
    "discriminator": {"params": ((dict,), True)},
    "perceptual": {"enabled": ((bool,), True), "network_type": ((str,), False)},
    "text": {"kind": ((str,), True), "max_length": ((int,), True), "hidden_size": ((int,), False),
             "layers": ((int,), False), "heads": ((int,), False), "trainable": ((bool,), True),
             "source": ((str, int), True)},
    "ldm": {"kind": ((str,), True), "params": ((dict,), False), "acq_time_scale": (_NUM, True)},
    "controlnet": {"params": ((dict,), True)},
    "scheduler": {"num_train_timesteps": ((int,), True), "schedule": ((str,), True), "beta_start": (_NUM, True),
                  "beta_end": (_NUM, True), "prediction_type": ((str,), True)},
    "sample": {"steps": ((int,), True), "guidance_scale": (_OPT_NUM, True), "conditioning_scale": (_NUM, True),
               "batch_size": ((int,), True)},
}  # fmt: skip
TRAIN_KEYS: dict[str, tuple[tuple[type, ...], bool]] = {
    "epochs": ((int,), True), "batch_size": ((int,), True), "lr": (_NUM, True), "weight_decay": (_NUM, False),
    "clip_grad_value": (_OPT_NUM, False), "amp": ((bool,), False), "num_workers": ((int,), False),
    # ae only
    "disc_lr": (_NUM, False), "kl_weight": (_NUM, False), "adv_weight": (_NUM, False),
    "perceptual_weight": (_NUM, False), "adv_start_epoch": ((int,), False),
    # ldm / controlnet
    "text_dropout": (_NUM, False), "conditioning_scale": (_NUM, False),
    # throughput (docs/performance.md): bf16|fp16, auto|bool, false|true|backend, steps, epochs, bool
    "amp_dtype": ((str,), False), "channels_last": ((bool, str), False), "compile": ((bool, str), False),
    "log_every": ((int,), False), "checkpoint_every": ((int,), False), "preload": ((bool,), False),
}  # fmt: skip
TOP_KEYS = {"name", "description", "image_size", "seed", "train", "base", *SCHEMA}
STAGES = ("ae", "ldm", "controlnet")
KINDS = {"stage1": ("monai", "sd"), "ldm": ("monai", "sd"), "text": ("builtin", "clip")}
PREDICTION_TYPES = ("epsilon", "v_prediction", "sample")


def shipped_configs() -> list[str]:
    """Names of the configs shipped in the package (``tiny``, ``aekl_v0``, ...)."""
    folder = resources.files("ccnet_zoo") / "configs"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _read_yaml(name_or_path: str | Path) -> tuple[Config, str]:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        text, where = path.read_text(encoding="utf-8"), str(path)
    else:
        res = resources.files("ccnet_zoo") / "configs" / f"{name_or_path}.yaml"
        if not res.is_file():
            raise ConfigError(f"unknown config {name_or_path!r}; shipped: {', '.join(shipped_configs())} "
                              "(or pass a path to a .yaml file)")  # fmt: skip
        text, where = res.read_text(encoding="utf-8"), f"shipped config {name_or_path}"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{where}: not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a mapping of sections, got {type(data).__name__}")
    return data, where


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> Config:
    """Merge ``over`` into a copy of ``base`` (mappings recursively, other values replaced)."""
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config(name_or_path: str | Path, overrides: Mapping[str, Any] | None = None) -> Config:
    """Load, resolve ``base:`` chains, apply ``overrides`` (nested mapping) and validate a config."""
    seen: list[str] = []
    data, where = _read_yaml(name_or_path)
    chain = [data]
    while "base" in chain[-1]:
        base = str(chain[-1]["base"])
        if base in seen:
            raise ConfigError(f"{where}: 'base' chain loops through {base!r}")
        seen.append(base)
        chain.append(_read_yaml(base)[0])
    cfg: Config = {}
    for part in reversed(chain):
        cfg = deep_merge(cfg, {k: v for k, v in part.items() if k != "base"})
    if overrides:
        cfg = deep_merge(cfg, overrides)
    validate_config(cfg, where)
    return cfg


def _check_section(cfg: Config, section: str, keys: Mapping[str, tuple[tuple[type, ...], bool]], where: str,
                   prefix: str = "") -> None:  # fmt: skip
    block = cfg.get(section)
    section = prefix + section
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: section '{section}' is missing or not a mapping")
    for key, (types, required) in keys.items():
        if key not in block:
            if required:
                raise ConfigError(f"{where}: '{section}.{key}' is required")
            continue
        value = block[key]
        if isinstance(value, bool) and bool not in types:
            raise ConfigError(f"{where}: '{section}.{key}' must be a number, got {value!r}")
        if not isinstance(value, types):
            names = "/".join(t.__name__ for t in types)
            raise ConfigError(f"{where}: '{section}.{key}' must be {names}, got {value!r}")
    unknown = sorted(set(block) - set(keys))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(section + '.' + k for k in unknown)}; "
                          f"allowed: {', '.join(sorted(keys))}")  # fmt: skip


def validate_config(cfg: Config, where: str = "config") -> None:
    """Raise :class:`ConfigError` naming the first invalid entry of ``cfg``."""
    unknown = sorted(set(cfg) - TOP_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown section(s) {', '.join(unknown)}; allowed: {', '.join(sorted(TOP_KEYS))}")
    for key in ("image_size", "seed"):
        if not isinstance(cfg.get(key), int) or isinstance(cfg.get(key), bool):
            raise ConfigError(f"{where}: '{key}' must be an integer, got {cfg.get(key)!r}")
    if cfg["image_size"] < 8 or cfg["image_size"] % 8:
        raise ConfigError(f"{where}: 'image_size' must be a positive multiple of 8, got {cfg['image_size']}")
    for section, keys in SCHEMA.items():
        _check_section(cfg, section, keys, where)
    for section, kinds in KINDS.items():
        if cfg[section]["kind"] not in kinds:
            raise ConfigError(f"{where}: '{section}.kind' must be one of {', '.join(kinds)}, "
                              f"got {cfg[section]['kind']!r}")  # fmt: skip
    if (cfg["stage1"]["kind"] == "sd") != (cfg["ldm"]["kind"] == "sd"):
        raise ConfigError(f"{where}: stage1.kind and ldm.kind must both be 'sd' (SD-2.1 path) or both 'monai'")
    sch = cfg["scheduler"]
    if sch["prediction_type"] not in PREDICTION_TYPES:
        raise ConfigError(f"{where}: 'scheduler.prediction_type' must be one of {', '.join(PREDICTION_TYPES)}")
    if not 0 < sch["beta_start"] < sch["beta_end"] < 1:
        raise ConfigError(f"{where}: need 0 < scheduler.beta_start < scheduler.beta_end < 1")
    if str(cfg["text"]["source"]) not in ("default", "1", "2", "3"):
        raise ConfigError(f"{where}: 'text.source' must be 'default', 1, 2 or 3, got {cfg['text']['source']!r}")
    train = cfg.get("train")
    if not isinstance(train, dict) or set(train) - set(STAGES):
        raise ConfigError(f"{where}: 'train' must map some of {', '.join(STAGES)} to their settings")
    for stage in train:
        _check_section(train, stage, TRAIN_KEYS, where, prefix="train.")
        for key in ("epochs", "batch_size"):
            if train[stage][key] < 1:
                raise ConfigError(f"{where}: 'train.{stage}.{key}' must be >= 1")
    if not 0 <= float(train.get("ldm", {}).get("text_dropout", 0.0)) <= 1:
        raise ConfigError(f"{where}: 'train.ldm.text_dropout' must be within 0..1")
    if cfg["sample"]["steps"] < 1 or cfg["sample"]["batch_size"] < 1:
        raise ConfigError(f"{where}: 'sample.steps' and 'sample.batch_size' must be >= 1")
    if cfg["ldm"]["kind"] == "monai":
        _check_params(cfg, where)


def _check_params(cfg: Config, where: str) -> None:
    """Check the ``params`` blocks against the MONAI constructors (names only; values are checked on build)."""
    light_monai()
    from monai.networks.nets import AutoencoderKL, ControlNet, DiffusionModelUNet, PatchDiscriminator

    managed = {"spatial_dims", "with_conditioning", "num_class_embeds", "cross_attention_dim", "include_fc"}
    for section, cls in (("stage1", AutoencoderKL), ("discriminator", PatchDiscriminator),
                         ("ldm", DiffusionModelUNet), ("controlnet", ControlNet)):  # fmt: skip
        params = cfg[section].get("params") or {}
        allowed = set(inspect.signature(cls.__init__).parameters) - {"self"}
        bad = sorted(set(params) - allowed)
        if bad:
            raise ConfigError(f"{where}: '{section}.params' has unknown argument(s) {', '.join(bad)} of "
                              f"{cls.__name__}; allowed: {', '.join(sorted(allowed))}")  # fmt: skip
        clash = sorted(set(params) & managed - {"spatial_dims", "cross_attention_dim", "include_fc"})
        if clash:
            raise ConfigError(f"{where}: '{section}.params.{clash[0]}' is set by CC-Net itself; remove it")
