"""The ``frd`` command line: ``frd A B`` prints the FRD; ``--json`` prints the full report."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from ._version import __version__
from .defaults import DEFAULT_PRESET, NORM_REFS, PRESETS, SQRTM_METHODS
from .errors import FRDError, InputNotFoundError, OutputExistsError

log = logging.getLogger("frd")


class _DefaultGroup(click.Group):
    """``frd A B`` runs ``frd score A B``; other subcommands are named explicitly."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help", "--version"):
            args = ["score", *args]
        return super().parse_args(ctx, args)


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else (logging.WARNING - 10 * min(verbose, 2))
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("frd: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("radiomics").setLevel(max(level, logging.ERROR))


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _source(path: str) -> Any:
    """A positional input: a folder, an image, a statistics file, or a .txt list of files."""
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError(f"input not found: {p}")
    if p.is_file() and p.suffix.lower() in (".txt", ".lst"):
        lines = [
            ln.strip() for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")
        ]
        return [str((p.parent / ln) if not Path(ln).is_absolute() else Path(ln)) for ln in lines]
    return str(p)


@click.group(cls=_DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="frd")
def main() -> None:
    """Fréchet Radiomics Distance between two image sets: frd REAL SYNTH [options]."""


@main.command("score", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("inputs", nargs=-1, required=True, metavar="A [B]")
@click.option(
    "--preset",
    type=click.Choice(list(PRESETS)),
    default=DEFAULT_PRESET,
    show_default=True,
    help="FRD definition: v1 (frd-score v1), v0 (frd-score v0), ccnet (CC-Net paper).",
)
@click.option(
    "--masks",
    nargs=2,
    type=click.Path(),
    default=None,
    metavar="MASKS_A MASKS_B",
    help="Mask folders, paired with images by relative path (extension ignored).",
)
@click.option("-r", "--recursive", is_flag=True, help="Search input folders recursively.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON report instead of the score.")
@click.option(
    "--save-stats",
    multiple=True,
    type=click.Path(),
    metavar="OUT.npz",
    help="Save the statistics of A (and, given twice, of B). Never overwrites.",
)
@click.option("--params", "params_file", type=click.Path(), help="pyradiomics parameter file (YAML/JSON).")
@click.option("--feature-classes", help="Comma-separated pyradiomics feature classes.")
@click.option("--image-types", help="Comma-separated image types (Original, LoG, Wavelet, ...).")
@click.option("--log-sigma", help="Comma-separated LoG sigmas in mm.")
@click.option("--bin-width", type=float, help="pyradiomics binWidth.")
@click.option("--resize", help="Resize images to N or WxH pixels first (cv2 bilinear, as the reference).")
@click.option("--norm-ref", type=click.Choice(NORM_REFS), help="Normalize against A (d1), A∪B or each set.")
@click.option("--log/--no-log", "log_", default=None, help="Report ln(d²) (v1) or d² (v0, ccnet).")
@click.option("--sqrtm", type=click.Choice(SQRTM_METHODS), help="Matrix square root (see docs/presets.md).")
@click.option("--means-only", is_flag=True, help="Only the mean term ‖μ₁−μ₂‖².")
@click.option("-w", "--workers", type=click.IntRange(min=1), help="Processes (default: min(8, usable cores)).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the per-image feature cache.")
@click.option("--cache-dir", type=click.Path(), help="Feature cache folder (default $FRD_CACHE_DIR or user cache).")
@click.option("--skip-invalid", is_flag=True, help="Skip unreadable images (listed in --json) instead of failing.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, errors only.")
@click.option("-v", "--verbose", count=True, help="More logging (-v, -vv).")
def score(
    inputs: tuple[str, ...],
    preset: str,
    masks: tuple[str, str] | None,
    recursive: bool,
    as_json: bool,
    save_stats: tuple[str, ...],
    params_file: str | None,
    feature_classes: str | None,
    image_types: str | None,
    log_sigma: str | None,
    bin_width: float | None,
    resize: str | None,
    norm_ref: str | None,
    log_: bool | None,
    sqrtm: str | None,
    means_only: bool,
    workers: int | None,
    no_cache: bool,
    cache_dir: str | None,
    skip_invalid: bool,
    quiet: bool,
    verbose: int,
) -> None:
    """Compute the FRD between image sets A (reference) and B.

    A and B are folders, image files, .txt lists of files, or statistics files from --save-stats.
    With one input and --save-stats, only its statistics are saved.
    """
    _setup_logging(verbose, quiet)
    try:
        _score(
            inputs,
            preset,
            masks,
            recursive,
            as_json,
            save_stats,
            params_file,
            feature_classes,
            image_types,
            log_sigma,
            bin_width,
            resize,
            norm_ref,
            log_,
            sqrtm,
            means_only,
            workers,
            no_cache,
            cache_dir,
            skip_invalid,
            quiet,
        )
    except FRDError as exc:
        click.echo(f"frd: error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("frd: interrupted", err=True)
        sys.exit(130)


def _score(
    inputs,
    preset,
    masks,
    recursive,
    as_json,
    save_stats,
    params_file,
    feature_classes,
    image_types,
    log_sigma,
    bin_width,
    resize,
    norm_ref,
    log_,
    sqrtm,
    means_only,
    workers,
    no_cache,
    cache_dir,
    skip_invalid,
    quiet,
) -> None:
    from .api import compute_stats, frd_from_stats
    from .errors import SettingsError
    from .settings import resolve_settings

    if len(inputs) > 2:
        raise SettingsError(f"expected one or two inputs, got {len(inputs)}")
    if len(inputs) == 1 and not save_stats:
        raise SettingsError("one input given: add a second set to compare, or --save-stats OUT.npz")
    if len(save_stats) > len(inputs):
        raise SettingsError("--save-stats is given more often than there are inputs")
    for out in save_stats:
        target = Path(out if out.lower().endswith(".npz") else out + ".npz")
        if target.exists():
            raise OutputExistsError(f"{target} exists; frd never overwrites a file, choose another name")
    try:
        sigmas = [float(s) for s in _csv(log_sigma)] if log_sigma else None
    except ValueError as exc:
        raise SettingsError(f"--log-sigma must be comma-separated numbers, got {log_sigma!r}") from exc
    settings = resolve_settings(
        preset,
        params_file=params_file,
        feature_classes=_csv(feature_classes),
        image_types=_csv(image_types),
        log_sigma=sigmas,
        bin_width=bin_width,
        resize=resize,
        norm_ref=norm_ref,
        log=log_,
        sqrtm=sqrtm,
        means_only=means_only,
    )
    import time

    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    stats = compute_stats(
        [_source(i) for i in inputs],
        settings,
        masks=list(masks) if masks else None,
        recursive=recursive,
        workers=workers,
        cache=not no_cache,
        cache_dir=cache_dir,
        skip_invalid=skip_invalid,
        progress=not quiet and sys.stderr.isatty(),
        timings=timings,
    )
    for s, out in zip(stats, save_stats, strict=False):
        path = s.save(out)
        log.info("saved statistics of %s (%d images) to %s", s.source or "the set", s.n, path)
    if len(stats) < 2:
        return
    result = frd_from_stats(stats[0], stats[1], settings, timings=timings, t0=t0)
    click.echo(result.to_json() if as_json else repr(result.frd))


if __name__ == "__main__":  # pragma: no cover
    main()
