"""The Table 1 experiment as resumable stages: data -> training (or weights) -> generation -> metrics -> table.

Run folder (``config.out``)::

    data/            the phantom (embedded default) unless --data duke --data-root DIR
    runs/{ae,mean,ldm,controlnet}/   training runs (each with DONE.json once finished; mean only where
                     ldm.target is residual)
    generated/p<k>/  synthetic phase-k images of the test split, named like the real ones
    metrics/phase<k>-{baseline,ccnet}.json   (+ .rows.npz: the FRD/FID feature rows behind the verdicts)
    table.md table.csv table.json  sample_grid.png kinetics.png

``reproduce.json`` records what this run wrote and the fingerprint of every stage (:mod:`.state`): a stage is
reused only when its inputs are unchanged, otherwise it is redone; an interrupted training run with unchanged
settings resumes from its last checkpoint; a killed data stage is redone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import platform
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccnet_zoo.reproduce.config import ROWS, ReproduceConfig
from ccnet_zoo.reproduce.state import ReproduceError, RunState, digest
from ccnet_zoo.reproduce.table import CLAIM_METRICS, build_rows, claim, markdown, to_csv, verdicts
from frd._files import replace_owned_text

if TYPE_CHECKING:
    from ccnet_zoo.metrics.set_rows import SetRows
    from ccnet_zoo.models.config import CCNetConfig

log = logging.getLogger(__name__)
STAGES = ("ae", "mean", "ldm", "controlnet")
#: config sections each training stage depends on (a change elsewhere does not retrain it)
_SECTIONS = {
    "ae": ("image_size", "seed", "stage1", "discriminator", "perceptual"),
    "mean": ("image_size", "seed", "ldm", "mean"),
    "ldm": ("image_size", "seed", "stage1", "text", "ldm", "scheduler", "mean"),
    "controlnet": ("image_size", "seed", "stage1", "text", "ldm", "controlnet", "scheduler", "mean"),
}
#: training options that change speed, not results
_SPEED_ONLY = ("num_workers", "preload", "log_every", "checkpoint_every")

__all__ = ["ReproduceError", "reproduce_table1"]


def _write(path: Path, text: str) -> None:
    replace_owned_text(path, text)


def _code() -> str:
    from frd._version import __version__

    return __version__


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _data(cfg: ReproduceConfig, state: RunState, progress: bool) -> tuple[Path, dict[str, Any]]:
    """The dataset and its fingerprint. A phantom this run wrote is redone when its settings changed or when
    an earlier attempt was killed mid-way; a dataset of the user's is only read."""
    from ccnet_zoo.data.layout import METADATA_FILE

    if cfg.data == "duke":
        if cfg.data_root is None or not (Path(cfg.data_root) / METADATA_FILE).is_file():
            raise ReproduceError("--data duke needs --data-root DIR prepared by 'ccnet-zoo prepare-duke'")
        root = Path(cfg.data_root)
        return root, {"kind": "duke", "root": str(root.resolve()), "metadata": _sha256(root / METADATA_FILE)}
    if cfg.data != "phantom":
        raise ReproduceError(f"--data must be phantom or duke, got {cfg.data!r}")
    from ccnet_zoo.data.phantom.generator import PhantomConfig, generate_phantom

    pc = PhantomConfig(
        patients=cfg.patients,
        slices=cfg.slices,
        size=cfg.size,
        seed=cfg.seed,
        split=cfg.split,
        intensity=cfg.intensity,
    )
    fp = {
        "kind": "phantom",
        "patients": cfg.patients,
        "slices": cfg.slices,
        "size": cfg.size,
        "seed": cfg.seed,
        "split": cfg.split,
        "intensity": cfg.intensity,
        "code": _code(),
    }
    if cfg.data_root is not None:  # the user's folder: used when finished, else written only when empty
        root = Path(cfg.data_root)
        if not (root / "dataset.json").is_file():
            generate_phantom(root, pc, progress=progress)
        return root, {"kind": "phantom-folder", "root": str(root.resolve()), "metadata": _sha256(root / METADATA_FILE)}
    root = cfg.out / "data"
    if state.is_done("data", fp) and (root / "dataset.json").is_file():
        log.info("data: reusing %s", root)
        return root, fp
    state.check("data", fp)
    state.claim(root)
    state.start("data", fp)
    # only the files the phantom writer owns are replaced: a killed or outdated phantom is simply redone
    generate_phantom(root, pc, overwrite=True, progress=progress)
    state.finish("data")
    return root, fp


def _model_config(cfg: ReproduceConfig) -> CCNetConfig | None:
    """The model config with ``--set`` applied (checked key by key); ``None`` for registered weights (they carry
    their own config)."""
    from ccnet_zoo.models.config import load_config

    return None if cfg.weights else load_config(cfg.config, cfg.overrides, typed=True)


def _stage_config(config: CCNetConfig, stage: str) -> dict[str, Any]:
    resolved = config.to_dict()  # the fingerprint holds the plain mapping, as checkpoints do
    # a section the config leaves out is left out here too (fingerprints of configs without it stay as they were)
    part = {k: resolved[k] for k in _SECTIONS[stage] if k in resolved}
    part["train"] = {k: v for k, v in resolved["train"].get(stage, {}).items() if k not in _SPEED_ONLY}
    return part


def _fresh(state: RunState, folder: Path, key: str, fp: dict[str, Any]) -> bool:
    """Make ``folder`` ready for stage ``key``: True to resume an interrupted attempt with the same fingerprint,
    False after removing an outdated one (only a folder this run wrote is ever removed)."""
    diff = state.check(key, fp)
    resumable = not diff and state.fingerprint(key) is not None and folder.is_dir() and state.owns(folder)
    if not resumable and folder.exists() and state.owns(folder):
        shutil.rmtree(folder)
    state.claim(folder)
    state.start(key, fp)
    return resumable


def _train(
    cfg: ReproduceConfig, state: RunState, data: Path, data_fp: dict[str, Any], progress: bool, resolved: CCNetConfig
) -> tuple[Path, dict[str, Any]]:
    from ccnet_zoo.train.api import train_stage

    runs = state.claim(cfg.out / "runs")
    upstream = digest(data_fp)
    residual = resolved.ldm.target == "residual"
    mean_digest = None
    for stage in STAGES:
        if stage == "mean" and not residual:
            continue
        out = runs / stage
        key = f"train/{stage}"
        # the mean network does not use the autoencoder: it hangs off the data, and the LDM depends on both
        up = digest(data_fp) if stage == "mean" else upstream
        fp = {"data": digest(data_fp), "config": _stage_config(resolved, stage), "upstream": up, "code": _code()}
        if stage == "ldm" and mean_digest is not None:
            fp["mean"] = mean_digest
        if stage == "mean":
            mean_digest = digest(fp)
        else:
            upstream = digest(fp)
        if state.is_done(key, fp) and (out / "DONE.json").is_file():
            log.info("train %s: reusing %s", stage, out)
            continue
        resume = _fresh(state, out, key, fp)
        t0 = time.perf_counter()
        links = {
            "ae": runs / "ae" if stage not in ("ae", "mean") else None,
            "ldm": runs / "ldm" if stage == "controlnet" else None,
            "mean": runs / "mean" if residual and stage in ("ldm", "controlnet") else None,
        }
        train_stage(
            stage,
            resolved,
            data,
            out,
            resume=resume,
            device=cfg.device,
            threads=cfg.threads,
            progress=progress,
            **links,
        )
        _write(out / "DONE.json", json.dumps({"stage": stage, "seconds": time.perf_counter() - t0}))
        state.finish(key)
    return runs / "controlnet", {"trained": upstream}


def _model(
    cfg: ReproduceConfig,
    state: RunState,
    data: Path,
    data_fp: dict[str, Any],
    progress: bool,
    model_cfg: CCNetConfig | None = None,
) -> tuple[Any, dict[str, Any]]:
    """(a loader of the pipeline, the model's fingerprint): registered weights, or the three trained stages."""
    from ccnet_zoo.device import resolve_device
    from ccnet_zoo.pipeline import CCNetPipeline

    device = resolve_device(cfg.device)  # generation runs on the GPU when one is present
    if cfg.weights:
        from ccnet_zoo.weights.registry import Registry

        sha = Registry.load().entry(cfg.weights).sha256
        return (lambda: CCNetPipeline.from_pretrained(cfg.weights, device)), {"weights": cfg.weights, "sha256": sha}
    resolved = model_cfg or _model_config(cfg)
    run, fp = _train(cfg, state, data, data_fp, progress, resolved)

    def load() -> CCNetPipeline:
        pipe = CCNetPipeline.from_pretrained(run, device)
        # a reused run stores the sample section it was trained with; sampling follows this run's settings
        pipe.config = dataclasses.replace(pipe.config, sample=resolved.sample)
        return pipe

    return load, fp


def _generate(
    cfg: ReproduceConfig,
    state: RunState,
    data: Path,
    data_fp: dict[str, Any],
    progress: bool,
    model_cfg: CCNetConfig | None = None,
) -> tuple[Path, dict[str, Any]]:
    from ccnet_zoo.pipeline import MANIFEST, generate_split
    from ccnet_zoo.train.data import load_rows

    out = cfg.out / "generated"
    model_cfg = model_cfg or _model_config(cfg)
    loader, model_fp = _model(cfg, state, data, data_fp, progress, model_cfg)
    sample = model_cfg.to_dict()["sample"] if model_cfg is not None else {}
    sample.pop("batch_size", None)  # images do not depend on the batching
    fp = {
        "model": digest(model_fp),
        "model_detail": model_fp,
        "data": digest(data_fp),
        "steps": cfg.steps,
        "sample": sample,
        "seed": cfg.seed,
        "phases": list(cfg.phases),
        "code": _code(),
    }
    if state.is_done("generate", fp) and (out / MANIFEST).is_file():
        log.info("generate: reusing %s", out)
        return out, fp
    _fresh(state, out, "generate", fp)
    pipe = loader()
    rows = [r for r in load_rows(data, pipe.config.text.source)["test"] if int(r["phase"]) in cfg.phases]
    if not rows:
        raise ReproduceError(f"{data} has no test pairs for phases {cfg.phases}")
    generate_split(
        pipe, rows, out, batch_size=cfg.batch_size, steps=cfg.steps, seed=cfg.seed, overwrite=True, progress=progress
    )
    state.finish("generate")
    return out, fp


def _metric_weights() -> dict[str, Any]:
    """Which FID/LPIPS networks are usable now: fetching one later makes the metrics stage rerun."""
    from ccnet_zoo.metrics.compute import DEFAULT_ALEXNET, DEFAULT_INCEPTION
    from ccnet_zoo.weights.registry import Registry

    reg = Registry.load()
    out: dict[str, Any] = {}
    for name in (DEFAULT_INCEPTION, DEFAULT_ALEXNET):
        e = reg.entries.get(name)
        out[name] = e.sha256 if e is not None and reg.locate(name) is not None else None
    return out


def _metrics(
    cfg: ReproduceConfig, state: RunState, data: Path, generated: Path, data_fp: dict[str, Any], gen_fp: dict[str, Any]
) -> tuple[dict[int, dict[str, dict[str, Any]]], dict[int, dict[str, dict[str, SetRows]]]]:
    """The MetricsReport dict of every (phase, row), and the FRD/FID feature rows of each (for the verdicts)."""
    from ccnet_zoo.device import resolve_device
    from ccnet_zoo.metrics import compute_metrics
    from ccnet_zoo.metrics.set_rows import load_set_rows, save_set_rows

    folder = cfg.out / "metrics"
    fp = {
        "data": digest(data_fp),
        "generated": digest(gen_fp),
        "paper_quirks": cfg.paper_quirks,
        "frd_preset": cfg.frd_preset,
        "fid_sqrtm": cfg.fid_sqrtm,
        "weights": _metric_weights(),
        "code": _code(),
    }
    if not state.is_done("metrics", fp):
        _fresh(state, folder, "metrics", fp)
    folder.mkdir(parents=True, exist_ok=True)
    test = data / "test"
    phases = sorted({int(p.name[1:]) for p in generated.glob("p*") if p.is_dir() and p.name[1:].isdigit()})
    reports: dict[int, dict[str, dict[str, Any]]] = {}
    set_rows: dict[int, dict[str, dict[str, SetRows]]] = {}
    common = {
        "paper_quirks": cfg.paper_quirks,
        "frd_preset": cfg.frd_preset,
        "fid_sqrtm": cfg.fid_sqrtm,
        "device": str(resolve_device(cfg.device)),
    }
    for k in phases:
        reports[k], set_rows[k] = {}, {}
        for method, tag in zip(ROWS, ("baseline", "ccnet"), strict=True):
            path, rows_path = folder / f"phase{k}-{tag}.json", folder / f"phase{k}-{tag}.rows.npz"
            if path.is_file() and rows_path.is_file():  # this fingerprint's (an outdated folder was removed above)
                reports[k][method] = json.loads(path.read_text(encoding="utf-8"))
                set_rows[k][method] = load_set_rows(rows_path)
                continue
            if tag == "baseline":  # real pre-contrast input (phase 0) against real phase k
                rep = compute_metrics(test / "test_A", test / "test_B", phase=k, real_phase=0, **common)
            else:  # synthetic phase k vs real phase k
                rep = compute_metrics(test / "test_B", generated / f"p{k}", phase=k, **common)
            reports[k][method] = rep.to_dict(per_pair=True)  # the verdicts pair the values by patient/slice
            set_rows[k][method] = rep.set_rows()  # FRD/FID recomputed per patient resample, never re-extracted
            save_set_rows(rows_path, set_rows[k][method])
            _write(path, json.dumps(reports[k][method], indent=2))
    state.finish("metrics")
    return reports, set_rows


def reproduce_table1(cfg: ReproduceConfig, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) the experiment; returns the table.json content.

    Stages whose fingerprint is unchanged are reused, the others redone; nothing in ``cfg.out`` that this
    command did not write (``reproduce.json``) is ever replaced or removed.
    """
    import frd

    model_cfg = _model_config(cfg)  # loaded and checked once, before any work
    t0 = time.perf_counter()
    cfg.out.mkdir(parents=True, exist_ok=True)
    state = RunState(cfg.out)
    names = ["table.md", "table.csv", "table.json", "sample_grid.png", "kinetics.png", "runs", "generated", "metrics"]
    for name in names + (["data"] if cfg.data == "phantom" and cfg.data_root is None else []):
        state.claim(cfg.out / name)  # before any work: a user's file of one of these names stops the run at once
    data, data_fp = _data(cfg, state, progress)
    generated, gen_fp = _generate(cfg, state, data, data_fp, progress, model_cfg)
    reports, set_rows = _metrics(cfg, state, data, generated, data_fp, gen_fp)
    t_verdicts = time.perf_counter()
    found = verdicts(reports, set_rows)
    seconds_verdicts = time.perf_counter() - t_verdicts
    log.info("verdicts (paired bootstraps over patients): %.1f s", seconds_verdicts)
    rows = build_rows(reports, found)
    claims = {m: claim(found, m) for m in CLAIM_METRICS}
    from ccnet_zoo.reproduce.figures import kinetics_figure, sample_grid

    outputs = {name: state.claim(cfg.out / name) for name in names[:5]}
    figures = {
        "sample_grid": str(sample_grid(data, generated, outputs["sample_grid.png"])),
        "kinetics": str(kinetics_figure(generated, outputs["kinetics.png"])),
    }
    result = {
        "table": rows,
        "verdicts": found,
        "claim": {
            **claims,
            "holds": all(c["wins"] >= 3 for c in claims.values()),
            "statement": "CC-Net better than the pre-contrast baseline (95 % interval excluding 0) on FRD, MSE, "
            "FID, LPIPS and SSIM in at least 3 of 4 phases",
        },
        "settings": cfg.to_dict(),
        "data": str(data),
        "figures": figures,
        "fingerprints": {k: {"hash": v.get("hash"), **v["fingerprint"]} for k, v in sorted(state.stages.items())},
        "versions": {"frd": frd.__version__, "python": platform.python_version(), **_torch_version()},
        "seconds": time.perf_counter() - t0,
        "seconds_verdicts": seconds_verdicts,
    }
    _write(outputs["table.md"], markdown(rows, found))
    _write(outputs["table.csv"], to_csv(rows))
    _write(outputs["table.json"], json.dumps(result, indent=2, default=str))
    return result


def _torch_version() -> dict[str, str]:
    import torch

    return {"torch": torch.__version__}
