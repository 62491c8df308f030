"""Shell completion: click completes command names and options; this adds the ids stored in
the local data dir for the arguments and options that take one (RUN, HASH, WORKFLOW, ...).

The shell asks by running ``catenary`` with ``_CATENARY_COMPLETE`` set (docs/cli.md). The
answer must be quick and must never change anything: only an existing SQLite file is read,
a data dir is never created, and any failure completes nothing rather than print an error
into the user's command line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from catenary.cli.output import KINDS

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

# Enough to choose from; a longer list scrolls off the terminal.
_LIMIT = 50


def _kind(param: click.Parameter) -> str | None:
    if isinstance(param, click.Argument):
        return KINDS.get(param.metavar or (param.name or "").upper())
    return next((KINDS[o] for o in param.opts if o in KINDS), None)


def stored_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Stored ids of the parameter's kind starting (or ending) with what is typed so far.
    An end completes to the whole id, so a shortened CID from a table completes too."""
    from click.shell_completion import CompletionItem

    from catenary.cid.display import ELLIPSIS
    from catenary.project import default_data_dir, find_project

    kind = _kind(param)
    root = ctx.find_root().params
    if kind is None or root.get("address") or root.get("db"):
        return []  # a remote node or PostgreSQL: not asked on every Tab
    data_dir = root.get("data_dir")
    try:
        if data_dir is None:
            data_dir = find_project(Path.cwd(), default_data_dir()).data_dir or default_data_dir()
        db = Path(data_dir) / "catenary.db"
        if not db.is_file():
            return []
        from catenary.store import SQLiteStore

        store = SQLiteStore(db)
        try:
            found = store.match_ids(kind, incomplete.removeprefix(ELLIPSIS), _LIMIT)
        finally:
            store.close()
    except Exception:  # noqa: BLE001 - a broken data dir completes nothing; commands report it
        return []
    return [CompletionItem(str(cid), help=kind) for cid in found]


def complete_stored_ids(group: click.Group) -> None:
    """Give every parameter of ``group``'s commands that takes a stored id its completion.
    (click takes a completion function as ``shell_complete=`` when a parameter is declared;
    set here once instead of on each of the commands' declarations.)"""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            complete_stored_ids(command)
            continue
        for param in command.params:
            if _kind(param) is not None and param._custom_shell_complete is None:
                param._custom_shell_complete = stored_ids
