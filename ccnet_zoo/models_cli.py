"""``ccnet-zoo train`` and ``ccnet-zoo generate`` (click commands; torch is imported inside the commands).

ccnet-zoo train ae --config tiny --data PHANTOM --out runs/ae
ccnet-zoo train ldm --config tiny --data PHANTOM --ae runs/ae --out runs/ldm
ccnet-zoo train controlnet --config tiny --data PHANTOM --ae runs/ae --ldm runs/ldm --out runs/cn
ccnet-zoo generate --controlnet runs/cn --data PHANTOM --out generated --measure
torchrun --nproc_per_node 2 -m ccnet_zoo.train ldm ...     # DDP (gloo on CPU, NCCL on GPUs)
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

import click

_STAGES = ("ae", "ldm", "controlnet")
_PATH = click.Path(path_type=str)


def _fail(command: str, err: Exception) -> None:
    click.echo(f"ccnet-zoo {command}: error: {err}", err=True)
    sys.exit(2)


def _logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _errors() -> tuple[type[Exception], ...]:
    from ccnet_zoo.data.errors import DataError
    from ccnet_zoo.models.errors import ModelError
    from ccnet_zoo.weights.errors import WeightsError

    return (ModelError, DataError, WeightsError)


@click.command("train", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("stage", type=click.Choice(_STAGES))
@click.option("--config", "config", default="tiny", show_default=True,
              help="Shipped config (tiny, aekl_v0, ldm_v6, controlnet_v1, sd21) or a .yaml file.")  # fmt: skip
@click.option("--data", required=True, type=_PATH, help="Dataset folder (phantom / prepare-duke) or datalist folder.")
@click.option("--out", required=True, type=_PATH, help="Run folder (checkpoints, losses.csv, losses.png).")
@click.option("--ae", type=_PATH, default=None, help="AE run (for ldm and controlnet with the MONAI autoencoder).")
@click.option("--ldm", type=_PATH, default=None, help="LDM run (for controlnet).")
@click.option("--pretrained", type=_PATH, default=None, help="Local Stable-Diffusion-2.1-base folder (sd21, CLIP).")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Override train.<stage>.epochs.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Override train.<stage>.batch_size.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None, help="Override train.<stage>.lr.")
@click.option("--seed", type=int, default=None, help="Override the config's seed.")
@click.option("--resume", is_flag=True, help="Continue from <out>/checkpoints/last after an interruption.")
@click.option("--overwrite", is_flag=True, help="Start again, replacing the run in --out.")
@click.option("--device", default=None, help="cpu, cuda or cuda:N [default: cuda when present].")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="CPU threads.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(stage: str, config: str, data: str, out: str, ae: str | None, ldm: str | None, pretrained: str | None,
          epochs: int | None, batch_size: int | None, lr: float | None, seed: int | None, resume: bool,
          overwrite: bool, device: str | None, threads: int, quiet: bool) -> None:  # fmt: skip
    """Train one stage of CC-Net: ae (stage 1), ldm (latent diffusion), controlnet (pre-contrast control)."""
    _logging()
    from ccnet_zoo.train.api import train_stage

    stage_over: dict[str, Any] = {k: v for k, v in (("epochs", epochs), ("batch_size", batch_size), ("lr", lr))
                                  if v is not None}  # fmt: skip
    overrides: dict[str, Any] = {"train": {stage: stage_over}} if stage_over else {}
    if seed is not None:
        overrides["seed"] = seed
    try:
        best = train_stage(stage, config, data, out, ae=ae, ldm=ldm, pretrained=pretrained, resume=resume,
                           overwrite=overwrite, device=device, threads=threads, overrides=overrides,
                           progress=not quiet)  # fmt: skip
    except _errors() as err:
        _fail("train", err)
    if os.environ.get("RANK", "0") == "0":  # one line, also under torchrun
        click.echo(f"{stage}: best checkpoint {best}")


@click.command("generate", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--controlnet", "run", default=None, type=_PATH, help="ControlNet run (names its AE and LDM runs).")
@click.option("--weights", default=None, help="Registered CC-Net weights instead of a run (ccnet-zoo weights list).")
@click.option("--data", required=True, type=_PATH, help="Dataset folder or datalist folder.")
@click.option("--out", required=True, type=_PATH, help="Output folder: p<k>/<real name>.png + generated.tsv.")
@click.option("--split", type=click.Choice(["train", "validation", "test"]), multiple=True,
              help="Split(s) to generate [default: test].")  # fmt: skip
@click.option("--steps", type=click.IntRange(min=1), default=None, help="DDIM steps [default: config, paper 200].")
@click.option("--guidance-scale", type=float, default=None,
              help="Classifier-free guidance; 0 = unconditional branch (paper) [default: config].")  # fmt: skip
@click.option("--text-branch", is_flag=True, help="Use the text branch only (no guidance mixing).")
@click.option("--conditioning-scale", type=float, default=None, help="ControlNet scale [default: config].")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Images per batch [default: config].")
@click.option("--seed", type=int, default=42, show_default=True, help="Noise seed (same seed, same images).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N rows.")
@click.option("--ae", type=_PATH, default=None, help="Override the AE run recorded in the ControlNet run.")
@click.option("--ldm", type=_PATH, default=None, help="Override the LDM run recorded in the ControlNet run.")
@click.option("--pretrained", type=_PATH, default=None, help="Local Stable-Diffusion-2.1-base folder.")
@click.option("--device", default=None, help="cpu, cuda or cuda:N [default: cuda when present].")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="CPU threads.")
@click.option("--verify", is_flag=True, help="Re-hash the --weights file in full before use.")
@click.option("--measure", is_flag=True, help="Also measure lesion enhancement per phase (enhancement.json).")
@click.option("--overwrite", is_flag=True, help="Replace earlier output in --out.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def generate(run: str | None, weights: str | None, data: str, out: str, split: tuple[str, ...], steps: int | None,
             guidance_scale: float | None, text_branch: bool, conditioning_scale: float | None,
             batch_size: int | None, seed: int, limit: int | None, ae: str | None, ldm: str | None,
             pretrained: str | None, device: str | None, threads: int, verify: bool, measure: bool,
             overwrite: bool, quiet: bool) -> None:  # fmt: skip
    """Synthesize post-contrast phases from the pre-contrast images of a split (DDIM, batched, seeded)."""
    _logging()
    from ccnet_zoo.sample.generate import generate_split
    from ccnet_zoo.sample.pipeline import FROM_CONFIG, CCNetPipeline
    from ccnet_zoo.train.data import load_rows

    try:
        if text_branch and guidance_scale is not None:
            raise click.UsageError("--text-branch and --guidance-scale exclude each other")
        from ccnet_zoo.device import use_device

        dev = use_device(device, threads)  # the GPU when present; cuda = cuda:LOCAL_RANK
        if (run is None) == (weights is None):
            raise click.UsageError("give exactly one of --controlnet RUN and --weights NAME")
        if weights is not None:
            from ccnet_zoo.weights.bundle import load_bundle
            from ccnet_zoo.weights.registry import Registry

            pipe = load_bundle(Registry.load().path(weights, verify=verify), dev)
        else:
            pipe = CCNetPipeline.from_run(run, dev, ae=ae, ldm=ldm, pretrained=pretrained)
        all_rows = load_rows(data, pipe.config["text"]["source"])
        rows = [r for s in (split or ("test",)) for r in all_rows[s]][:limit]
        gs = None if text_branch else (FROM_CONFIG if guidance_scale is None else guidance_scale)
        result = generate_split(pipe, rows, out, batch_size=batch_size or pipe.config["sample"]["batch_size"],
                                steps=steps, guidance_scale=gs, conditioning_scale=conditioning_scale, seed=seed,
                                overwrite=overwrite, progress=not quiet)  # fmt: skip
        click.echo(f"{result.n_images} images in {result.seconds:.1f} s -> {out}")
        if measure:
            from ccnet_zoo.sample.enhancement import measure_enhancement
            from ccnet_zoo.sample.generate import read_manifest

            report = measure_enhancement(read_manifest(result.manifest))
            (result.out / "enhancement.json").write_text(json.dumps(report.as_dict(), indent=1) + "\n")
            click.echo(report.table())
    except _errors() as err:
        _fail("generate", err)
