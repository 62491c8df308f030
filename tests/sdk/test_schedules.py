"""Schedules on both stores: a due tick is emitted once as an event signed by the node (and
starts the workflows triggered on its key); a tick missed while no node served fires once on
restart (catch-up once) or not at all (skip), never twice, whichever of several nodes on one
database gets there first; a refused schedule stores nothing."""

from __future__ import annotations

import calendar
import json
import threading
import time
from collections.abc import Callable

import pytest

from catenary.errors import AlreadyExistsError, ManifestError, NotFoundError, ValueTooLargeError
from catenary.sdk import Node
from tests.helpers import snapshot

YEARLY = "0 0 1 1 *"  # midnight UTC on January 1st
ENCODE = {
    "data": {
        "name": "encode",
        "creators": [],
        "description": "",
        "groups": [],
        "segments": [{"inputs": [-1], "sequence": [{"op": "std/utf8-encode", "config": {}}]}],
    }
}


def _new_year(now: int) -> int:
    return calendar.timegm((time.gmtime(now).tm_year, 1, 1, 0, 0, 0))


def test_a_due_tick_is_a_signed_event_that_starts_the_triggered_workflow(node: Node) -> None:
    wf = node.workflows.create(json.dumps(ENCODE))
    node.triggers.create({"name": "t", "on": "clock.tick", "workflow": str(wf.id), "inputs": ["$.time"]})
    now = int(time.time())
    node.schedules.add("every", "* * * * * *", "clock.tick", {"room": 1}, start=now - 1)
    [event] = node.schedules.run_due(now)
    assert (event.event.emitter, event.event.key, event.event.time) == (node.id, "clock.tick", now * 10**9)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    assert node.events.data(event.event) == {
        "schedule": "every",
        "tick": now,
        "time": stamp,
        "data": {"room": 1},
    }
    assert node.events.get(event.id).signature == event.signature  # stored, signed by the node
    [firing] = node.triggers.history("t")
    assert firing.status == "fired"
    run = node.runs.get(firing.run)
    assert node.values.get(run.outputs[0].output) == stamp.encode()
    assert node.schedules.run_due(now) == []  # the same tick again: nothing
    assert node.schedules.ticks("every") == [(now, event.id)]
    assert [e.id for e in node.schedules.run_due(now + 1)] != []  # the next tick fires


def test_a_tick_missed_while_down_fires_once_on_restart(make_node: Callable[..., Node]) -> None:
    node = make_node()
    now = int(time.time())
    node.schedules.add("yearly", YEARLY, "year.begins", start=now - 3 * 366 * 86400)
    [event] = node.schedules.run_due(now)  # three new years missed: the latest fires, once
    assert node.events.data(event.event)["tick"] == _new_year(now)
    assert node.schedules.get("yearly").last_tick == _new_year(now)
    node.close()
    again = make_node()  # a restart
    assert again.schedules.run_due(now) == [] and again.schedules.run_due(now + 60) == []
    assert [e.id for e in again.events.list(key="year.begins")] == [event.id]


def test_skip_passes_over_missed_ticks_and_fires_the_next_on_time(node: Node) -> None:
    now = int(time.time())
    node.schedules.add("yearly", YEARLY, "year.begins", catch_up="skip", start=now - 3 * 366 * 86400)
    assert node.schedules.run_due(now) == []
    assert node.schedules.get("yearly").last_tick == _new_year(now)
    assert node.events.list() == [] and node.schedules.ticks("yearly") == []
    node.schedules.add("often", "* * * * * *", "clock.tick", catch_up="skip", start=now - 1)
    assert [e.event.key for e in node.schedules.run_due(now)] == ["clock.tick"]  # on time


def test_two_nodes_on_one_database_fire_each_tick_once(make_node: Callable[..., Node]) -> None:
    nodes = [make_node() for _ in range(3)]
    now = int(time.time())
    nodes[0].schedules.add("every", "* * * * * *", "clock.tick", start=now - 5)
    fired: list[int] = []
    barrier = threading.Barrier(len(nodes))

    def fire(node: Node) -> None:
        for tick in range(now, now + 5):
            barrier.wait()  # all the nodes race for each tick
            fired.extend(e.event.time for e in node.schedules.run_due(tick))

    threads = [threading.Thread(target=fire, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(fired) == [t * 10**9 for t in range(now, now + 5)]  # each tick once, in all
    assert len(nodes[0].events.list(key="clock.tick")) == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bad name", "* * * * *", "a.b"), "NAME"),
        (("s", "61 * * * *", "a.b"), "--cron: '61 * * * *' is not a cron expression"),
        (("s", "every day", "a.b"), "--cron"),
        (("s", "", "a.b"), "--cron"),
        (("s", "* * * * *", "Not A Key"), "--event-key"),
    ],
)
def test_a_bad_schedule_is_refused_and_stores_nothing(
    node: Node, db_path: object, args: tuple[str, str, str], message: str
) -> None:
    before = snapshot(db_path)  # type: ignore[arg-type]
    with pytest.raises(ManifestError) as info:
        node.schedules.add(*args)
    assert message in str(info.value)
    with pytest.raises(ManifestError, match="--catch-up"):
        node.schedules.add("s", "* * * * *", "a.b", catch_up="twice")
    with pytest.raises(ValueTooLargeError):
        node.schedules.add("s", "* * * * *", "a.b", "x" * 300_000)
    assert snapshot(db_path) == before  # type: ignore[arg-type]


def test_names_are_unique_and_removal_keeps_the_events(node: Node) -> None:
    now = int(time.time())
    node.schedules.add("every", "* * * * * *", "clock.tick", start=now - 1)
    with pytest.raises(AlreadyExistsError):
        node.schedules.add("every", "* * * * *", "other.key")
    [event] = node.schedules.run_due(now)
    node.schedules.remove("every")
    assert node.schedules.list() == [] and node.schedules.run_due(now + 1) == []
    assert node.events.get(event.id).id == event.id
    with pytest.raises(NotFoundError):
        node.schedules.remove("every")
