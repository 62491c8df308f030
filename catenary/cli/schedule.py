"""``catenary schedule``: add, list, show and remove schedules (docs/events.md), locally or
on a remote node with ``--node`` (gRPC ``Schedule``). ``catenary serve`` emits each tick of a
schedule as an event signed by the node, which triggers on its key then start workflows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from catenary.cli.output import emit, json_option, ns_time, out
from catenary.cli.values import parse_value

if TYPE_CHECKING:  # loaded by the commands that use them (CLI start-up)
    from catenary.model.emitted import ScheduleRow


def _utc(seconds: int) -> str:
    from catenary.events.schedule import utc_text

    return utc_text(seconds)


def schedule_json(row: ScheduleRow) -> dict[str, Any]:
    from catenary.cid import dagjson, decode
    from catenary.events.schedule import next_tick

    return {
        "name": row.name,
        "cron": row.cron,
        "key": row.key,
        "data": dagjson.to_json(decode(row.data)),
        "catch_up": row.catch_up,
        "last_tick": row.last_tick,
        "next_tick": next_tick(row.cron, row.last_tick),
        "created_at": row.created_at,
    }


@click.group("schedule")
def schedule_cmd() -> None:
    """Schedules: emit an event at each tick of a cron expression while the node serves."""


@schedule_cmd.command("add")
@click.argument("name")
@click.option(
    "--cron", required=True, metavar="EXPR", help="When: five cron fields, or six with seconds last (UTC)."
)
# --event-key as `event list` and `event watch`: --key is the global option (a key file), which
# may also come after the command.
@click.option("--event-key", "event_key", required=True, metavar="EVENT_KEY", help="The ticks' event key.")
@click.option(
    "--data",
    "data",
    default="null",
    show_default=True,
    metavar="VALUE",
    help="Carried in each tick's data: DAG-JSON, @path or text:...",
)
@click.option(
    "--catch-up",
    "catch_up",
    type=click.Choice(["once", "skip"]),
    default="once",
    show_default=True,
    help="Ticks missed while no node served: the latest fires once, or none does.",
)
@json_option
@click.pass_obj
def schedule_add(
    c: Any, name: str, cron: str, event_key: str, data: str, catch_up: str, as_json: bool
) -> None:
    """Add a schedule NAME; refused (exit 2, nothing stored) with what does not fit."""
    value = parse_value(data, "--data")
    row = c.node.schedules.add(name, cron, event_key, value, catch_up)
    document = schedule_json(row)
    if as_json:
        emit(document)
    else:
        out.print(f"schedule  {row.name}: {row.key} at {row.cron!r} (UTC)", markup=False)
        out.print(f"next tick {_utc(document['next_tick'])}")


@schedule_cmd.command("list")
@json_option
@click.pass_obj
def schedule_list(c: Any, as_json: bool) -> None:
    """The schedules of this node, by name, with their next tick."""
    rows = [schedule_json(r) for r in c.node.schedules.list()]
    if as_json:
        emit({"schedules": rows})
        return
    from rich.table import Table

    table = Table("schedule", "cron", "key", "catch-up", "next tick (UTC)")
    for r in rows:
        table.add_row(r["name"], r["cron"], r["key"], r["catch_up"], _utc(r["next_tick"]))
    out.print(table)


@schedule_cmd.command("show")
@click.argument("name")
@click.option(
    "--limit", default=10, show_default=True, type=click.IntRange(1, 1000), help="At most this many ticks."
)
@json_option
@click.pass_obj
def schedule_show(c: Any, name: str, limit: int, as_json: bool) -> None:
    """Show one schedule and the last ticks it fired, with their events."""
    node = c.node
    document = schedule_json(node.schedules.get(name))
    ticks = node.schedules.ticks(name, limit)
    if as_json:
        emit({**document, "ticks": [{"tick": t, "event": str(e)} for t, e in ticks]})
        return
    out.print(f"schedule  {name}: {document['key']} at {document['cron']!r} (UTC)", markup=False)
    out.print(f"catch-up  {document['catch_up']}")
    out.print(f"created   {ns_time(document['created_at'])}")
    out.print(f"next tick {_utc(document['next_tick'])}")
    for tick, event in ticks:
        out.print(f"fired     {_utc(tick)}  {event}")


@schedule_cmd.command("remove")
@click.argument("name")
@click.pass_obj
def schedule_remove(c: Any, name: str) -> None:
    """Remove a schedule; the events its ticks emitted stay."""
    c.node.schedules.remove(name)
    out.print(f"schedule {name} removed")
