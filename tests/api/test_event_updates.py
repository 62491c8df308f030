"""Event.Updates through a real server: the client subscribes (from now, or after a position),
receives the events emitted meanwhile in order, resumes with no gap and no repeat; the
CLI's `event watch --node` prints them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from catenary.api import Server
from catenary.client import Client
from catenary.model.emitted import SignedEvent
from catenary.sdk import Node
from tests.helpers import open_policy


@pytest.fixture
def served(node: Node) -> Iterator[Server]:
    server = Server(node, "127.0.0.1:0", policy=open_policy(node), max_workers=32).start()
    yield server
    server.stop(grace=1)


def test_subscribe_then_emit_misses_nothing_and_resumes(served: Server, node: Node) -> None:
    node.events.emit("old.event", 0)
    with Client(served.address, key=node.identity) as client:
        assert client.events.latest_position() == 1
        ready, stop = threading.Event(), threading.Event()
        got: list[SignedEvent] = []

        def read() -> None:
            for signed in client.events.updates(key="photo.uploaded", stop=stop, from_now=True, ready=ready):
                got.append(signed)
                if len(got) == 3:
                    stop.set()

        reader = threading.Thread(target=read)
        reader.start()
        assert ready.wait(10)
        sent = [client.events.emit("photo.uploaded", n) for n in range(3)]
        node.events.emit("other.key", 1)
        reader.join(timeout=30)
        assert [s.id for s in got] == [s.id for s in sent]
        assert got[0].signature == sent[0].signature
        # resume after the first: the other two, then whatever comes next
        stop = threading.Event()
        resumed = []
        for signed in client.events.updates(after=got[0].position, stop=stop):
            resumed.append(signed.event.key)
            if len(resumed) == 3:
                stop.set()
        assert resumed == ["photo.uploaded", "photo.uploaded", "other.key"]


def test_event_watch_over_node(served: Server, node: Node) -> None:
    node.events.emit("a.b", 1)
    env = {**os.environ, "CATENARY_HOME": str(node.data_dir / "unused")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "catenary",
            "event",
            "watch",
            "--node",
            served.address,
            "--after",
            "0",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert (first["key"], first["position"]) == ("a.b", 1)
        node.events.emit("c.d", 2)
        second = json.loads(proc.stdout.readline())
        assert (second["key"], second["position"]) == ("c.d", 2)
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0, proc.stderr.read() if proc.stderr else ""
