"""The ``frd`` command line: ``frd A B`` prints the FRD; ``--json`` prints the full report."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from ._version import __version__
from .defaults import NORM_REFS, SQRTM_METHODS
from .errors import FRDError, InputNotFoundError
from .presets import DEFAULT_PRESET, PRESETS

log = logging.getLogger("frd")


class _DefaultGroup(click.Group):
    """``frd A B`` runs ``frd score A B``; other subcommands are named explicitly."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help", "--version"):
            args = ["score", *args]
        return super().parse_args(ctx, args)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The group's help, then the options of the default command (``frd A B [options]``)."""
        super().format_help(ctx, formatter)
        score = self.commands["score"]
        sub = click.Context(score, info_name="score", parent=ctx)
        help_option = score.get_help_option(sub)
        options = [p for p in score.get_params(sub) if isinstance(p, click.Option) and p is not help_option]
        rows = [rec for p in options if (rec := p.get_help_record(sub)) is not None]
        with formatter.section("Score options (frd A B [options])"):
            formatter.write_dl(rows)


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
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            from .errors import SettingsError

            raise SettingsError(f"{p} is not a text list of files: undecodable byte at {exc.start}") from exc
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        return [str((p.parent / ln) if not Path(ln).is_absolute() else Path(ln)) for ln in lines]
    return str(p)


@click.group(cls=_DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="frd")
def main() -> None:
    """Fréchet Radiomics Distance between two image sets.

    \b
    frd REAL SYNTH [options]     the score (short for `frd score ...`; see `frd score --help`)
    frd interpret A B --out DIR  which features make the distance
    frd ood REF TEST --out CSV   out-of-distribution detection
    """


def _options(*opts: Any) -> Any:
    def apply(fn: Any) -> Any:
        for opt in reversed(opts):
            fn = opt(fn)
        return fn

    return apply


#: Options that define how features are extracted and normalized: shared by every subcommand.
_EXTRACTION = _options(
    click.option(
        "--preset",
        type=click.Choice(list(PRESETS)),
        default=DEFAULT_PRESET,
        show_default=True,
        help="FRD definition: v1 (frd-score v1), v0 (frd-score v0), ccnet (CC-Net paper).",
    ),
    click.option(
        "--masks",
        nargs=2,
        type=click.Path(),
        default=None,
        metavar="MASKS_A MASKS_B",
        help="Mask folders, paired with images by relative path (extension ignored).",
    ),
    click.option("-r", "--recursive", is_flag=True, help="Search input folders recursively."),
    click.option("--params", "params_file", type=click.Path(), help="pyradiomics parameter file (YAML/JSON)."),
    click.option("--feature-classes", help="Comma-separated pyradiomics feature classes."),
    click.option("--image-types", help="Comma-separated image types (Original, LoG, Wavelet, ...)."),
    click.option("--log-sigma", help="Comma-separated LoG sigmas in mm."),
    click.option("--bin-width", type=float, help="pyradiomics binWidth."),
    click.option("--resize", help="Resize images to N or WxH pixels first (cv2 bilinear, as the reference)."),
    click.option("--norm-ref", type=click.Choice(NORM_REFS), help="Normalize against A (d1), A∪B or each set."),
    click.option("--log/--no-log", "log_", default=None, help="Report ln(d²) (v1) or d² (v0, ccnet)."),
    click.option("--sqrtm", type=click.Choice(SQRTM_METHODS), help="Matrix square root (see docs/presets.md)."),
    click.option(
        "--engine",
        type=click.Choice(["pyradiomics", "fast", "torch"]),
        default=None,
        help="Radiomics engine: fast (default: frd's compiled port of pyradiomics' formulas; settings it cannot "
        "reproduce, such as weightingNorm in --params, run on pyradiomics unless fast is named), pyradiomics "
        "(pyradiomics itself, bit-identical to frd-score) or torch (fast with texture matrices on a torch device, "
        "$FRD_TORCH_DEVICE or cuda if present; needs frd-radiomics[torch]).",
    ),
    click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random choice."),
    click.option("-w", "--workers", type=click.IntRange(min=1), help="Processes (default: min(8, usable cores))."),
    click.option(
        "--scheduler",
        type=click.Choice(["local", "dask"]),
        default="local",
        show_default=True,
        help="Extract in a local process pool, or on a Dask cluster.",
    ),
    click.option(
        "--address",
        metavar="tcp://HOST:PORT",
        help="Dask scheduler to use (default with --scheduler dask: a LocalCluster on 127.0.0.1).",
    ),
    click.option("--no-cache", is_flag=True, help="Neither read nor write the per-image feature cache."),
    click.option("--cache-dir", type=click.Path(), help="Feature cache folder (default $FRD_CACHE_DIR or user cache)."),
    click.option("--skip-invalid", is_flag=True, help="Skip unreadable images (reported) instead of failing."),
    click.option("-q", "--quiet", is_flag=True, help="No progress bar, errors only."),
    click.option("-v", "--verbose", count=True, help="More logging (-v, -vv)."),
)


@main.command("score", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("inputs", nargs=-1, required=True, metavar="A [B]")
@_EXTRACTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON report instead of the score.")
@click.option(
    "--save-stats",
    multiple=True,
    type=click.Path(),
    metavar="OUT.npz",
    help="Save the statistics of A (and, given twice, of B). Never overwrites.",
)
@click.option(
    "--keep-paths",
    is_flag=True,
    help="Store file paths in --save-stats files (default: only each image's sha256 and the counts).",
)
@click.option("--means-only", is_flag=True, help="Only the mean term ‖μ₁−μ₂‖².")
@click.option(
    "--robust",
    is_flag=True,
    help="Drop near-constant features and floor the normalizing spread (not a preset's number; docs/presets.md).",
)
@click.option(
    "--bootstrap",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Percentile interval from N resamples of the images in each set; prints FRD [lo, hi].",
)
@click.option(
    "--level",
    type=click.FloatRange(0.5, 0.999),
    default=0.95,
    show_default=True,
    help="Confidence level of --bootstrap.",
)
@click.option("--kid", "want_kid", is_flag=True, help="Also the kernel distance (unbiased MMD²) on radiomic features.")
@click.option("--fd-inf", "want_fd_inf", is_flag=True, help="Also FRD extrapolated to infinitely many images.")
@click.option("--match-sample-count", is_flag=True, help="Subsample the larger set to the smaller's size (seeded).")
@click.option(
    "--save-features",
    type=click.Path(),
    metavar="FILE.{csv,parquet}",
    help="Write per-image raw features of both sets to this file (never overwrites).",
)
def score(**o: Any) -> None:
    """Compute the FRD between image sets A (reference) and B.

    A and B are folders, image files, .txt lists of files, or statistics files from --save-stats.
    With one input and --save-stats, only its statistics are saved.
    """
    _run(_score, o)


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so that the worker pool is torn down on the way out."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated


def _run(fn: Any, o: dict[str, Any]) -> None:
    """Logging set-up and the error contract of every subcommand: one line, exit code 2."""
    import signal
    import threading

    _setup_logging(o.get("verbose", 0), o.get("quiet", False))
    in_main = threading.current_thread() is threading.main_thread()  # signal handlers live there only
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main else None
    try:
        if o.get("address") and o.get("scheduler") != "dask":
            from .errors import SettingsError

            raise SettingsError("--address names a Dask scheduler: add --scheduler dask")
        fn(o)
    except FRDError as exc:
        click.echo(f"frd: error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("frd: interrupted", err=True)
        sys.exit(130)
    except _Terminated:
        click.echo("frd: terminated", err=True)
        sys.exit(143)
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)


def _settings(o: dict[str, Any]) -> Any:
    from .errors import SettingsError
    from .settings import resolve_settings

    try:
        sigmas = [float(s) for s in _csv(o["log_sigma"])] if o["log_sigma"] else None
    except ValueError as exc:
        raise SettingsError(f"--log-sigma must be comma-separated numbers, got {o['log_sigma']!r}") from exc
    return resolve_settings(
        o["preset"],
        params_file=o["params_file"],
        feature_classes=_csv(o["feature_classes"]),
        image_types=_csv(o["image_types"]),
        log_sigma=sigmas,
        bin_width=o["bin_width"],
        resize=o["resize"],
        norm_ref=o["norm_ref"],
        log=o["log_"],
        sqrtm=o["sqrtm"],
        means_only=o.get("means_only", False),
        engine=o.get("engine"),
        robust=o.get("robust", False),
    )


def _stats(o: dict[str, Any], inputs: list[str], settings: Any, timings: dict[str, float]) -> list[Any]:
    from .api import compute_stats

    if o.get("scheduler") == "dask":
        from .distributed import compute_stats_dask

        return compute_stats_dask(
            [_source(i) for i in inputs],
            settings,
            masks=list(o["masks"]) if o["masks"] else None,
            recursive=o["recursive"],
            address=o["address"],
            n_workers=o["workers"] or 2,
            cache=not o["no_cache"],
            cache_dir=o["cache_dir"],
            skip_invalid=o["skip_invalid"],
        )
    return compute_stats(
        [_source(i) for i in inputs],
        settings,
        masks=list(o["masks"]) if o["masks"] else None,
        recursive=o["recursive"],
        workers=o["workers"],
        cache=not o["no_cache"],
        cache_dir=o["cache_dir"],
        skip_invalid=o["skip_invalid"],
        progress=not o["quiet"] and sys.stderr.isatty(),
        timings=timings,
    )


def _refuse_existing(*paths: str | None) -> None:
    from ._files import refuse_existing

    for p in paths:
        if p:
            refuse_existing(p)


def _check_outputs(outputs: list[tuple[str, str, tuple[str, ...]]]) -> None:
    """Before any extraction: each output (option, path, allowed extensions) is new, distinct, well named."""
    import os

    from .errors import SettingsError

    seen: dict[str, str] = {}
    for option, path, extensions in outputs:
        if not path.lower().endswith(extensions):
            raise SettingsError(f"{option} {path}: the file name must end with {' or '.join(extensions)}")
        real = os.path.realpath(path)
        if real in seen:
            raise SettingsError(f"{option} {path} names the same file as {seen[real]}; give each output its own name")
        seen[real] = f"{option} {path}"
    _refuse_existing(*(path for _, path, _ in outputs))


def _score(o: dict[str, Any]) -> None:
    import time

    from .api import frd_from_stats
    from .errors import SettingsError

    inputs, save_stats = o["inputs"], o["save_stats"]
    if len(inputs) > 2:
        raise SettingsError(f"expected one or two inputs, got {len(inputs)}")
    if len(inputs) == 1 and not save_stats:
        raise SettingsError("one input given: add a second set to compare, or --save-stats OUT.npz")
    if len(save_stats) > len(inputs):
        raise SettingsError("--save-stats is given more often than there are inputs")
    outputs = [("--save-stats", s if s.lower().endswith(".npz") else s + ".npz", (".npz",)) for s in save_stats]
    if o["save_features"]:
        outputs.append(("--save-features", o["save_features"], (".csv", ".parquet")))
    _check_outputs(outputs)
    settings = _settings(o)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    stats = _stats(o, list(inputs), settings, timings)
    for s, out in zip(stats, save_stats, strict=False):
        path = s.save(out, keep_paths=o["keep_paths"])
        log.info("saved statistics of %s (%d images) to %s", s.source or "the set", s.n, path)
    if o["save_features"]:
        from .export import save_features

        save_features(o["save_features"], list(zip("AB", stats, strict=False)))
    if len(stats) < 2:
        return
    analysis = {
        "bootstrap": o["bootstrap"] or 0,
        "level": o["level"],
        "kid": o["want_kid"],
        "fd_inf": o["want_fd_inf"],
        "match_sample_count": o["match_sample_count"],
        "seed": o["seed"],
    }
    result = frd_from_stats(stats[0], stats[1], settings, timings=timings, t0=t0, **analysis)
    if o["as_json"]:
        click.echo(result.to_json())
    elif result.ci is not None:
        click.echo(f"{result.frd!r} [{result.ci['low']!r}, {result.ci['high']!r}]")
    else:
        click.echo(repr(result.frd))


@main.command("interpret", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("a")
@click.argument("b")
@_EXTRACTION
@click.option("--out", "out_dir", required=True, type=click.Path(), help="Folder for the CSV and the plots.")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True, help="Features in the bar plot.")
@click.option("--show-names", is_flag=True, help="Title the image thumbnails with their file names (default: ranks).")
@click.option(
    "--thumbs",
    type=click.IntRange(min=1),
    default=6,
    show_default=True,
    help="Most and least typical images of B to show.",
)
def interpret_cmd(**o: Any) -> None:
    """Which features make the distance between A and B: CSV of per-feature contributions to d²,
    sorted-difference plot, PCA/t-SNE embedding, most/least typical images of B."""
    _run(_interpret, o)


def _interpret(o: dict[str, Any]) -> None:
    from .interpret import CONTRIBUTIONS_CSV, PLOTS, interpret

    out = Path(o["out_dir"])
    if out.exists() and not out.is_dir():
        from .errors import OutputExistsError

        raise OutputExistsError(f"--out {out} is a file; name a folder")
    _refuse_existing(*(str(out / name) for name in (CONTRIBUTIONS_CSV, *PLOTS)))
    settings = _settings(o)
    a, b = _stats(o, [o["a"], o["b"]], settings, {})
    res = interpret(
        a, b, settings, o["out_dir"], top=o["top"], thumbs=o["thumbs"], seed=o["seed"], show_names=o["show_names"]
    )
    for name, value in res.top(min(o["top"], 10)):
        click.echo(f"{value:.6g}\t{name}")
    log.info("wrote %s", ", ".join(str(f) for f in res.files))


@main.command("ood", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("ref")
@click.argument("test")
@_EXTRACTION
@click.option("--out", "out_csv", required=True, type=click.Path(), help="CSV with one row per TEST image.")
@click.option(
    "--val-frac",
    type=click.FloatRange(0.05, 0.9),
    default=0.2,
    show_default=True,
    help="Share of REF held out to set the threshold.",
)
@click.option(
    "--level",
    type=click.FloatRange(0.5, 0.999),
    default=0.95,
    show_default=True,
    help="Quantile of held-out REF scores used as threshold.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the dataset-level summary as JSON.")
def ood_cmd(**o: Any) -> None:
    """Out-of-distribution detection of TEST images against REF (image level and dataset level).

    Prints nFRD = 2|AUC - 0.5| (0: indistinguishable, 1: fully separated) and writes the CSV."""
    _run(_ood, o)


def _ood(o: dict[str, Any]) -> None:
    import json

    from .ood import detect_ood, write_csv

    _check_outputs([("--out", o["out_csv"], (".csv",))])
    settings = _settings(o)
    ref, test = _stats(o, [o["ref"], o["test"]], settings, {})
    res = detect_ood(ref, test, val_frac=o["val_frac"], level=o["level"], seed=o["seed"])
    write_csv(res, o["out_csv"])
    summary = {
        "nfrd": res.nfrd,
        "auc": res.auc,
        "threshold": res.threshold,
        "n_ood": res.n_ood,
        "n_test": len(res.rows),
        "n_fit": res.n_fit,
        "n_heldout": res.n_heldout,
        "level": res.level,
        "seed": res.seed,
        "csv": str(o["out_csv"]),
    }
    click.echo(json.dumps(summary, indent=2) if o["as_json"] else repr(res.nfrd))


if __name__ == "__main__":  # pragma: no cover
    main()
