"""``ccnet-zoo phantom``, ``prepare-duke`` and ``datalist``: the data layer's commands (:mod:`ccnet_zoo.data`)."""

from __future__ import annotations

import os

import click

from ccnet_zoo.cli._errors import user_errors


@click.command("phantom")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=str), help="Output folder.")
@click.option("--patients", default=64, show_default=True, type=click.IntRange(min=1), help="Virtual patients.")
@click.option("--slices", default=8, show_default=True, type=click.IntRange(min=1), help="Slices per patient.")
@click.option("--size", default=128, show_default=True, type=click.IntRange(16, 1024), help="Image size (px).")
@click.option(
    "--post-phases",
    type=click.IntRange(2, 4),
    default=None,
    help="Post-contrast phases per patient [default: 2-4 drawn with Duke's frequencies].",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed (same seed, same data).")
@click.option(
    "--lesion-fraction",
    default=0.9,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Fraction of patients with a lesion.",
)
@click.option(
    "--split", default="random", show_default=True, help="'random[:SEED]', 'paper' or a patient_id;split file."
)
@click.option(
    "--intensity",
    type=click.Choice(["phase", "patient"]),
    default="phase",
    show_default=True,
    help="PNG scaling: each phase volume on its own (CC-Net's), or one window per patient across phases.",
)
@click.option(
    "--preview",
    type=click.Path(dir_okay=False, path_type=str),
    default=None,
    help="Also save a PNG grid of pre + phases for a few patients.",
)
@click.option(
    "--kinetics-plot",
    type=click.Path(dir_okay=False, path_type=str),
    default=None,
    help="Also save a PNG of lesion/parenchyma enhancement vs acquisition time per curve type.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing dataset (only files this tool wrote).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@user_errors("phantom")
def phantom_cmd(
    out: str,
    patients: int,
    slices: int,
    size: int,
    post_phases: int | None,
    seed: int,
    lesion_fraction: float,
    split: str,
    intensity: str,
    preview: str | None,
    kinetics_plot: str | None,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Generate the DCE-MRI phantom in the Duke preparation's layout (docs/phantom.md)."""
    from ccnet_zoo.data.errors import DataError
    from ccnet_zoo.data.phantom import PhantomConfig, generate_phantom
    from ccnet_zoo.data.preview import kinetics_plot as plot_kinetics
    from ccnet_zoo.data.preview import preview_grid

    config = PhantomConfig(
        patients=patients,
        slices=slices,
        size=size,
        post_phases=post_phases,
        seed=seed,
        lesion_fraction=lesion_fraction,
        split=split,
        intensity=intensity,
    )
    for extra in (preview, kinetics_plot):
        if extra is not None and os.path.exists(extra) and not overwrite:
            raise DataError(f"{extra} exists; pass --overwrite to replace it")
    result = generate_phantom(out, config, overwrite=overwrite, progress=not quiet)
    if preview:
        preview_grid(result.root, preview, overwrite=overwrite)
    if kinetics_plot:
        title = f"phantom seed {seed}: {len(result.kinetics)} lesions"
        plot_kinetics(result.kinetics, kinetics_plot, overwrite=overwrite, title=title)
    click.echo(f"{result.n_images} images of {len(result.patients)} patients in {result.seconds:.1f} s -> {out}")


@click.command("prepare-duke")
@click.option(
    "--dicom-root",
    required=True,
    type=click.Path(file_okay=False, path_type=str),
    help="Folder holding the TCIA download (Duke-Breast-Cancer-MRI/Breast_MRI_xxx/...).",
)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=str), help="Output folder.")
@click.option(
    "--boxes",
    type=click.Path(dir_okay=False, path_type=str),
    default=None,
    help="Annotation_Boxes (.csv, or .xlsx with openpyxl).",
)
@click.option(
    "--clinical",
    type=click.Path(dir_okay=False, path_type=str),
    default=None,
    help="Clinical_and_Other_Features (.csv, or .xlsx with openpyxl) for the prompts.",
)
@click.option("--size", default=512, show_default=True, type=click.IntRange(16, 2048), help="Output size (px).")
@click.option(
    "--split",
    default="paper",
    show_default=True,
    help="'paper' (30 test / 50 validation), 'random[:SEED]' or a patient_id;split file.",
)
@click.option("--all-slices", is_flag=True, help="Keep every slice, not only the tumour box.")
@click.option("--max-patients", type=click.IntRange(min=1), default=None, help="Convert only the first N.")
@click.option("--overwrite", is_flag=True, help="Start again, replacing the files a previous run wrote.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@user_errors("prepare-duke")
def prepare_duke_cmd(
    dicom_root: str,
    out: str,
    boxes: str | None,
    clinical: str | None,
    size: int,
    split: str,
    all_slices: bool,
    max_patients: int | None,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Convert Duke-Breast-Cancer-MRI DICOM into PNG slices + LDM_metadata.csv (docs/duke.md). Resumable."""
    from ccnet_zoo.data.duke import DukeConfig, prepare_duke

    config = DukeConfig(size=size, split=split, all_slices=all_slices, max_patients=max_patients)
    result = prepare_duke(dicom_root, out, boxes, clinical, config, overwrite=overwrite, progress=not quiet)
    click.echo(
        f"{len(result.prepared)} patients prepared ({len(result.resumed)} resumed), "
        f"{len(result.skipped)} skipped -> {out}"
    )


@click.command("datalist")
@click.option(
    "--data",
    "data",
    required=True,
    type=click.Path(file_okay=False, path_type=str),
    help="A dataset written by 'phantom' or 'prepare-duke'.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=str),
    default=None,
    help="Folder for train/validation/test.tsv [default: DATA/datalists].",
)
@click.option(
    "--text",
    "text",
    type=click.Choice(["1", "2", "3", "default"]),
    default="1",
    show_default=True,
    help="Prompt column (text1..3) or CC-Net's default report.",
)
@click.option("--overwrite", is_flag=True, help="Replace existing datalists.")
@user_errors("datalist")
def datalist_cmd(data: str, out: str | None, text: str, overwrite: bool) -> None:
    """Write one row per (pre-contrast slice, post phase) with acquisition time, prompt and paths."""
    from ccnet_zoo.data.datalist import write_datalists

    paths = write_datalists(data, out, None if text == "default" else int(text), overwrite=overwrite)
    for split, path in paths.items():
        with open(path, encoding="utf-8") as fh:
            n = sum(1 for _ in fh) - 1
        click.echo(f"{split}: {n} pairs -> {path}")
