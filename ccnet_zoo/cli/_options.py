"""Options shared by several commands: ``--set KEY=VALUE`` config overrides (train, generate, reproduce)."""

from __future__ import annotations

from typing import Any

import click


def set_option(help: str) -> Any:
    """``--set KEY=VALUE`` (repeatable); the value is read as YAML (``2`` is an int, ``null`` is None)."""
    return click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help=help)


def parse_sets(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``("a.b=1", "c=x")`` -> ``{"a": {"b": 1}, "c": "x"}`` (values parsed as YAML)."""
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--set")
        node = out
        *parents, leaf = key.split(".")
        for p in parents:
            child = node.setdefault(p, {})
            if not isinstance(child, dict):
                raise click.BadParameter(f"{key!r} conflicts with an earlier --set of {p!r}", param_hint="--set")
            node = child
        try:
            node[leaf] = yaml.safe_load(value)
        except yaml.YAMLError as err:
            raise click.BadParameter(f"{pair!r}: the value is not valid YAML", param_hint="--set") from err
    return out
