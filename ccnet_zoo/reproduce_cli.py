"""``ccnet-zoo reproduce --table 1``: the paper's Table 1 as one command (see ccnet_zoo.reproduce)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click


def _overrides(pairs: tuple[str, ...]) -> dict[str, Any]:
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--set")
        node = out
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = yaml.safe_load(value)
    return out


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
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Config override, e.g. train.ae.epochs=2.")
@click.option("--patients", type=click.IntRange(min=4), default=96, show_default=True, help="Phantom patients.")
@click.option("--slices", type=click.IntRange(min=1), default=4, show_default=True, help="Phantom slices per patient.")
@click.option("--size", type=click.IntRange(min=16), default=64, show_default=True, help="Phantom image size.")
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
    steps: int | None,
    batch_size: int,
    device: str | None,
    threads: int,
    paper_quirks: bool,
    fid_sqrtm: str,
    seed: int,
    quiet: bool,
) -> None:
    """CC-Net vs the pre-contrast baseline per DCE phase: FRD, FID, LPIPS, MSE (the paper's Table 1).

    Default: the embedded phantom, the tiny CC-Net trained here, the test split. Prints the Markdown
    table; writes table.md/.csv/.json, sample_grid.png and kinetics.png into --out.
    """
    import torch

    from ccnet_zoo.reproduce import ReproduceConfig, reproduce_table1
    from ccnet_zoo.reproduce.run import ReproduceError

    torch.set_num_threads(threads)
    cfg = ReproduceConfig(out=out, data=data, data_root=data_root, patients=patients, slices=slices, size=size,
                          seed=seed, config=config, overrides=_overrides(sets), weights=weights, steps=steps,
                          batch_size=batch_size, device=device, threads=threads, paper_quirks=paper_quirks,
                          fid_sqrtm=fid_sqrtm)  # fmt: skip
    try:
        result = reproduce_table1(cfg, progress=not quiet and sys.stderr.isatty())
    except (ReproduceError, ValueError, FileNotFoundError, RuntimeError) as err:
        click.echo(f"ccnet-zoo reproduce: error: {str(err).splitlines()[0] if str(err) else type(err).__name__}",
                   err=True)  # fmt: skip
        sys.exit(2)
    click.echo((out / "table.md").read_text(encoding="utf-8"), nl=False)
    c = result["claim"]
    wins = ", ".join(f"{m.upper()} {c[m]['phases_ccnet_better']}" for m in ("frd", "mse", "fid", "lpips", "ssim"))
    click.echo(f"\nCC-Net better than the pre-contrast input (interval excluding 0), phases: {wins} -> claim "
               f"{'holds' if c['holds'] else 'does not hold'}")  # fmt: skip
