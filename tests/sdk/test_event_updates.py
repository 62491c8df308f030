"""node.events.updates on both stores: the stored events after a position, then live ones as
they are stored, oldest first, filtered by key and emitter; resuming at the last position seen
gives no gap and no repeat, with several writers at once (on PostgreSQL too, whose positions
would otherwise commit out of order)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from catenary.model.emitted import SignedEvent
from catenary.sdk import Node
from catenary.trust.identity import Identity


def _collect(stream: Iterator[SignedEvent], count: int, stop: threading.Event) -> list[SignedEvent]:
    got: list[SignedEvent] = []
    for signed in stream:
        got.append(signed)
        if len(got) == count:
            stop.set()
    return got


def test_replay_then_live_filtered_and_resumed(node: Node) -> None:
    first = node.events.emit("photo.uploaded", 1)
    node.events.emit("sensor.reading", 2)
    assert node.events.latest_position() == 2
    stop = threading.Event()
    stream = node.events.updates(key="photo.uploaded", stop=stop)
    got: list[SignedEvent] = []
    reader = threading.Thread(target=lambda: got.extend(_collect(stream, 3, stop)))
    reader.start()
    live = [node.events.emit("photo.uploaded", n) for n in (3, 4)]
    node.events.emit("sensor.reading", 5)
    reader.join(timeout=30)
    assert not reader.is_alive()
    assert [s.id for s in got] == [first.id, *(s.id for s in live)]  # replayed, then live, in order
    # resuming after the last position seen repeats nothing
    stop = threading.Event()
    rest = node.events.updates(after=got[-1].position, stop=stop)
    assert [s.event.key for s in _collect(rest, 1, stop)] == ["sensor.reading"]


def test_many_writers_no_gap_no_repeat(make_node: Callable[..., Node]) -> None:
    writers = [make_node() for _ in range(3)]
    watcher = make_node()
    emitters = [Identity.generate() for _ in writers]
    total = 3 * 40
    stop = threading.Event()
    got: list[SignedEvent] = []
    subscribed = watcher.events.updates(stop=stop)
    reader = threading.Thread(target=lambda: got.extend(_collect(subscribed, total, stop)))
    reader.start()

    def write(node: Node, who: Identity) -> None:
        for n in range(40):
            node.events.emit("load.test", n, identity=who)

    threads = [threading.Thread(target=write, args=pair) for pair in zip(writers, emitters, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reader.join(timeout=60)
    assert not reader.is_alive(), f"{len(got)} of {total}"
    positions = [s.position for s in got]
    assert positions == sorted(positions) and len(set(positions)) == total
    assert {s.id for s in got} == {s.id for s in watcher.events.list(limit=1000)}
    # only one emitter's, replayed from the start
    stop = threading.Event()
    mine = _collect(watcher.events.updates(emitter=emitters[0].id, stop=stop), 40, stop)
    assert {s.event.emitter for s in mine} == {emitters[0].id}
