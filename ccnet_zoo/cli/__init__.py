"""The ``ccnet-zoo`` command line (also ``python -m ccnet_zoo``): one module per command group.

``data`` (phantom, prepare-duke, datalist), ``train``, ``generate``, ``export``, ``weights``, ``metrics``,
``reproduce``. Each command imports torch only when it runs, so ``ccnet-zoo --help`` stays fast; each turns the
package's errors into one line and exit code 2 through :func:`ccnet_zoo.cli._errors.user_errors`.
"""

from __future__ import annotations

import logging
import sys

import click

from ccnet_zoo.cli.data import datalist_cmd, phantom_cmd, prepare_duke_cmd
from ccnet_zoo.cli.export import export
from ccnet_zoo.cli.generate import generate
from ccnet_zoo.cli.metrics import metrics
from ccnet_zoo.cli.reproduce import reproduce
from ccnet_zoo.cli.train import train
from ccnet_zoo.cli.weights import weights
from frd._version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ccnet-zoo")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-v info, -vv debug).")
def main(verbose: int) -> None:
    """CC-Net: contrast-enhanced breast DCE-MRI synthesis (MICCAI 2024), end to end."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


for _command in (phantom_cmd, prepare_duke_cmd, datalist_cmd, metrics, weights, reproduce, train, generate, export):
    main.add_command(_command)

__all__ = ["main"]
