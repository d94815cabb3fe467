"""The command line's one error contract.

A user error (any :class:`~ccnet_zoo.errors.CCNetZooError`, or frd's ``FRDError``) becomes one line on stderr,
``ccnet-zoo COMMAND: error: MESSAGE``, and exit code 2. Everything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import NoReturn, ParamSpec, TypeVar

import click

from ccnet_zoo.errors import CCNetZooError
from frd.errors import FRDError

P = ParamSpec("P")
R = TypeVar("R")
USER_ERRORS: tuple[type[Exception], ...] = (CCNetZooError, FRDError)


def fail(command: str, err: Exception | str) -> NoReturn:
    """Print ``ccnet-zoo COMMAND: error: MESSAGE`` (the message's first line) on stderr and exit with code 2."""
    text = str(err)
    line = text.splitlines()[0] if text.strip() else type(err).__name__
    click.echo(f"ccnet-zoo {command}: error: {line}", err=True)
    sys.exit(2)


def user_errors(command: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a command's function: its user errors become one line and exit code 2 (see the module)."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return func(*args, **kwargs)
            except USER_ERRORS as err:
                fail(command, err)

        return wrapper

    return decorate
