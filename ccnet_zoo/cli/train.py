"""``ccnet-zoo train STAGE``: one stage of CC-Net (``python -m ccnet_zoo.train`` runs it under torchrun).

ccnet-zoo train ae --config tiny --data PHANTOM --out runs/ae
ccnet-zoo train ldm --config tiny --data PHANTOM --ae runs/ae --out runs/ldm
ccnet-zoo train controlnet --config tiny --data PHANTOM --ae runs/ae --ldm runs/ldm --out runs/cn
torchrun --nproc_per_node 2 -m ccnet_zoo.train ldm ...     # DDP (gloo on CPU, NCCL on GPUs)
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import click

from ccnet_zoo.cli._errors import user_errors
from ccnet_zoo.cli._options import parse_sets, set_option

_STAGES = ("ae", "mean", "ldm", "controlnet")
_PATH = click.Path(path_type=str)


def setup_logging() -> None:
    """WARNING and above on stderr, unless the ``ccnet-zoo`` group (or the caller) configured logging."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


@click.command("train", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("stage", type=click.Choice(_STAGES))
@click.option(
    "--config",
    "config",
    default="tiny",
    show_default=True,
    help="Shipped config (tiny, aekl_v0, ldm_v6, controlnet_v1, sd21) or a .yaml file.",
)
@click.option("--data", required=True, type=_PATH, help="Dataset folder (phantom / prepare-duke) or datalist folder.")
@click.option("--out", required=True, type=_PATH, help="Run folder (checkpoints, losses.csv, losses.png).")
@click.option("--ae", type=_PATH, default=None, help="AE run (for ldm and controlnet with the MONAI autoencoder).")
@click.option("--ldm", type=_PATH, default=None, help="LDM run (for controlnet).")
@click.option("--mean", type=_PATH, default=None, help="Mean run (for ldm and controlnet with ldm.target residual).")
@click.option("--pretrained", type=_PATH, default=None, help="Local Stable-Diffusion-2.1-base folder (sd21, CLIP).")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Override train.<stage>.epochs.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Override train.<stage>.batch_size.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None, help="Override train.<stage>.lr.")
@click.option("--seed", type=int, default=None, help="Override the config's seed.")
@set_option("Config override (repeatable), e.g. train.ae.epochs=2.")
@click.option("--resume", is_flag=True, help="Continue from <out>/checkpoints/last after an interruption.")
@click.option("--overwrite", is_flag=True, help="Start again, replacing the run in --out.")
@click.option("--device", default=None, help="cpu, cuda or cuda:N [default: cuda when present].")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="CPU threads.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@user_errors("train")
def train(
    stage: str,
    config: str,
    data: str,
    out: str,
    ae: str | None,
    ldm: str | None,
    mean: str | None,
    pretrained: str | None,
    epochs: int | None,
    batch_size: int | None,
    lr: float | None,
    seed: int | None,
    sets: tuple[str, ...],
    resume: bool,
    overwrite: bool,
    device: str | None,
    threads: int,
    quiet: bool,
) -> None:
    """Train one stage of CC-Net: ae (stage 1), mean (the conditional mean of ldm.target residual), ldm (latent
    diffusion), controlnet (pre-contrast control)."""
    setup_logging()
    from ccnet_zoo.models.config import deep_merge
    from ccnet_zoo.train.api import train_stage

    # --set first, the dedicated options (--epochs, --batch-size, --lr, --seed) win over it
    stage_over = {k: v for k, v in (("epochs", epochs), ("batch_size", batch_size), ("lr", lr)) if v is not None}
    options: dict[str, Any] = {"train": {stage: stage_over}} if stage_over else {}
    if seed is not None:
        options["seed"] = seed
    overrides = deep_merge(parse_sets(sets), options)
    best = train_stage(
        stage,
        config,
        data,
        out,
        ae=ae,
        ldm=ldm,
        mean=mean,
        pretrained=pretrained,
        resume=resume,
        overwrite=overwrite,
        device=device,
        threads=threads,
        overrides=overrides,
        progress=not quiet,
    )
    if os.environ.get("RANK", "0") == "0":  # one line, also under torchrun
        click.echo(f"{stage}: best checkpoint {best}")
