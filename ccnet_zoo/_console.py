"""The ``ccnet-zoo`` console script: checks that the zoo extra is installed, then runs the CLI.

Without the extra (``pip install frd-radiomics`` alone), every command answers one line with the install command
and exit status 2, instead of a traceback from the first ``import torch`` deep inside a command. Only import
specs are looked up here (nothing heavy is imported), and the CLI is imported lazily by name, so this module does
not depend on how ``ccnet_zoo.cli`` is laid out.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

from frd._extras import install_command

#: Import name -> distribution, for every requirement of the ``zoo`` extra (tests keep it equal to pyproject).
ZOO_MODULES = {
    "torch": "torch",
    "monai": "monai",
    "einops": "einops",
    "pooch": "pooch",
    "safetensors": "safetensors",
    "matplotlib": "matplotlib",
    "pydicom": "pydicom",
    "torchmetrics": "torchmetrics",
    "PIL": "Pillow",
}

#: The object the console script runs once the extra is there.
CLI = "ccnet_zoo.cli"


def missing_zoo_modules() -> list[str]:
    """Distributions of the zoo extra whose import package cannot be found, in declaration order."""
    return [dist for module, dist in ZOO_MODULES.items() if importlib.util.find_spec(module) is None]


def main(prog_name: str | None = None) -> None:
    """Entry point of ``ccnet-zoo`` and ``python -m ccnet_zoo`` (``prog_name`` for the usage line)."""
    missing = missing_zoo_modules()
    if missing:
        sys.stderr.write(
            f"ccnet-zoo: error: the zoo extra is not installed (missing {', '.join(missing)}): "
            f"{install_command('zoo')}\n"
        )
        raise SystemExit(2)
    cli = importlib.import_module(CLI).main
    if prog_name is None:
        cli()
    else:
        cli(prog_name=prog_name)
