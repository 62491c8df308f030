"""``catenary trigger``: create, list, show, enable, disable and delete triggers, and read
their firings (docs/events.md). Locally, or on a remote node with ``--node`` (gRPC
``Trigger``); triggers fire on the node that holds them, when an event is stored there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from catenary.cid.display import short
from catenary.cli.output import emit, full_option, json_option, ns_time, out, read_file
from catenary.errors import BadInputError

if TYPE_CHECKING:  # loaded by the commands that use them (CLI start-up)
    from catenary.model.emitted import Firing, TriggerRow


def trigger_json(row: TriggerRow) -> dict[str, Any]:
    return {**row.definition, "enabled": row.enabled, "created_at": row.created_at}


def firing_json(f: Firing) -> dict[str, Any]:
    from catenary.sdk import documents

    return documents.firing_json(f)


def _show(row: TriggerRow) -> None:
    from catenary.events.trigger import Trigger

    d = row.definition
    out.print(f"trigger   {row.name} ({'enabled' if row.enabled else 'disabled'})")
    if isinstance(d["on"], dict):  # a filtered result source: its events' key derives from it
        on = f"{json.dumps(d['on'], sort_keys=True)} (events {Trigger.parse(d).on})"
        out.print(f"on        {on}", markup=False)
    else:
        out.print(f"on        {d['on']}")
    out.print(f"workflow  {d['workflow']}")
    out.print(f"inputs    {', '.join(d['inputs']) or '-'}")
    out.print(f"emitters  {', '.join(d['emitters']) or 'any'}")
    out.print(f"where     {json.dumps(d['where'], sort_keys=True) if d['where'] else '-'}", markup=False)
    if "continue" in d:
        k = d["continue"]
        out.print(
            f"continue  the run waiting before segment {k['segment']} whose starting event has "
            f"{k['run']} = this event's {k['event']}",
            markup=False,
        )


@click.group("trigger")
def trigger_cmd() -> None:
    """Triggers: start a workflow when an event with a key is emitted."""


@trigger_cmd.command("create")
@click.argument("definition", metavar="FILE|JSON")
@json_option
@click.pass_obj
def trigger_create(c: Any, definition: str, as_json: bool) -> None:
    """Create a trigger from a JSON file or inline JSON: {name, on, workflow, inputs, emitters?,
    where?, continue?}; refused (exit 2, nothing stored) with the JSON path of what does not fit."""
    text: str | bytes = definition
    if not definition.lstrip().startswith("{"):
        text = read_file(Path(definition))
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise BadInputError(f"the trigger is not JSON: {exc}") from None
    row = c.node.triggers.create(document)
    if as_json:
        emit(trigger_json(row))
    else:
        _show(row)


@trigger_cmd.command("list")
@full_option
@json_option
@click.pass_obj
def trigger_list(c: Any, full: bool, as_json: bool) -> None:
    """The triggers of this node, by name."""
    rows = c.node.triggers.list()
    if as_json:
        emit({"triggers": [trigger_json(r) for r in rows]})
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table("trigger", "on", "workflow", "enabled")
    for r in rows:
        on = r.definition["on"]  # an event key, or a result source's object
        shown = on if isinstance(on, str) else escape(json.dumps(on, sort_keys=True))
        table.add_row(r.name, shown, short(r.definition["workflow"], full), "yes" if r.enabled else "no")
    out.print(table)


@trigger_cmd.command("show")
@click.argument("name")
@json_option
@click.pass_obj
def trigger_show(c: Any, name: str, as_json: bool) -> None:
    """Show one trigger."""
    row = c.node.triggers.get(name)
    if as_json:
        emit(trigger_json(row))
    else:
        _show(row)


def _toggle(c: Any, name: str, enabled: bool, as_json: bool) -> None:
    row = c.node.triggers.enable(name, enabled)  # enabled: fires on the events stored meanwhile
    if as_json:
        emit(trigger_json(row))
    else:
        out.print(f"trigger {name} {'enabled' if enabled else 'disabled'}")


@trigger_cmd.command("enable")
@click.argument("name")
@json_option
@click.pass_obj
def trigger_enable(c: Any, name: str, as_json: bool) -> None:
    """Enable a trigger; it then fires on the events stored while it was disabled too."""
    _toggle(c, name, True, as_json)


# The same toggle as enable (_toggle holds the logic); a command of its own for its own help.
@trigger_cmd.command("disable")
@click.argument("name")
@json_option
@click.pass_obj
def trigger_disable(c: Any, name: str, as_json: bool) -> None:
    """Disable a trigger: events are kept, and fire it once it is enabled again."""
    _toggle(c, name, False, as_json)


@trigger_cmd.command("delete")
@click.argument("name")
@click.pass_obj
def trigger_delete(c: Any, name: str) -> None:
    """Delete a trigger; its firings stay in its history."""
    c.node.triggers.delete(name)
    out.print(f"trigger {name} deleted")


@trigger_cmd.command("history")
@click.argument("name", required=False)
@click.option(
    "--status",
    type=click.Choice(["started", "fired", "failed", "skipped"]),
    default=None,
    help="Only firings with this status.",
)
@click.option(
    "--limit", default=100, show_default=True, type=click.IntRange(1, 1000), help="At most this many."
)
@full_option
@json_option
@click.pass_obj
def trigger_history(
    c: Any, name: str | None, status: str | None, limit: int, full: bool, as_json: bool
) -> None:
    """The firings of a trigger (or of all), oldest first: fired, failed with the reason, skipped."""
    rows = c.node.triggers.history(name, status, limit)
    if as_json:
        emit({"firings": [firing_json(f) for f in rows]})
        return
    from rich.table import Table

    table = Table("at", "trigger", "event", "status", "run / reason")
    for f in rows:
        table.add_row(
            ns_time(f.at), f.trigger, short(f.event, full), f.status, f.reason or short(f.run, full)
        )
    out.print(table)
