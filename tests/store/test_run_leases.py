"""Run leases (catenary/store/leases.py), on every backend: one holder at a time, by the
database's clock, takeover after a lapse, cancel asked of a live holder or done at once."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from catenary.cid import block, cid_of
from catenary.model import Run
from catenary.store import SQLiteStore, Store

SECOND = 1_000_000_000


@pytest.fixture
def open_store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[[], Store]]:
    """Stores on one database: several act as several nodes."""
    location = request.getfixturevalue("pg_database") if backend == "postgresql" else tmp_path / "db.sqlite"
    opened: list[Store] = []

    def make() -> Store:
        if isinstance(location, Path):
            s: Store = SQLiteStore(location)
        else:
            from catenary.store.postgres import PostgresStore

            s = PostgresStore(location)
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()


def submit(store: Store, holder: str = "node-a", lease_ns: int = 60 * SECOND) -> Run:
    run = Run(cid_of("wf"), os.urandom(16))
    value = block(41)
    store.submit_run(run, time.time_ns(), b"\xa0", [value], holder, lease_ns)
    return run


def test_a_submitted_run_is_created_held_with_its_inputs(open_store) -> None:
    store = open_store()
    run = submit(store)
    state = store.get_run(run.id)
    assert state is not None and state.status == "running"
    lease = store.get_run_lease(run.id)
    assert lease is not None
    assert (lease.holder, lease.live, lease.cancel, lease.orders) == ("node-a", True, None, b"\xa0")
    assert store.get_block(block(41)[0]) is not None  # the submitted input value is stored


def test_a_live_lease_is_not_taken_a_lapsed_one_is(open_store) -> None:
    store = open_store()
    run = submit(store, lease_ns=SECOND // 5)
    assert not store.take_run_lease(run.id, "node-b", SECOND)
    assert store.take_run_lease(run.id, "node-a", SECOND // 5)  # its holder may extend it
    time.sleep(0.3)
    assert [lease.run for lease in store.lapsed_run_leases()] == [run.id]
    assert store.take_run_lease(run.id, "node-b", 60 * SECOND)
    assert store.get_run_lease(run.id).holder == "node-b"  # type: ignore[union-attr]
    # The old holder learns that it lost the run: its renewal renews nothing.
    assert store.renew_run_leases([run.id], "node-a", 60 * SECOND) == set()
    assert store.renew_run_leases([run.id], "node-b", 60 * SECOND) == {run.id}
    assert store.lapsed_run_leases() == []


def test_two_nodes_never_both_take_one_lapsed_run(open_store) -> None:
    """Eight takers on separate stores (connections) race for each lapsed lease: one wins."""
    stores = [open_store() for _ in range(4)]
    runs = [submit(stores[0], "dead-node", lease_ns=0) for _ in range(5)]
    time.sleep(0.01)

    def take(run: Run, name: str, store: Store, barrier: threading.Barrier, won: list[str]) -> None:
        barrier.wait()
        if store.take_run_lease(run.id, name, 60 * SECOND):
            won.append(name)

    for run in runs:
        won: list[str] = []
        barrier = threading.Barrier(8)
        threads = [
            threading.Thread(target=take, args=(run, f"node-{i}", stores[i % 4], barrier, won))
            for i in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1, won
        assert stores[1].get_run_lease(run.id).holder == won[0]  # type: ignore[union-attr]


def test_cancel_asks_a_live_holder_and_ends_an_undriven_run_at_once(open_store) -> None:
    store = open_store()
    driven = submit(store)
    assert store.cancel_run(driven.id, "cancelled by me", 5) == "requested"
    assert store.get_run(driven.id).status == "running"  # type: ignore[union-attr]
    assert store.get_run_lease(driven.id).cancel == "cancelled by me"  # type: ignore[union-attr]
    assert store.finish_cancel(driven.id, "cancelled by me", 6)
    state = store.get_run(driven.id)
    assert state is not None and (state.status, state.error) == ("cancelled", "cancelled by me")
    assert store.get_run_lease(driven.id) is None

    orphan = submit(store, "dead-node", lease_ns=0)
    time.sleep(0.01)
    assert store.cancel_run(orphan.id, "why", 7) == "ended"
    assert store.get_run(orphan.id).status == "cancelled"  # type: ignore[union-attr]
    assert store.cancel_run(orphan.id, "again", 8) == "cancelled"  # its status: not running
    assert store.cancel_run(cid_of("no such run"), "why", 9) is None


def test_a_lapsed_lease_of_an_ended_run_is_not_taken(open_store) -> None:
    store = open_store()
    run = submit(store, "dead-node", lease_ns=0)
    time.sleep(0.01)  # past the lease by the database's clock (a millisecond or so in SQLite)
    assert store.cancel_run(run.id, "why", 1) == "ended"  # (and drops the row)
    assert not store.take_run_lease(run.id, "node-b", SECOND)


def test_hand_off_lets_the_lease_lapse_now(open_store) -> None:
    store = open_store()
    run = submit(store)
    assert store.hand_off_run_leases([run.id], "node-a") == 1
    assert [lease.run for lease in store.lapsed_run_leases()] == [run.id]
    assert store.end_run_lease(run.id, "node-a")
    assert store.get_run_lease(run.id) is None
