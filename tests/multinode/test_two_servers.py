"""Two real `catenary serve` processes on one PostgreSQL database serve the same data.

create-on-A / stream-on-B, step-on-B / get-on-A, and contested claims from both nodes with
exactly one winner. Each node has its own data dir (its identity); the records are shared.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from catenary.client import Client
from catenary.errors import StatusTransitionError
from catenary.model import Status
from catenary.model.filter import ExecutionFilter
from catenary.trust.attestation import report
from catenary.trust.identity import Identity
from tests.helpers import allow_anonymous, check_hashes, manifest
from tests.pg import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
CHAIN = manifest(([-1], ["test/inc", "test/inc"]), ([0, -1], ["test/add"]), ([1], ["test/inc"]))


def serve(dsn: str, data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("CATENARY_NODE", None)
    allow_anonymous(data_dir)  # the clients here call without keys
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "catenary",
            "--data-dir",
            str(data_dir),
            "--db",
            dsn,
            "--ops",
            "tests.ops_fixture",
            "serve",
            "--listen",
            "127.0.0.1:0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        proc.kill()
        pytest.fail(f"catenary serve did not start: {proc.stderr.read()}")
    return proc, line.split()[-1]


@pytest.fixture(scope="module")
def nodes(
    pg_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Client, Client]]:
    """Clients of node A and node B: two processes, two data dirs, one database."""
    dsn = pg_server.create_database()
    base = tmp_path_factory.mktemp("two-nodes")
    procs = []
    clients = []
    try:
        for name in ("a", "b"):
            proc, address = serve(dsn, base / name)
            procs.append(proc)
            clients.append(Client(address))
        yield clients[0], clients[1]
    finally:
        for client in clients:
            client.close()
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            assert proc.wait(30) == 0, proc.stderr.read()
        pg_server.drop_database(dsn)


def test_the_nodes_are_two_processes_with_their_own_identity(nodes) -> None:
    a, b = nodes
    wf = a.workflows.create(json.dumps(CHAIN))
    run = a.runs.new(wf.id)
    first = a.runs.next(run.id, [1])
    second = b.runs.next(run.id, [2])
    assert a.executions.get(first.final).executor != b.executions.get(second.final).executor


def test_create_on_a_stream_on_b(nodes) -> None:
    a, b = nodes
    wf = a.workflows.create(json.dumps(manifest(([-1], ["test/inc"] * 3), name="streamed")))
    assert b.workflows.get(wf.id).workflow == wf.workflow
    ready, stop = threading.Event(), threading.Event()
    got = []

    def watch() -> None:
        for execution in b.executions.updates(
            ExecutionFilter(workflow=wf.id), since_seq=start, stop=stop, ready=ready
        ):
            got.append(execution)
            if len(got) == 6:
                return

    start = b.executions.latest_seq()
    watcher = threading.Thread(target=watch)
    watcher.start()
    assert ready.wait(30)
    runs = [a.runs.run(wf.id, {0: [n]}, fresh=True)[0] for n in (10, 20)]
    watcher.join(timeout=60)
    stop.set()
    assert len(got) == 6, got
    made_on_a = [e for r in runs for e in a.executions.iterate(ExecutionFilter(run=r.id))]
    assert sorted(e.hash for e in got) == sorted(e.hash for e in made_on_a)
    assert [e.seq for e in got] == sorted(e.seq for e in got)
    for e in got:
        check_hashes(e)


def test_step_on_b_get_on_a(nodes) -> None:
    a, b = nodes
    wf = a.workflows.create(json.dumps(CHAIN))
    run = a.runs.new(wf.id)
    s0 = b.runs.next(run.id, [1])  # segment 0 on B
    state = a.runs.get(run.id)
    assert (state.next_segment, state.status) == (1, "running")
    assert a.executions.get(s0.final) == b.executions.get(s0.final)
    s1 = a.runs.next(run.id, [5])  # segment 1 on A: reads B's segment 0 output
    s2 = b.runs.next(run.id)  # segment 2 on B
    assert (s2.done, s2.result) == (True, (1 + 2) + 5 + 1)
    assert s2.total_time == pytest.approx(s0.segment_time + s1.segment_time + s2.segment_time)
    final = a.executions.get(s2.final)
    assert final.status is Status.COMPLETED and a.values.get(final.output) == 9
    assert a.runs.get(run.id).status == "completed"
    trace = a.executions.trace(s2.final)
    assert {n.hash for n in trace.nodes} == {n.hash for n in b.executions.trace(s2.final).nodes}


def test_contested_claims_from_both_nodes_have_one_winner(nodes) -> None:
    a, b = nodes
    wf = a.workflows.create(json.dumps(manifest(([-1], ["test/inc"]), ([0], ["test/inc"]), name="claims")))
    inc = next(o for o in a.operations.list() if o.manifest.name == "test/inc").version_id
    created = []
    for n in range(8):  # segment 1 of 8 runs, recorded where the engine would put it
        run = a.runs.new(wf.id)
        producer = a.executions.get(a.runs.next(run.id, [n]).final)
        created.append(a.executions.create(wf.id, run.id, 1, 0, inc, {}, [producer.hash], [producer.output]))
    assert all(e.status is Status.CREATED for e in created)
    keys = {"exec-a": Identity.generate(), "exec-b": Identity.generate()}
    won: dict[str, list] = {"exec-a": [], "exec-b": []}
    barrier = threading.Barrier(2)

    def claim(client: Client, name: str) -> None:
        barrier.wait()
        for e in created:
            try:
                client.executions.update(e.hash, Status.IN_PROGRESS, executor=keys[name].id)
                won[name].append(e.hash)
            except StatusTransitionError:
                pass

    threads = [threading.Thread(target=claim, args=(c, n)) for c, n in ((a, "exec-a"), (b, "exec-b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(won["exec-a"] + won["exec-b"]) == sorted(e.hash for e in created)
    assert not set(won["exec-a"]) & set(won["exec-b"])
    for name, hashes in won.items():
        for h in hashes:
            assert a.executions.get(h).executor == keys[name].id == b.executions.get(h).executor
    # The winner completes through the other node; a second completion is refused on either.
    first = created[0]
    owner = next(keys[name] for name, hashes in won.items() if first.hash in hashes)
    signed = report(owner, first.hash, first.key, 3)
    done = b.executions.update(first.hash, Status.COMPLETED, executor=owner.id, output=3, attestation=signed)
    assert done.status is Status.COMPLETED and a.values.get(done.output) == 3
    with pytest.raises(StatusTransitionError, match="expected status in_progress, actual completed"):
        a.executions.update(first.hash, Status.COMPLETED, executor=owner.id, output=3, attestation=signed)
