"""The ``ccnet-zoo`` command line.

Each subcommand lives in the module of its concern and is imported lazily, so that
``ccnet-zoo --help`` stays fast and does not import torch.
"""

from __future__ import annotations

import logging
import sys

import click

from frd._version import __version__

_NOT_BUILT = ("train", "generate", "metrics", "weights", "reproduce")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ccnet-zoo")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-v info, -vv debug).")
def main(verbose: int) -> None:
    """CC-Net: contrast-enhanced breast DCE-MRI synthesis (MICCAI 2024), end to end."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _not_built(name: str) -> click.Command:
    @click.command(name=name, context_settings={"ignore_unknown_options": True})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def cmd(args: tuple[str, ...]) -> None:
        click.echo(f"ccnet-zoo {name}: not built yet", err=True)
        sys.exit(2)

    cmd.help = f"({name}: not built yet)"
    return cmd


for _name in _NOT_BUILT:
    main.add_command(_not_built(_name))
