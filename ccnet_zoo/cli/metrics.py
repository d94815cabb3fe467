"""``ccnet-zoo metrics``: every metric between real and synthetic images (torch is imported when it runs)."""

from __future__ import annotations

import os

import click

from ccnet_zoo.cli._errors import fail, user_errors
from ccnet_zoo.metrics.registry import METRICS


@click.command("metrics")
@click.argument("real", type=click.Path(exists=True, path_type=str))
@click.argument("synth", type=click.Path(exists=True, path_type=str))
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    type=click.Choice(list(METRICS)),
    help="Metric to compute (repeatable) [default: all].",
)
@click.option("--phase", type=click.IntRange(0, 9), default=None, help="Keep only this DCE phase (both sides).")
@click.option(
    "--real-phase",
    type=click.IntRange(0, 9),
    default=None,
    help="Phase of the real side when it differs (0 for the pre-contrast baseline).",
)
@click.option(
    "--paper-quirks",
    is_flag=True,
    help="Reproduce the reference script (per-image min-max, binarised LPIPS input, uint8 MSE).",
)
@click.option("--frd-preset", default="ccnet", show_default=True, help="frd preset for FRD (ccnet, v0, v1).")
@click.option("--frd-workers", type=click.IntRange(min=1), default=None, help="Radiomics worker processes.")
@click.option("--inception", default="fid-inception", show_default=True, help="Registry name of the FID network.")
@click.option(
    "--alexnet",
    default=None,
    help="Registry name of the LPIPS weights [default: lpips-alexnet, else lpips-alexnet-jax].",
)
@click.option(
    "--fid-sqrtm",
    type=click.Choice(["scipy", "eigh"]),
    default="scipy",
    show_default=True,
    help="Matrix square root of FID: scipy (the field's) or eigh (frd's, ~10x faster).",
)
@click.option(
    "--fid-resize",
    type=click.Choice(["tf-bilinear", "clean"]),
    default="tf-bilinear",
    show_default=True,
    help="Resize to 299 px before FID: TF1's bilinear (the original graph's) or clean-fid's antialiased.",
)
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(min=1))
@click.option("--device", default=None, help="torch device for FID/LPIPS [default: cuda when present].")
@click.option("--strict", is_flag=True, help="Fail when a file has no partner instead of leaving it out.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON instead of a table.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=str),
    default=None,
    help="Also write the JSON report (with per-pair values) to this file (never overwritten).",
)
@user_errors("metrics")
def metrics(
    real: str,
    synth: str,
    metrics: tuple[str, ...],
    phase: int | None,
    real_phase: int | None,
    paper_quirks: bool,
    frd_preset: str,
    frd_workers: int | None,
    inception: str,
    alexnet: str | None,
    fid_sqrtm: str,
    fid_resize: str,
    batch_size: int,
    device: str | None,
    strict: bool,
    as_json: bool,
    out: str | None,
) -> None:
    """Every registered metric between REAL and SYNTH images paired by patient/slice/phase (docs/evaluation.md).

    A metric whose weights are not in the cache is reported as not available, with the command that fetches it.
    """
    import torch

    from ccnet_zoo.metrics import compute_metrics, report_table

    torch.set_num_threads(min(torch.get_num_threads(), 2))
    if out is not None and os.path.exists(out):
        fail("metrics", f"{out} exists; choose another file")
    frd_options = {"workers": frd_workers} if frd_workers else {}
    report = compute_metrics(
        real,
        synth,
        phase=phase,
        real_phase=real_phase,
        strict=strict,
        metrics=metrics or tuple(METRICS),
        paper_quirks=paper_quirks,
        frd_preset=frd_preset,
        frd_options=frd_options,
        inception=inception,
        alexnet=alexnet,
        batch_size=batch_size,
        device=device,
        fid_sqrtm=fid_sqrtm,
        fid_resize=fid_resize,
    )
    if out is not None:
        with open(out, "x", encoding="utf-8") as fh:
            fh.write(report.to_json(per_pair=True) + "\n")
    if as_json:
        click.echo(report.to_json())
        return
    mode = "paper quirks" if paper_quirks else "corrected"
    click.echo(
        f"{report.n_pairs} pairs ({mode}); unpaired: {len(report.unmatched_real)} real, "
        f"{len(report.unmatched_synth)} synthetic"
    )
    click.echo(report_table(report))
    for side, files in (("real", report.unmatched_real), ("synthetic", report.unmatched_synth)):
        for f in files:  # every file left out, so that a silent drop cannot hide in a count
            click.echo(f"unpaired {side}: {f}")
