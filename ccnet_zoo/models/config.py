"""YAML configs of CC-Net, shipped in ``ccnet_zoo/configs`` and validated on load.

A config is a mapping with the sections below; a file may start from another with ``base: <name>`` (deep
merge, the file's values win). ``load_config("tiny")`` loads a shipped config, ``load_config("x.yaml")`` a file.

Components receive the typed :class:`CCNetConfig` (``load_config(name, typed=True)``); plain mappings exist only
at the edges (the YAML, checkpoint and bundle JSON, fingerprints), through ``CCNetConfig.from_dict`` / ``to_dict``.

>>> cfg = load_config("tiny", typed=True)
>>> cfg.scheduler.prediction_type, cfg.image_size, cfg.autoencoder.kind
('v_prediction', 64, 'monai')
"""

from __future__ import annotations

import copy
import inspect
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from importlib import resources
from pathlib import Path
from types import UnionType
from typing import Any

import yaml

from ccnet_zoo.models.errors import ConfigError
from ccnet_zoo.models.monai_light import light_monai

Config = dict[str, Any]


# The typed sections of a config. They are the schema: the YAML's keys, their types and which are required
# (a field without a default) are read from these dataclasses, both for validation and for CCNetConfig.
@dataclass(frozen=True)
class AutoencoderConfig:
    """Section ``stage1`` (attribute ``autoencoder``): the autoencoder (``train ae``), images to latents and back."""

    kind: str
    scale_factor: float
    params: dict[str, Any] | None = None
    sample_posterior: bool | None = None


@dataclass(frozen=True)
class DiscriminatorConfig:
    """Section ``discriminator``: the patch discriminator of the autoencoder's adversarial loss."""

    params: dict[str, Any]


@dataclass(frozen=True)
class PerceptualConfig:
    """Section ``perceptual``: the autoencoder's perceptual loss."""

    enabled: bool
    network_type: str | None = None


@dataclass(frozen=True)
class TextConfig:
    """Section ``text``: the text encoder (built-in or CLIP) and the prompt column it reads."""

    kind: str
    max_length: int
    trainable: bool
    source: str | int
    hidden_size: int | None = None
    layers: int | None = None
    heads: int | None = None


@dataclass(frozen=True)
class UNetConfig:
    """Section ``ldm``: the latent diffusion UNet."""

    kind: str
    acq_time_scale: float
    params: dict[str, Any] | None = None
    # what the LDM and the ControlNet diffuse: "post" (or absent; the paper) the post-contrast image's latents,
    # "change" the change latents (z_post - z_pre) * change_scale; the image is then pre + D(z_pre + change) -
    # D(z_pre) (CCNetPipeline.__call__), so the pre-contrast image's texture and noise are kept as they are;
    # "residual" the same around base = mean(pre, t) (section mean) instead of pre: the diffusion stages learn
    # only what the conditional mean leaves, and the ControlNet is conditioned on base
    target: str | None = None
    change_scale: float | None = None


@dataclass(frozen=True)
class MeanConfig:
    """Section ``mean`` (optional; needed by ``ldm.target: residual``): the regression of E[post | pre, t].

    ``params`` go to MONAI's ``BasicUNet`` (``features`` ...); ``acq_time_scale`` scales seconds for its input.
    ``noise`` (optional, BasicUNet params too): a second network predicting the post-contrast image's
    acquisition-noise level, one per image, which sampling tops the result up to with fresh white noise
    (:class:`ccnet_zoo.models.mean.MeanNet`).
    """

    acq_time_scale: float
    params: dict[str, Any] | None = None
    noise: dict[str, Any] | None = None


@dataclass(frozen=True)
class ControlNetConfig:
    """Section ``controlnet``: the ControlNet on the pre-contrast image."""

    params: dict[str, Any]


@dataclass(frozen=True)
class SchedulerConfig:
    """Section ``scheduler``: the noise schedule of training and DDIM sampling."""

    num_train_timesteps: int
    schedule: str
    beta_start: float
    beta_end: float
    prediction_type: str


@dataclass(frozen=True)
class SampleConfig:
    """Section ``sample``: generation defaults (``guidance_scale``: 0 unconditional, null the text branch)."""

    steps: int
    guidance_scale: float | None
    conditioning_scale: float
    batch_size: int
    # in (0, 1]: 1 (or absent) samples from pure noise (the paper); less starts from the pre-contrast latents
    # noised to an intermediate timestep (SDEdit; CCNetPipeline.__call__)
    strength: float | None = None
    # >= 0: DDIM's noise per step (0 or absent: deterministic DDIM, the paper; 1: the DDPM posterior's variance)
    eta: float | None = None
    # with a mean network's noise head (mean.noise): top the noise up to its predicted level (absent: true)
    acquisition_noise: bool | None = None


@dataclass(frozen=True)
class TrainConfig:
    """One stage of section ``train`` (``ae``, ``ldm`` or ``controlnet``).

    An optional key the YAML leaves out is ``None`` here; the training stage then applies its own default.
    """

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float | None = None
    clip_grad_value: float | None = None
    amp: bool | None = None
    num_workers: int | None = None
    # ae only
    disc_lr: float | None = None
    kl_weight: float | None = None
    adv_weight: float | None = None
    perceptual_weight: float | None = None
    adv_start_epoch: int | None = None
    # ldm / controlnet
    text_dropout: float | None = None
    conditioning_scale: float | None = None
    enhancement_weight: float | None = None  # loss weight on changing pixels (ccnet_zoo.train.diffusion); 0/absent: off
    ema_decay: float | None = None  # moving average of the weights for sampling (ccnet_zoo.train.ema); 0/absent: off
    # throughput (docs/performance.md): bf16|fp16, auto|true|false, false|true|backend, steps, epochs, bool
    amp_dtype: str | None = None
    channels_last: bool | str | None = None
    compile: bool | str | None = None
    log_every: int | None = None
    checkpoint_every: int | None = None
    preload: bool | None = None


#: section name in the YAML -> its dataclass (the attribute of :class:`CCNetConfig` is :data:`ATTRIBUTES`' name)
SECTIONS: dict[str, type] = {
    "stage1": AutoencoderConfig,
    "discriminator": DiscriminatorConfig,
    "perceptual": PerceptualConfig,
    "text": TextConfig,
    "ldm": UNetConfig,
    "controlnet": ControlNetConfig,
    "scheduler": SchedulerConfig,
    "sample": SampleConfig,
    "mean": MeanConfig,
}
#: sections a config may leave out (the attribute is then None); the others are required
OPTIONAL_SECTIONS = frozenset({"mean"})

#: YAML section -> attribute of :class:`CCNetConfig`, where they differ: the file format keeps ``stage1`` (every
#: checkpoint, bundle and config written so far says so), the code says ``autoencoder``.
ATTRIBUTES: dict[str, str] = {name: name for name in SECTIONS} | {"stage1": "autoencoder"}
#: accepted spellings of a section in a YAML file or a ``--set`` key -> the section name that files store
ALIASES: dict[str, str] = {"autoencoder": "stage1"}


@dataclass(frozen=True)
class CCNetConfig:
    """A validated config as typed sections: ``load_config(name, typed=True)`` or ``CCNetConfig.from_dict(cfg)``.

    ``to_dict()`` gives back the mapping that checkpoints and bundles store: for a config read with ``from_dict``
    the same mapping, key order and explicit ``null`` values included (files written stay byte for byte as before).
    """

    image_size: int
    seed: int
    autoencoder: AutoencoderConfig
    discriminator: DiscriminatorConfig
    perceptual: PerceptualConfig
    text: TextConfig
    ldm: UNetConfig
    controlnet: ControlNetConfig
    scheduler: SchedulerConfig
    sample: SampleConfig
    train: dict[str, TrainConfig] = field(default_factory=dict)
    mean: MeanConfig | None = None
    name: str | None = None
    description: str | None = None
    # The mapping this config was read from: to_dict() takes its key order and explicit nulls (never its values).
    layout: Config = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_dict(cls, cfg: Mapping[str, Any], where: str = "config") -> CCNetConfig:
        """Validate ``cfg`` (raises :class:`ConfigError`) and return it typed."""
        cfg = copy.deepcopy(dict(cfg))
        validate_config(cfg, where)
        sections = {ATTRIBUTES[name]: kind(**cfg[name]) for name, kind in SECTIONS.items() if name in cfg}
        train = {stage: TrainConfig(**values) for stage, values in cfg.get("train", {}).items()}
        return cls(
            image_size=cfg["image_size"],
            seed=cfg["seed"],
            train=train,
            name=cfg.get("name"),
            description=cfg.get("description"),
            layout=cfg,
            **sections,
        )

    def to_dict(self) -> Config:
        """The plain mapping (what the YAML holds), without the optional keys left unset."""
        out: Config = {k: v for k, v in (("name", self.name), ("description", self.description)) if v is not None}
        out.update(image_size=self.image_size, seed=self.seed)
        for name in SECTIONS:
            section = getattr(self, ATTRIBUTES[name])
            if section is not None:  # an optional section left out stays out
                out[name] = _plain(section)
        out["train"] = {stage: _plain(tc) for stage, tc in self.train.items()}
        return copy.deepcopy(_in_layout(out, self.layout))

    def with_overrides(self, overrides: Mapping[str, Any], where: str = "--set") -> CCNetConfig:
        """A copy with ``overrides`` (a nested mapping, e.g. from ``--set``) applied and validated."""
        check_overrides(overrides, where)
        return CCNetConfig.from_dict(deep_merge(self.to_dict(), _canonical(overrides)), where)


def _in_layout(values: Config, layout: Mapping[str, Any]) -> Config:
    """``values`` with the keys in ``layout``'s order (nested), and ``layout``'s explicit nulls where unset."""
    out: Config = {}
    for key, was in layout.items():
        if key in values:
            now = values[key]
            nested = isinstance(now, dict) and isinstance(was, Mapping) and key != "params"
            out[key] = _in_layout(now, was) if nested else now
        elif was is None:  # 'key: null' in the file: an optional key left unset, as written
            out[key] = None
    out.update({k: v for k, v in values.items() if k not in out})
    return out


def _plain(section: Any) -> dict[str, Any]:
    required = {f.name for f in fields(section) if f.default is MISSING and f.default_factory is MISSING}
    return {
        f.name: getattr(section, f.name)
        for f in fields(section)
        if f.name in required or getattr(section, f.name) is not None
    }


_T = typing.TypeVar("_T")


def or_default(value: _T | None, default: _T) -> _T:
    """``value``, or ``default`` where the YAML leaves an optional key out (``None`` in the dataclass)."""
    return default if value is None else value


def as_config(cfg: CCNetConfig | Mapping[str, Any], where: str = "config") -> CCNetConfig:
    """``cfg`` typed: a :class:`CCNetConfig` as it is, a mapping (the public API's edge) validated and converted."""
    return cfg if isinstance(cfg, CCNetConfig) else CCNetConfig.from_dict(cfg, where)


_TYPES: dict[Any, tuple[type, ...]] = {int: (int,), float: (int, float), str: (str,), bool: (bool,), dict: (dict,)}


def _schema(kind: type) -> dict[str, tuple[tuple[type, ...], bool]]:
    """key -> (allowed types, required) of a section dataclass (a float also accepts an int, YAML's ``1``)."""
    hints = typing.get_type_hints(kind)
    out = {}
    for f in fields(kind):
        allowed: list[type] = []
        hint = hints[f.name]
        union = typing.get_origin(hint) in (typing.Union, UnionType)
        for t in typing.get_args(hint) if union else (hint,):
            t = typing.get_origin(t) or t
            allowed += [type(None)] if t is type(None) else list(_TYPES[t])
        required = f.default is MISSING and f.default_factory is MISSING
        if not required:  # an optional key may be absent; None is allowed only where the YAML may say null
            allowed = [t for t in allowed if t is not type(None)] + (
                [type(None)] if f.name in _NULLABLE_OPTIONAL else []
            )
        out[f.name] = (tuple(dict.fromkeys(allowed)), required)
    return out


# Optional keys whose value may also be written as null in the YAML.
_NULLABLE_OPTIONAL = {"clip_grad_value"}

# section -> key -> (allowed types, required), derived from the dataclasses above
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {name: _schema(kind) for name, kind in SECTIONS.items()}
TRAIN_KEYS: dict[str, tuple[tuple[type, ...], bool]] = _schema(TrainConfig)
TOP_KEYS = {"name", "description", "image_size", "seed", "train", "base", *SCHEMA}
STAGES = ("ae", "mean", "ldm", "controlnet")
KINDS = {"stage1": ("monai", "sd"), "ldm": ("monai", "sd"), "text": ("builtin", "clip")}
PREDICTION_TYPES = ("epsilon", "v_prediction", "sample")
LDM_TARGETS = ("post", "change", "residual")


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
            raise ConfigError(
                f"unknown config {name_or_path!r}; shipped: {', '.join(shipped_configs())} "
                "(or pass a path to a .yaml file)"
            )
        text, where = res.read_text(encoding="utf-8"), f"shipped config {name_or_path}"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{where}: not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a mapping of sections, got {type(data).__name__}")
    return _canonical(data, where), where


def _canonical(data: Mapping[str, Any], where: str = "config") -> Config:
    """``data`` with each section under the name files store (``autoencoder:`` -> ``stage1:``), order kept."""
    for alias, name in ALIASES.items():
        if alias in data and name in data:
            raise ConfigError(f"{where}: give section '{name}' once ('{alias}' is another name for it)")
    return {ALIASES.get(k, k): v for k, v in data.items()}


def check_overrides(overrides: Mapping[str, Any], where: str = "overrides") -> None:
    """Check ``overrides`` (nested, e.g. from ``--set``) against the dataclasses' keys and types before merging.

    Raises :class:`ConfigError` naming the key as given (``train.ae.lr``) when it is unknown or has the wrong type;
    what depends on the whole config (ranges, kinds) is checked once the overrides are merged.
    """
    for key, value in overrides.items():
        section = ALIASES.get(key, key)
        if section in ("image_size", "seed"):
            _check_value(where, key, value, (int,))
        elif section in ("name", "description"):
            _check_value(where, key, value, (str,))
        elif section == "train":
            for stage, values in _mapping(where, key, value).items():
                if stage not in STAGES:
                    raise ConfigError(f"{where}: unknown key 'train.{stage}'; allowed: {', '.join(STAGES)}")
                _check_keys(where, f"train.{stage}", _mapping(where, f"train.{stage}", values), TRAIN_KEYS)
        elif section in SCHEMA:
            _check_keys(where, key, _mapping(where, key, value), SCHEMA[section])
        else:
            allowed = sorted((TOP_KEYS - {"base"}) | set(ALIASES))
            raise ConfigError(f"{where}: unknown key '{key}'; allowed: {', '.join(allowed)}")


def _mapping(where: str, label: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: '{label}' is a section; set its keys ({label}.KEY=VALUE), got {value!r}")
    return value


def _check_keys(where: str, label: str, block: Mapping[str, Any], keys: Mapping[str, Any]) -> None:
    for key, value in block.items():
        if key not in keys:
            raise ConfigError(f"{where}: unknown key '{label}.{key}'; allowed: {', '.join(sorted(keys))}")
        _check_value(where, f"{label}.{key}", value, keys[key][0])


def _check_value(where: str, label: str, value: Any, types: tuple[type, ...]) -> None:
    if isinstance(value, bool) and bool not in types:  # YAML's true is not a number
        raise ConfigError(f"{where}: '{label}' must be a number, got {value!r}")
    if not isinstance(value, types):
        names = "/".join(t.__name__ for t in types)
        raise ConfigError(f"{where}: '{label}' must be {names}, got {value!r}")


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> Config:
    """Merge ``over`` into a copy of ``base`` (mappings recursively, other values replaced)."""
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@typing.overload
def load_config(
    name_or_path: str | Path, overrides: Mapping[str, Any] | None = None, typed: typing.Literal[False] = False
) -> Config: ...
@typing.overload
def load_config(
    name_or_path: str | Path, overrides: Mapping[str, Any] | None = None, *, typed: typing.Literal[True]
) -> CCNetConfig: ...
def load_config(
    name_or_path: str | Path, overrides: Mapping[str, Any] | None = None, typed: bool = False
) -> Config | CCNetConfig:
    """Load, resolve ``base:`` chains, apply ``overrides`` (nested mapping) and validate a config.

    Returns the mapping (as checkpoints store it), or with ``typed=True`` the :class:`CCNetConfig` that the
    components take. ``overrides`` are checked key by key first (:func:`check_overrides`).
    """
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
        check_overrides(overrides)
        cfg = deep_merge(cfg, _canonical(overrides))
    validate_config(cfg, where)
    return CCNetConfig.from_dict(cfg, where) if typed else cfg


def _check_section(
    cfg: Config, section: str, keys: Mapping[str, tuple[tuple[type, ...], bool]], where: str, prefix: str = ""
) -> None:
    block = cfg.get(section)
    section = prefix + section
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: section '{section}' is missing or not a mapping")
    for key, (types, required) in keys.items():
        if key not in block:
            if required:
                raise ConfigError(f"{where}: '{section}.{key}' is required")
            continue
        _check_value(where, f"{section}.{key}", block[key], types)
    unknown = sorted(set(block) - set(keys))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(section + '.' + k for k in unknown)}; "
            f"allowed: {', '.join(sorted(keys))}"
        )


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
        if section in OPTIONAL_SECTIONS and section not in cfg:
            continue
        _check_section(cfg, section, keys, where)
    for section, kinds in KINDS.items():
        if cfg[section]["kind"] not in kinds:
            raise ConfigError(
                f"{where}: '{section}.kind' must be one of {', '.join(kinds)}, got {cfg[section]['kind']!r}"
            )
    if (cfg["stage1"]["kind"] == "sd") != (cfg["ldm"]["kind"] == "sd"):
        raise ConfigError(f"{where}: stage1.kind and ldm.kind must both be 'sd' (SD-2.1 path) or both 'monai'")
    target = cfg["ldm"].get("target")
    if target is not None and target not in LDM_TARGETS:
        raise ConfigError(f"{where}: 'ldm.target' must be one of {', '.join(LDM_TARGETS)}, got {target!r}")
    if target == "residual" and "mean" not in cfg:
        raise ConfigError(f"{where}: 'ldm.target: residual' needs the 'mean' section (the conditional-mean network)")
    if "mean" in cfg and cfg["ldm"]["kind"] != "monai":
        raise ConfigError(f"{where}: the 'mean' section needs the MONAI networks (ldm.kind 'monai')")
    if "mean" in cfg and cfg["image_size"] < 32:  # BasicUNet pools 4 times; its norms need 2x2 at the bottom
        raise ConfigError(f"{where}: the 'mean' network needs image_size >= 32, got {cfg['image_size']}")
    change_scale = cfg["ldm"].get("change_scale")
    if change_scale is not None and not change_scale > 0:
        raise ConfigError(f"{where}: 'ldm.change_scale' must be > 0, got {change_scale}")
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
    for stage in train:
        decay = train[stage].get("ema_decay")
        if decay is not None and not 0 <= decay < 1:
            raise ConfigError(f"{where}: 'train.{stage}.ema_decay' must be within [0, 1), got {decay}")
        weight = train[stage].get("enhancement_weight")
        if weight is not None and weight < 0:
            raise ConfigError(f"{where}: 'train.{stage}.enhancement_weight' must be >= 0, got {weight}")
    if not 0 <= float(train.get("ldm", {}).get("text_dropout", 0.0)) <= 1:
        raise ConfigError(f"{where}: 'train.ldm.text_dropout' must be within 0..1")
    if cfg["sample"]["steps"] < 1 or cfg["sample"]["batch_size"] < 1:
        raise ConfigError(f"{where}: 'sample.steps' and 'sample.batch_size' must be >= 1")
    strength = cfg["sample"].get("strength")
    if strength is not None and not 0 < strength <= 1:
        raise ConfigError(f"{where}: 'sample.strength' must be within (0, 1], got {strength}")
    eta = cfg["sample"].get("eta")
    if eta is not None and eta < 0:
        raise ConfigError(f"{where}: 'sample.eta' must be >= 0, got {eta}")
    if cfg["ldm"]["kind"] == "monai":
        _check_params(cfg, where)


def _check_params(cfg: Config, where: str) -> None:
    """Check the ``params`` blocks against the MONAI constructors (names only; values are checked on build)."""
    light_monai()
    from monai.networks.nets import AutoencoderKL, BasicUNet, ControlNet, DiffusionModelUNet, PatchDiscriminator

    for key in ("params", "noise"):
        mean = (cfg.get("mean") or {}).get(key) or {}
        bad = sorted(set(mean) - (set(inspect.signature(BasicUNet.__init__).parameters) - {"self"}))
        if bad:
            raise ConfigError(f"{where}: 'mean.{key}' has unknown argument(s) {', '.join(bad)} of BasicUNet")
        clash = sorted(set(mean) & {"spatial_dims", "in_channels", "out_channels"})
        if clash:
            raise ConfigError(f"{where}: 'mean.{key}.{clash[0]}' is set by CC-Net itself; remove it")
    managed = {"spatial_dims", "with_conditioning", "num_class_embeds", "cross_attention_dim", "include_fc"}
    for section, cls in (
        ("stage1", AutoencoderKL),
        ("discriminator", PatchDiscriminator),
        ("ldm", DiffusionModelUNet),
        ("controlnet", ControlNet),
    ):
        params = cfg[section].get("params") or {}
        allowed = set(inspect.signature(cls.__init__).parameters) - {"self"}
        bad = sorted(set(params) - allowed)
        if bad:
            raise ConfigError(
                f"{where}: '{section}.params' has unknown argument(s) {', '.join(bad)} of "
                f"{cls.__name__}; allowed: {', '.join(sorted(allowed))}"
            )
        clash = sorted(set(params) & managed - {"spatial_dims", "cross_attention_dim", "include_fc"})
        if clash:
            raise ConfigError(f"{where}: '{section}.params.{clash[0]}' is set by CC-Net itself; remove it")
