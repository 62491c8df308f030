"""Failover for clients (issue 15 item 5), with real `catenary serve` processes: a client of
several addresses moves on when its node is SIGKILLed, and a watch resumes from its last seq
across a node's death (on another node of one PostgreSQL) and across a restart (same address,
one SQLite file): every execution once, in seq order."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from catenary.client import Client
from catenary.errors import CatenaryError
from catenary.model import Execution
from catenary.model.filter import ExecutionFilter
from catenary.sdk import Node
from catenary.trust.identity import Identity
from tests.helpers import allow_anonymous, manifest
from tests.pg import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
CHAIN = manifest(([-1], ["test/inc", "test/inc"]), name="chain")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(
    data_dir: Path, listen: str = "127.0.0.1:0", dsn: str | None = None
) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("CATENARY_NODE", None)
    env.pop("CATENARY_DB", None)
    allow_anonymous(data_dir)  # the clients here call without keys
    db = ["--db", dsn] if dsn else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "catenary", "--data-dir", str(data_dir), *db, "--ops", "tests.ops_fixture"]
        + ["serve", "--listen", listen],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("listening on "):
        proc.kill()
        pytest.fail(f"catenary serve did not start: {proc.stderr.read() if proc.stderr else ''}")
    return proc, line.split()[-1]


def kill(proc: subprocess.Popen[str], how: signal.Signals = signal.SIGKILL) -> None:
    proc.send_signal(how)
    proc.wait(30)


def ready_within(client: Client, seconds: float) -> None:
    """Wait until a just-started node answers (its line is printed as it starts listening)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            client.workflows.list()
            return
        except CatenaryError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class Watch:
    """``client.executions.updates`` on a thread, collecting until stopped."""

    def __init__(self, client: Client, flt: ExecutionFilter) -> None:
        self.got: list[Execution] = []
        self.error: BaseException | None = None
        self.ready, self.stop = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, args=(client, flt))
        self._thread.start()
        assert self.ready.wait(30)

    def _run(self, client: Client, flt: ExecutionFilter) -> None:
        try:
            for execution in client.executions.updates(flt, stop=self.stop, ready=self.ready):
                self.got.append(execution)
        except BaseException as exc:  # reported by the test
            self.error = exc

    def until(self, expected: dict[bytes, int]) -> None:
        """Wait until every (execution, seq) expected has arrived, then stop."""
        for _ in range(600):
            if {e.hash.cid_bytes: e.seq for e in self.got}.items() >= expected.items() or self.error:
                break
            self.stop.wait(0.1)
        self.stop.set()
        self._thread.join(30)
        assert self.error is None, self.error


def check_once_in_order(watch: Watch, stored: list[Execution]) -> None:
    seqs = [e.seq for e in watch.got]
    assert seqs == sorted(set(seqs)), "a change repeated or out of seq order"
    latest = {e.hash: e.seq for e in watch.got}  # each execution's last change seen
    assert latest == {e.hash: e.seq for e in stored}  # ... is its stored state: nothing missed


@pytest.fixture
def two_nodes(
    pg_server: PostgresServer, tmp_path: Path
) -> Iterator[tuple[list[subprocess.Popen[str]], list[str]]]:
    dsn = pg_server.create_database()
    procs, addresses = [], []
    try:
        for name in ("a", "b"):
            proc, address = serve(tmp_path / name, dsn=dsn)
            procs.append(proc)
            addresses.append(address)
        yield procs, addresses
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
        pg_server.drop_database(dsn)


def test_a_client_of_two_nodes_goes_on_when_one_is_killed(two_nodes) -> None:
    procs, (a, b) = two_nodes
    with Client(f"{a},{b}") as client, Client(b) as writer:
        wf = client.workflows.create(json.dumps(CHAIN))
        watch = Watch(client, ExecutionFilter(workflow=wf.id))
        client.runs.run(wf.id, {0: [1]})  # on a
        kill(procs[0])
        # reads and content-addressed writes move on to b; the caller sees nothing
        assert client.workflows.get(wf.id).workflow == wf.workflow
        assert client.values.get(client.values.put({"x": 1})) == {"x": 1}
        for n in (10, 20):
            writer.runs.run(wf.id, {0: [n]})
        client.runs.run(wf.id, {0: [30]})  # on b now
        stored = list(client.executions.iterate(ExecutionFilter(workflow=wf.id)))
        assert len(stored) == 8
        watch.until({e.hash.cid_bytes: e.seq for e in stored})
        check_once_in_order(watch, stored)


def test_a_call_that_is_not_safe_to_repeat_is_not_repeated(two_nodes) -> None:
    procs, (a, b) = two_nodes
    with Client(f"{a},{b}") as client:
        wf = client.workflows.create(json.dumps(CHAIN))
        kill(procs[0])
        with pytest.raises(CatenaryError, match="failed to connect"):
            client.runs.new(wf.id)  # a second delivery would start a second run
        assert client.runs.list(wf.id) == []  # nothing was started, on either node
        assert client.runs.new(wf.id).workflow == wf.id  # the next call goes to b


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "stopped"])
def test_a_watch_across_a_restart_gets_every_execution_once_in_order(
    tmp_path: Path, how: signal.Signals
) -> None:
    """Killed, the node drops the stream; stopped, it ends the stream cleanly: either way the
    watch goes on once the node is back."""
    listen = f"127.0.0.1:{free_port()}"
    data = tmp_path / "node"
    proc, address = serve(data, listen)
    try:
        with Client(address) as client:
            wf = client.workflows.create(json.dumps(CHAIN))
            watch = Watch(client, ExecutionFilter(workflow=wf.id))
            client.runs.run(wf.id, {0: [1]})
            kill(proc)
            with Node(data, operations=["tests.ops_fixture"]) as local:  # changes while it is down
                local.runs.run(wf.id, {0: [2]})
            proc, _ = serve(data, listen)  # the same address
            with Client(address) as writer:
                ready_within(writer, 30)
                writer.runs.run(wf.id, {0: [3]})
            stored = list(client.executions.iterate(ExecutionFilter(workflow=wf.id)))
            assert len(stored) == 6
            watch.until({e.hash.cid_bytes: e.seq for e in stored})
            check_once_in_order(watch, stored)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


def test_exec_watch_with_two_nodes_goes_on_when_its_node_is_killed(two_nodes, tmp_path: Path) -> None:
    procs, (a, b) = two_nodes
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("CATENARY_KEY", None)
    with Client(b) as writer:
        wf = writer.workflows.create(json.dumps(CHAIN))
        start = writer.executions.latest_seq()
        watch = subprocess.Popen(
            [sys.executable, "-m", "catenary", "--node", f"{a},{b}", "exec", "watch", "--json"]
            + ["--workflow", str(wf.id), "--since", str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        try:
            assert watch.stderr is not None and "watching from seq" in watch.stderr.readline()
            writer.runs.run(wf.id, {0: [1]})
            kill(procs[0])  # the node the watch talks to
            writer.runs.run(wf.id, {0: [2]})
            stored = list(writer.executions.iterate(ExecutionFilter(workflow=wf.id)))
            expected = {str(e.hash): e.seq for e in stored}
            seen: list[tuple[str, int]] = []
            assert watch.stdout is not None
            guard = threading.Timer(120, watch.kill)  # a watch that stalls ends the test, not hangs it
            guard.start()
            while not dict(seen).items() >= expected.items():
                line = watch.stdout.readline()
                assert line, f"the watch stopped: {watch.stderr.read()}"
                doc = json.loads(line)
                seen.append((doc["hash"], doc["seq"]))
            assert [s for _, s in seen] == sorted({s for _, s in seen})  # once each, in seq order
            guard.cancel()
        finally:
            watch.send_signal(signal.SIGINT)
            watch.wait(30)


def test_an_event_watch_goes_on_when_its_node_is_killed(two_nodes) -> None:
    procs, (a, b) = two_nodes
    alice = Identity.generate()
    with Client(f"{a},{b}", key=alice) as client, Client(b, key=alice) as writer:
        got: list[int] = []
        ready, stop = threading.Event(), threading.Event()

        def watch() -> None:
            for signed in client.events.updates(key="tick", stop=stop, ready=ready, from_now=True):
                got.append(signed.position)

        thread = threading.Thread(target=watch)
        thread.start()
        assert ready.wait(30)
        client.events.emit("tick", 0)  # through a
        kill(procs[0])
        client.events.emit("tick", 1)  # Event.Emit is repeated on b: stored once
        for n in range(2, 5):
            writer.events.emit("tick", n)
        stored = [e.position for e in writer.events.list(key="tick")]
        assert len(stored) == 5
        for _ in range(300):
            if len(got) >= 5:
                break
            time.sleep(0.1)
        stop.set()
        thread.join(30)
        assert got == stored  # each once, in order, across the failover
