"""``ccnet-zoo generate``: synthetic post-contrast phases for a split, from a run or registered weights."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from ccnet_zoo.cli._errors import user_errors
from ccnet_zoo.cli._options import parse_sets, set_option
from ccnet_zoo.cli.train import setup_logging

if TYPE_CHECKING:
    from ccnet_zoo.models.config import CCNetConfig

_PATH = click.Path(path_type=str)


def check_sample_overrides(overrides: dict[str, Any]) -> None:
    """``--set`` on generate may only touch ``sample.*`` (the networks are trained); keys and types are checked."""
    from ccnet_zoo.models.config import check_overrides
    from ccnet_zoo.models.errors import ConfigError

    if set(overrides) - {"sample"}:
        raise ConfigError(
            "generate --set may only change sample.* (steps, guidance_scale, conditioning_scale, strength, eta, "
            "acquisition_noise, batch_size); the networks are fixed by the trained weights"
        )
    check_overrides(overrides, "--set")


def sample_overrides(config: CCNetConfig, overrides: dict[str, Any]) -> CCNetConfig:
    """``config`` with ``--set`` overrides of ``sample.*``, checked (:func:`check_sample_overrides`) and validated."""
    check_sample_overrides(overrides)
    return config.with_overrides(overrides, "--set")


@click.command("generate", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--controlnet", "run", default=None, type=_PATH, help="ControlNet run (names its AE and LDM runs).")
@click.option("--weights", default=None, help="Registered CC-Net weights instead of a run (ccnet-zoo weights list).")
@click.option("--data", required=True, type=_PATH, help="Dataset folder or datalist folder.")
@click.option("--out", required=True, type=_PATH, help="Output folder: p<k>/<real name>.png + generated.tsv.")
@click.option(
    "--split",
    type=click.Choice(["train", "validation", "test"]),
    multiple=True,
    help="Split(s) to generate [default: test].",
)
@click.option("--steps", type=click.IntRange(min=1), default=None, help="DDIM steps [default: config, paper 200].")
@click.option(
    "--guidance-scale",
    type=float,
    default=None,
    help="Classifier-free guidance; 0 = unconditional branch (paper) [default: config].",
)
@click.option("--text-branch", is_flag=True, help="Use the text branch only (no guidance mixing).")
@click.option("--conditioning-scale", type=float, default=None, help="ControlNet scale [default: config].")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Images per batch [default: config].")
@click.option("--seed", type=int, default=42, show_default=True, help="Noise seed (same seed, same images).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N rows.")
@click.option("--ae", type=_PATH, default=None, help="Override the AE run recorded in the ControlNet run.")
@click.option("--ldm", type=_PATH, default=None, help="Override the LDM run recorded in the ControlNet run.")
@click.option("--mean", type=_PATH, default=None, help="Override the mean run recorded in the ControlNet run.")
@click.option("--pretrained", type=_PATH, default=None, help="Local Stable-Diffusion-2.1-base folder.")
@click.option("--device", default=None, help="cpu, cuda or cuda:N [default: cuda when present].")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="CPU threads.")
@set_option("Sampling override (repeatable), e.g. sample.steps=50 (only sample.*).")
@click.option("--verify", is_flag=True, help="Re-hash the --weights file in full before use.")
@click.option("--measure", is_flag=True, help="Also measure lesion enhancement per phase (enhancement.json).")
@click.option("--overwrite", is_flag=True, help="Replace earlier output in --out.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@user_errors("generate")
def generate(
    run: str | None,
    weights: str | None,
    data: str,
    out: str,
    split: tuple[str, ...],
    steps: int | None,
    guidance_scale: float | None,
    text_branch: bool,
    conditioning_scale: float | None,
    batch_size: int | None,
    seed: int,
    limit: int | None,
    ae: str | None,
    ldm: str | None,
    mean: str | None,
    pretrained: str | None,
    device: str | None,
    threads: int,
    sets: tuple[str, ...],
    verify: bool,
    measure: bool,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Synthesize post-contrast phases from the pre-contrast images of a split (DDIM, batched, seeded)."""
    setup_logging()
    from ccnet_zoo.pipeline import CCNetPipeline, generate_split
    from ccnet_zoo.train.data import load_rows

    if text_branch and guidance_scale is not None:
        raise click.UsageError("--text-branch and --guidance-scale exclude each other")
    from ccnet_zoo.device import use_device

    dev = use_device(device, threads)  # the GPU when present; cuda = cuda:LOCAL_RANK
    if (run is None) == (weights is None):
        raise click.UsageError("give exactly one of --controlnet RUN and --weights NAME")
    overrides = parse_sets(sets)
    check_sample_overrides(overrides)  # before any network is loaded
    if weights is not None and verify:
        from ccnet_zoo.weights import Registry

        Registry.load().path(weights, verify=True)  # a full re-hash, whatever the stamp says
    if weights is not None:
        pipe = CCNetPipeline.from_pretrained(weights, dev)
    else:
        pipe = CCNetPipeline.from_pretrained(run, dev, ae=ae, ldm=ldm, mean=mean, pretrained=pretrained)
    if overrides:
        pipe.config = sample_overrides(pipe.config, overrides)
    all_rows = load_rows(data, pipe.config.text.source)
    rows = [r for s in (split or ("test",)) for r in all_rows[s]][:limit]
    guidance = "text" if text_branch else guidance_scale
    result = generate_split(
        pipe,
        rows,
        out,
        batch_size=batch_size or pipe.config.sample.batch_size,
        steps=steps,
        guidance=guidance,
        conditioning_scale=conditioning_scale,
        seed=seed,
        overwrite=overwrite,
        progress=not quiet,
    )
    click.echo(f"{result.n_images} images in {result.seconds:.1f} s -> {out}")
    if measure:
        from ccnet_zoo.pipeline import read_manifest
        from ccnet_zoo.sample.enhancement import measure_enhancement

        report = measure_enhancement(read_manifest(result.manifest))
        (result.out / "enhancement.json").write_text(json.dumps(report.as_dict(), indent=1) + "\n")
        click.echo(report.table())
