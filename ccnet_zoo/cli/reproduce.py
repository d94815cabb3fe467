"""``ccnet-zoo reproduce --table 1``: the paper's Table 1 as one command (see ccnet_zoo.reproduce)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ccnet_zoo.cli._errors import user_errors
from ccnet_zoo.cli._options import parse_sets, set_option


@click.command("reproduce", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--table", type=click.Choice(["1"]), required=True, help="Which table of the paper (1).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("runs/table1"),
    show_default=True,
    help="Run folder; finished stages in it are reused.",
)
@click.option("--data", type=click.Choice(["phantom", "duke"]), default="phantom", show_default=True)
@click.option("--data-root", type=click.Path(path_type=Path), help="Prepared dataset (required for duke).")
@click.option("--weights", help="Registry name of trained CC-Net weights: skip training.")
@click.option("--config", default="tiny", show_default=True, help="Model config name or YAML file.")
@set_option("Config override, e.g. train.ae.epochs=2.")
@click.option("--patients", type=click.IntRange(min=4), default=96, show_default=True, help="Phantom patients.")
@click.option("--slices", type=click.IntRange(min=1), default=4, show_default=True, help="Phantom slices per patient.")
@click.option("--size", type=click.IntRange(min=16), default=64, show_default=True, help="Phantom image size.")
@click.option(
    "--split",
    default="random-allphases",
    show_default=True,
    help="Phantom split spec ('random-allphases': test patients with all four post phases).",
)
@click.option(
    "--intensity",
    type=click.Choice(["patient", "phase"]),
    default="patient",
    show_default=True,
    help="Phantom PNG scaling: one window per patient across phases, or per phase volume (CC-Net's).",
)
@click.option("--steps", type=click.IntRange(min=1), help="DDIM steps (default: the config's).")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="torch CPU threads.")
@click.option("--paper-quirks", is_flag=True, help="Metrics exactly as the paper's script computed them.")
@click.option(
    "--fid-sqrtm",
    type=click.Choice(["scipy", "eigh"]),
    default="eigh",
    show_default=True,
    help="Matrix square root of FID (eigh: frd's stable method; scipy: pytorch-fid's).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@user_errors("reproduce")
def reproduce(
    table: str,
    out: Path,
    data: str,
    data_root: Path | None,
    weights: str | None,
    config: str,
    sets: tuple[str, ...],
    patients: int,
    slices: int,
    size: int,
    split: str,
    intensity: str,
    steps: int | None,
    batch_size: int,
    device: str | None,
    threads: int,
    paper_quirks: bool,
    fid_sqrtm: str,
    seed: int,
    quiet: bool,
) -> None:
    """CC-Net vs the pre-contrast baseline per DCE phase: the paper's Table 1 plus SSIM, MS-SSIM, PSNR.

    Default: the embedded phantom, the tiny CC-Net trained here, the test split. Prints the Markdown
    table (95 % intervals per cell) and a verdict per phase and metric; writes table.md/.csv/.json,
    sample_grid.png and kinetics.png into --out.
    """
    import torch

    from ccnet_zoo.reproduce import ReproduceConfig, reproduce_table1
    from ccnet_zoo.reproduce.table import CLAIM_METRICS

    torch.set_num_threads(threads)
    cfg = ReproduceConfig(
        out=out,
        data=data,
        data_root=data_root,
        patients=patients,
        slices=slices,
        size=size,
        split=split,
        intensity=intensity,
        seed=seed,
        config=config,
        overrides=parse_sets(sets),
        weights=weights,
        steps=steps,
        batch_size=batch_size,
        device=device,
        threads=threads,
        paper_quirks=paper_quirks,
        fid_sqrtm=fid_sqrtm,
    )
    result = reproduce_table1(cfg, progress=not quiet and sys.stderr.isatty())
    click.echo((out / "table.md").read_text(encoding="utf-8"), nl=False)
    c = result["claim"]
    wins = ", ".join(f"{m.upper()} {c[m]['phases_ccnet_better']}" for m in CLAIM_METRICS)
    click.echo(
        f"\nCC-Net better than the pre-contrast input (interval excluding 0), phases: {wins} -> claim "
        f"{'holds' if c['holds'] else 'does not hold'}"
    )
