"""numba's ``njit`` with an on-disk cache, or a clear error where the ``fast`` extra is missing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._extras import install_command
from ..errors import SettingsError


class EngineUnavailableError(SettingsError):
    """The fast engine needs numba: ``pip install 'frd-radiomics[fast]'``."""


try:
    import numba as _numba
except ImportError:  # the engine module still imports; calling a kernel says what to install
    _numba = None


def njit(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Compile ``fn`` in nopython mode; the machine code is cached next to the module (compile time counts)."""
    if _numba is None:

        def missing(*_args: Any, **_kwargs: Any) -> Any:
            raise EngineUnavailableError(f"the fast radiomics engine needs numba: {install_command('fast')}")

        missing.__name__ = fn.__name__
        missing.__doc__ = fn.__doc__
        return missing
    return _numba.njit(cache=True, nogil=True)(fn)


def available() -> bool:
    """Whether numba is importable (the ``fast`` extra is installed)."""
    return _numba is not None
