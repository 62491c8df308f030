"""``catenary event``: emit, list and show emitted events (docs/events.md).

Locally an event is signed by the node's key; with ``--node`` by the client's ``--key`` (the
emitter must be allowed by the served node's ``emit`` rule). An event is stored before the
command prints it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from catenary.cid.display import short
from catenary.cli.output import cid_arg, emit, err, full_option, json_option, ns_time, out
from catenary.cli.values import parse_value

if TYPE_CHECKING:  # loaded by the commands that use them (CLI start-up)
    from catenary.model.emitted import SignedEvent


def event_json(signed: SignedEvent, data: Any = None, with_data: bool = False) -> dict[str, Any]:
    from catenary.sdk.documents import emitted_event_json

    return emitted_event_json(signed, data, with_data)


@click.group("event")
def event_cmd() -> None:
    """Emitted events: signed records that announce something (e.g. photo.uploaded)."""


@event_cmd.command("emit")
@click.argument("event_key", metavar="KEY")
@click.option(
    "--data",
    "data",
    default="null",
    show_default=True,
    metavar="VALUE",
    help="The event's data: DAG-JSON, @path (a file's bytes) or text:... (a string).",
)
@json_option
@click.pass_obj
def event_emit(c: Any, event_key: str, data: str, as_json: bool) -> None:
    """Emit an event KEY (dotted words, e.g. photo.uploaded), signed by this node's key (with
    --node: by --key); printed once stored."""
    value = parse_value(data, "--data")
    stored = c.node.events.emit(event_key, value)
    if as_json:
        emit(event_json(stored))
    else:
        out.print(f"event    {stored.id}")
        out.print(f"emitter  {stored.event.emitter}")
        out.print(f"position {stored.position}")


# Declared like every show-one-record command (an id, --json, the CLI context).
@event_cmd.command("get")
@click.argument("event_id", metavar="ID")
@json_option
@click.pass_obj
def event_get(c: Any, event_id: str, as_json: bool) -> None:
    """Show one event, its signature and its data."""
    from catenary.cid import dagjson

    node = c.node
    stored = node.events.get(cid_arg(event_id, "ID"))
    data = node.events.data(stored.event)
    if as_json:
        emit(event_json(stored, data, with_data=True))
        return
    e = stored.event
    out.print(f"event     {e.id}")
    out.print(f"key       {e.key}")
    out.print(f"emitter   {e.emitter}")
    out.print(f"time      {ns_time(e.time)}")
    out.print(f"received  {ns_time(stored.received_at)}  (position {stored.position})")
    out.print(f"data      {e.data}")
    if e.source is not None:
        out.print(f"source    {e.source}  (the execution whose output this is)")
    out.print(f"value     {dagjson.dumps(data)}", markup=False)


@event_cmd.command("list")
# --key is the global option (the client's key file), so the filter is --event-key.
@click.option("--event-key", "event_key", default=None, metavar="KEY", help="Only events with this key.")
@click.option("--emitter", "emitter", default=None, metavar="DID", help="Only events by this did:key.")
@click.option(
    "--after",
    "after",
    default=0,
    type=click.IntRange(min=0),
    metavar="POSITION",
    help="Only events after this position (the last one seen: the next page).",
)
@click.option(
    "--limit",
    "limit",
    default=100,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="At most this many events.",
)
@full_option
@json_option
@click.pass_obj
def event_list(
    c: Any, event_key: str | None, emitter: str | None, after: int, limit: int, full: bool, as_json: bool
) -> None:
    """Events stored here, oldest first, a page at a time."""
    rows = c.node.events.list(key=event_key, emitter=emitter, after=after, limit=limit)
    if as_json:
        emit({"events": [event_json(r) for r in rows]})
        return
    from rich.table import Table

    table = Table("position", "event", "key", "emitter", "time")
    for r in rows:
        table.add_row(str(r.position), short(r.id, full), r.event.key, r.event.emitter, ns_time(r.event.time))
    out.print(table)


@event_cmd.command("watch")
# --key is the global option (the client's key file), so the filter is --event-key, as in list.
@click.option("--event-key", "event_key", default=None, metavar="KEY", help="Only events with this key.")
@click.option("--emitter", "emitter", default=None, metavar="DID", help="Only events by this did:key.")
@click.option(
    "--after",
    "after",
    default=None,
    type=click.IntRange(min=0),
    metavar="POSITION",
    help="Replay the stored events after this position first (default: only new events).",
)
@json_option
@click.pass_obj
def event_watch(c: Any, event_key: str | None, emitter: str | None, after: int | None, as_json: bool) -> None:
    """Stream events as they are stored (one line each, oldest first); Ctrl-C stops."""
    node = c.node
    start = node.events.latest_position() if after is None else after
    err.print(f"watching events after position {start}; Ctrl-C to stop")
    try:
        for signed in node.events.updates(event_key, emitter, start):
            if as_json:
                emit(event_json(signed))
            else:
                e = signed.event
                out.print(f"{signed.position:>8} {e.key} {signed.id} {e.emitter}", markup=False)
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
