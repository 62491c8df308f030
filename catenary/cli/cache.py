"""``catenary cache clear``: later runs recompute; history is kept."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from catenary.cli.output import emit, json_option

if TYPE_CHECKING:
    from catenary.cli.main import Context


@click.group("cache")
def cache_cmd() -> None:
    """The memo of executions that later steps with the same key reuse."""


@cache_cmd.command("clear")
@click.option(
    "--operation", "name", metavar="NAME", help="Only this operation's executions (every stored version)."
)
@json_option
@click.pass_obj
def cache_clear(c: Context, name: str | None, as_json: bool) -> None:
    """Make later runs recompute instead of reusing the executions recorded so far (of every
    operation, or of --operation NAME). Nothing is deleted: traces, exports and verification
    still see every execution. Local data dir only."""
    node = c.local("cache clear")
    versions = node.operations.clear_cache(name)
    if as_json:
        emit({"operation": name, "versions": [str(v) for v in versions]})
    elif name:
        click.echo(f"cleared the cache of {name} ({len(versions)} version(s)); history kept")
    else:
        click.echo("cleared the cache of every operation; history kept")
