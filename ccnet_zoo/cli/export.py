"""``ccnet-zoo export RUN --out FILE``: a trained ControlNet run (with its AE and LDM runs) as one bundle file.

Then ``ccnet-zoo weights add NAME --file FILE --kind ccnet`` registers it and ``generate --weights NAME`` uses it.
"""

from __future__ import annotations

import click

from ccnet_zoo.cli._errors import user_errors

_PATH = click.Path(path_type=str)


@click.command("export", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("run", type=_PATH)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=str),
    help="The bundle file to write (.safetensors; never overwritten).",
)
@click.option("--description", default="", help="What the weights are (stored in the bundle).")
@click.option("--ae", type=_PATH, default=None, help="Override the AE run recorded in the ControlNet run.")
@click.option("--ldm", type=_PATH, default=None, help="Override the LDM run recorded in the ControlNet run.")
@click.option("--mean", type=_PATH, default=None, help="Override the mean run recorded in the ControlNet run.")
@user_errors("export")
def export(run: str, out: str, description: str, ae: str | None, ldm: str | None, mean: str | None) -> None:
    """Write the trained CC-Net of the ControlNet run RUN as one bundle file (ready for `weights add`)."""
    from ccnet_zoo.pipeline import CCNetPipeline
    from ccnet_zoo.weights import sha256_file

    path = CCNetPipeline.from_pretrained(run, ae=ae, ldm=ldm, mean=mean).save_pretrained(out, description=description)
    click.echo(f"{path} sha256 {sha256_file(path)}")
    click.echo(f"register it: ccnet-zoo weights add NAME --file {path} --kind ccnet", err=True)
