"""Crash safety of events and triggers: SIGKILL a serving node during a burst of Emit calls.

Each cycle starts a worker (event_crash_worker, forkserver) that serves a node with a trigger
starting a small workflow on every ``burst.item`` event; two client threads here emit over
gRPC and journal each event id (fsynced) only after its Emit was acknowledged. The worker is
killed at a random moment (most kills land in the burst, some in start-up). After each kill:
every acknowledged event is stored, every (trigger, event) pair has at most one firing and
one run, and every fired run finished with the right output. At the end a last start catches
up: every stored event fired its trigger exactly once, nothing pending. Seeded.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from catenary.cid import CID
from catenary.client import Client
from catenary.sdk import Node
from catenary.sdk.event import EventManager
from catenary.trust.identity import Identity

from . import event_crash_worker as worker
from .crash_worker import mix, read_journal

KILLS = int(os.environ.get("CATENARY_EVENT_CRASH_KILLS", "25"))
SEED = int(os.environ.get("CATENARY_CRASH_SEED", "20261127"))
EMITTERS = 2  # client threads emitting at once


def _emit_until_refused(address: str, alice: Identity, journal: Path, first: int) -> None:
    """Emit from EMITTERS threads until the node dies; journal each acknowledged event."""
    lock = threading.Lock()
    fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    counter = iter(range(first, first + 10**6))

    def emit(client: Client) -> None:
        while True:
            with lock:
                n = next(counter)
            try:
                stored = client.events.emit(worker.KEY, {"n": n})
            except Exception:  # noqa: BLE001 - the node was killed: this call is not acknowledged
                return
            with lock:  # written and fsynced before it counts
                os.write(fd, (json.dumps({"event": str(stored.id), "n": n}) + "\n").encode())
                os.fsync(fd)

    with Client(address, key=alice, timeout=30) as client:
        threads = [threading.Thread(target=emit, args=(client,)) for _ in range(EMITTERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    os.close(fd)


def _wait_for(path: Path, proc: multiprocessing.process.BaseProcess, timeout: float = 120) -> str | None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if not proc.is_alive() or time.monotonic() > deadline:
            return None
        time.sleep(0.005)
    return str(json.loads(path.read_text())["address"])


def check(node: Node, lines: list[dict], final: bool) -> tuple[int, int, set[CID]]:
    """Every journaled event stored; at most one firing and one run per pair; every fired run
    done with the right output; at the end, every stored event fired exactly once."""
    for line in lines:
        stored = node.events.get(CID.parse(line["event"]))
        assert node.events.data(stored.event) == {"n": line["n"]}
    events, after = [], 0
    while page := node.events.list(key=worker.KEY, after=after, limit=1000):
        events += page
        after = page[-1].position
    firings = node.triggers.history(worker.TRIGGER, limit=10**6)
    assert {f.status for f in firings} <= {"started", "fired"}, [f for f in firings if f.reason][:3]
    assert len({f.event for f in firings}) == len(firings)  # one firing per pair
    # (no workflow yet when the first start was killed early)
    runs = [r for wf in node.workflows.list() for r in node.runs.list(wf.id, 10**6)]
    assert sorted(str(r.id) for r in runs) == sorted(str(f.run) for f in firings)  # one run per firing
    by_id = {e.id: e for e in events}
    for firing in firings:
        if firing.status != "fired":
            continue
        run = node.runs.get(firing.run)
        n = node.events.data(by_id[firing.event].event)["n"]
        assert run.status == "completed" and node.values.get(run.outputs[0].output) == mix(mix(n))
    # left by this kill for the next start: pairs not yet fired, or started and not stepped
    unfinished = set(by_id) - {f.event for f in firings if f.status == "fired"}
    if final:
        assert {f.event for f in firings} == set(by_id) and not unfinished
    return len(events), len(firings), unfinished


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_during_an_event_burst_fires_every_pair_once(
    tmp_path: Path, backend: str, db: str | None
) -> None:
    kills = KILLS if db is None else max(1, KILLS * 2 // 5)  # a PostgreSQL start costs more
    rng = random.Random(SEED)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["catenary.sdk", "catenary.api", "tests.reliability.event_crash_worker"])
    data_dir, journal = tmp_path / "data", tmp_path / "journal"
    alice = Identity.generate()
    checked, mid_burst, caught_up = 0, 0, set()
    for kill in range(kills + 1):
        last = kill == kills  # the last start only catches up, then stops
        address_file = tmp_path / f"address-{kill}"
        proc = ctx.Process(target=worker.serve, args=(str(data_dir), alice.id, str(address_file), db))
        proc.start()
        in_start_up = not last and rng.random() < 0.1
        delay = rng.uniform(0.0, 0.3 if db is None else 1.0)  # (a PostgreSQL emit is slower)
        if in_start_up:
            time.sleep(delay / 3)
        else:
            address = _wait_for(address_file, proc)
            assert address is not None, f"start {kill}: the node did not serve (exit {proc.exitcode})"
            if not last:
                threading.Timer(delay, os.kill, (proc.pid, signal.SIGKILL)).start()
                _emit_until_refused(address, alice, journal, kill * 10**6)
                mid_burst += 1
        with contextlib.suppress(ProcessLookupError):  # the timer killed it already
            os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        assert proc.exitcode == -signal.SIGKILL
        lines = read_journal(journal)
        with Node(data_dir, db=db) as node:
            events, fired, unfinished = check(node, lines, final=last)
            caught_up |= unfinished
            if kill % 10 == 9 or last:
                report = node.doctor.check()
                assert report.ok, report.findings[:5]
        checked = len(lines)
    assert checked > 0 and mid_burst > 0
    print(
        f"event crash ({backend}): {kills} kills ({mid_burst} in a burst), "
        f"{checked} acknowledged events kept, "
        f"{events} stored, {fired} (trigger, event) pairs fired once each "
        f"({len(caught_up)} left unfinished by a kill and finished by the next start), 0 lost"
    )


def test_serve_fires_at_start_what_a_stopped_node_left_unfired(tmp_path: Path) -> None:
    """An event stored but never dispatched (the node died in between) fires when `catenary
    serve` starts, before it listens: not only when some later event arrives."""
    encode = {"inputs": [-1], "sequence": [{"op": "std/utf8-encode", "config": {}}]}
    with Node(tmp_path) as node:
        wf = node.workflows.create(
            {
                "data": {
                    "name": "encode",
                    "creators": [],
                    "description": "",
                    "groups": [],
                    "segments": [encode],
                }
            }
        )
        node.triggers.create({"name": "t", "on": "note.added", "workflow": str(wf.id), "inputs": ["$.s"]})
        undispatched = EventManager(node.store, node.values, node.identity)  # stores, fires nothing
        stored = undispatched.emit("note.added", {"s": "hi"})
        assert node.triggers.history() == []
    env = {**os.environ, "CATENARY_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "catenary", "serve", "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().startswith("listening on ")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    with Node(tmp_path) as node:
        [firing] = node.triggers.history("t")
        assert (firing.event, firing.status) == (stored.id, "fired")
        run = node.runs.get(firing.run)
        assert run.status == "completed" and node.values.get(run.outputs[0].output) == b"hi"
