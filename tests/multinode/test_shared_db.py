"""Several nodes in one process on one PostgreSQL database: change notifications cross stores,
a stream that misses notifications still gets every change (seq resume), memoization and
runs are shared."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from catenary import Node
from catenary.errors import RunStateError
from catenary.model.filter import ExecutionFilter
from catenary.store.postgres import LISTEN_APPLICATION, PostgresStore
from tests.helpers import manifest

CHAIN = manifest(([-1], ["test/inc", "test/inc"]), ([0, -1], ["test/add"]))


@pytest.fixture
def two_nodes(pg_database: str, make_node: Callable[..., Node], tmp_path: Path) -> tuple[Node, Node]:
    # pg_database first: set up before the nodes, so it is dropped after they are closed.
    """Nodes A and B: own data dirs (identities), one database."""
    return (
        make_node(data_dir=tmp_path / "a", db=pg_database),
        make_node(data_dir=tmp_path / "b", db=pg_database),
    )


def _wait_in_thread(store: PostgresStore, seq: int) -> tuple[threading.Thread, threading.Event]:
    woke = threading.Event()

    def wait() -> None:
        store.wait_for_change(seq, 60)
        woke.set()

    t = threading.Thread(target=wait, daemon=True)
    t.start()
    return t, woke


def test_a_commit_on_b_wakes_a_waiter_on_a(two_nodes) -> None:
    a, b = two_nodes
    wf = b.workflows.create(CHAIN)
    a.store.wait_for_change(a.store.max_seq(), 0)  # starts A's listener
    thread, woke = _wait_in_thread(a.store, a.store.max_seq())
    assert not woke.wait(0.2)
    b.runs.run(wf.id, {0: [1], 1: [2]})
    thread.join(timeout=30)  # the wait's own timeout is 60 s: only NOTIFY ends it this soon
    assert woke.is_set()


def test_the_listener_reconnects_after_its_connection_is_killed(two_nodes, pg_database) -> None:
    a, b = two_nodes
    wf = b.workflows.create(CHAIN)
    a.store.wait_for_change(a.store.max_seq(), 0)
    with psycopg.connect(pg_database, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",
            (LISTEN_APPLICATION,),
        ).fetchall()
    assert killed == [(True,)]
    thread, woke = _wait_in_thread(a.store, a.store.max_seq())
    b.runs.run(wf.id, {0: [1], 1: [2]})
    thread.join(timeout=30)
    assert woke.is_set()


def test_a_stream_that_gets_no_notifications_still_gets_every_change(two_nodes, monkeypatch) -> None:
    """A's listener never starts: its Updates stream only polls, resuming after the last seq
    it saw, and still delivers everything B records, in seq order, once."""
    a, b = two_nodes
    monkeypatch.setattr(a.store, "_start_listener", lambda: None)
    wf = b.workflows.create(CHAIN)
    stop = threading.Event()
    got = []

    def watch() -> None:
        for execution in a.executions.updates(ExecutionFilter(workflow=wf.id), since_seq=0, stop=stop):
            got.append(execution)
            if len(got) == 9:
                return

    watcher = threading.Thread(target=watch)
    watcher.start()
    runs = [b.runs.run(wf.id, {0: [n], 1: [n]}, fresh=True)[0] for n in range(3)]
    watcher.join(timeout=60)
    stop.set()
    expected = [e for r in runs for e in b.executions.iterate(ExecutionFilter(run=r.id))]
    assert sorted(e.seq for e in got) == [e.seq for e in got]
    assert {e.hash for e in got} == {e.hash for e in expected} and len(got) == 9


def test_memoization_reuses_work_done_on_a_node_the_policy_trusts(
    pg_database: str, make_node: Callable[..., Node], tmp_path: Path, ops
) -> None:
    a = make_node(data_dir=tmp_path / "a", db=pg_database)
    # Sharing a database does not make two nodes one party: B reuses A's work once its
    # policy trusts A's key as an executor.
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "policy.toml").write_text(
        f'[[rules.trust_executor]]\nkeys = ["{a.id}"]\noperations = ["*"]\n'
    )
    b = make_node(data_dir=tmp_path / "b", db=pg_database)
    wf = a.workflows.create(CHAIN)
    _, first = a.runs.run(wf.id, {0: [1], 1: [2]})
    calls = dict(ops.CALLS)
    _, second = b.runs.run(wf.id, {0: [1], 1: [2]})
    assert dict(ops.CALLS) == calls and calls  # nothing ran again
    hit = b.executions.get(second.final)
    assert hit.cached_from == first.final and hit.executor == b.id != a.id


def test_a_node_does_not_reuse_work_of_a_node_it_does_not_trust(two_nodes, ops) -> None:
    a, b = two_nodes
    wf = a.workflows.create(CHAIN)
    a.runs.run(wf.id, {0: [1], 1: [2]})
    calls = dict(ops.CALLS)
    _, second = b.runs.run(wf.id, {0: [1], 1: [2]})
    assert dict(ops.CALLS) == {op: 2 * n for op, n in calls.items()}  # every step ran again on B
    assert b.executions.get(second.final).cached_from is None


def test_a_run_is_stepped_from_either_node_and_stale_steps_are_refused(two_nodes) -> None:
    a, b = two_nodes
    wf = a.workflows.create(CHAIN)
    run = b.runs.new(wf.id)
    state_seen_by_a = a.engine.run_state(run.id)
    b.runs.next(run.id, [1])
    # A computes segment 0 from the state it read before B's step; its commit is refused.
    a.store.get_run = lambda run_id: state_seen_by_a  # what A had read
    a.store.get_run_for_step = lambda run_id, segments: state_seen_by_a
    with pytest.raises(RunStateError, match="stepped by another caller"):
        a.runs.next(run.id, [1])
    del a.store.get_run, a.store.get_run_for_step
    result = a.runs.next(run.id, [5])
    assert result.done and result.result == 3 + 5
    assert [r.id for r in a.runs.list()] == [r.id for r in b.runs.list()] == [run.id]


def test_pooled_connections_closed_by_the_server_are_replaced(two_nodes, pg_database) -> None:
    """A server restart or an admin kill closes idle pooled connections: the next calls get
    fresh ones instead of failing."""
    a, _ = two_nodes
    wf = a.workflows.create(CHAIN)
    with psycopg.connect(pg_database, autocommit=True) as admin:
        pids = [
            r[0]
            for r in admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'catenary' "
                "AND datname = current_database()"
            )
        ]
        assert pids
        admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))
        while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)).fetchone()[
            0
        ]:
            pass  # the backends exit asynchronously
    assert a.workflows.get(wf.id).id == wf.id
    assert a.runs.run(wf.id, {0: [1], 1: [2]})[1].result == 5
