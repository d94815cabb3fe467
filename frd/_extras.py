"""The distribution's name and the one-line install hint for an optional extra.

The index name is ``frd-radiomics`` (``frd`` on the index is an unrelated package); the import package and the
command stay ``frd``. Every "install this" message comes from here, so the name lives in one place.
"""

from __future__ import annotations

#: The name on the package index (``pip install frd-radiomics``); not the import name.
DISTRIBUTION = "frd-radiomics"


def install_command(extra: str | None = None) -> str:
    """The pip command that installs the core (``extra=None``) or the core plus one extra."""
    return f'pip install "{DISTRIBUTION}[{extra}]"' if extra else f"pip install {DISTRIBUTION}"


class MissingExtraError(ImportError):
    """An optional module was imported without its extra; the message names the install command."""

    def __init__(self, what: str, extra: str, missing: str | None = None) -> None:
        because = f" ({missing} is not installed)" if missing else ""
        super().__init__(f"{what} needs the {extra} extra{because}: {install_command(extra)}", name=missing)
        self.extra = extra
