"""The PostgreSQL store's group commit: steps committed together by several threads share one
transaction, and each keeps its own outcome (committed, refused as stale, or its own error)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from catenary.cid import cid_of
from catenary.errors import StoreError
from catenary.model.filter import ExecutionFilter
from catenary.store.postgres import PostgresStore
from tests.store.test_store import commit, execution, make_run


@pytest.fixture
def store(pg_database: str) -> Iterator[PostgresStore]:
    s = PostgresStore(pg_database)
    yield s
    s.close()


def _queued(store: PostgresStore, jobs: list) -> tuple[list, list[int]]:
    """Run ``jobs`` (callables) in threads that all queue their step while the test holds the
    commit lock, then release it; returns their outcomes and the size of each transaction."""
    sizes: list[int] = []
    write = store._write_steps

    def counting(conn, pipe, batch):
        sizes.append(len(batch))
        return write(conn, pipe, batch)

    store._write_steps = counting
    outcomes: list = [None] * len(jobs)

    def run(i: int) -> None:
        try:
            outcomes[i] = jobs[i]()
        except Exception as exc:  # the outcome under test
            outcomes[i] = exc

    group = store._steps
    with group._group:
        group._committing = True  # as if a batch were being committed: the steps queue up
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    while len(group._queue) < len(jobs):
        time.sleep(0.001)  # waiting for the threads to queue (no timing is asserted)
    with group._group:
        group._committing = False
        group._group.notify_all()
    for t in threads:
        t.join()
    del store._write_steps
    return outcomes, sizes


def test_steps_queued_together_commit_in_one_transaction(store: PostgresStore) -> None:
    runs = [make_run(store, bytes([i]) * 16) for i in range(6)]
    steps = [
        execution(run, 0, 0, [cid_of(f"ev{i}")], [cid_of(i)], output=cid_of(i + 100))
        for i, run in enumerate(runs)
    ]
    outcomes, sizes = _queued(store, [lambda r=r, e=e: commit(store, r, 0, [e]) for r, e in zip(runs, steps)])
    assert outcomes == [True] * 6
    assert sizes == [6]
    got = store.executions_since(ExecutionFilter(), 0, 100)
    assert sorted(e.hash for e in got) == sorted(e.hash for e in steps)
    assert [e.seq for e in got] == [1, 2, 3, 4, 5, 6]
    assert all(store.get_run(r.id).next_segment == 1 for r in runs)


def test_each_step_of_a_group_is_checked_on_its_own(store: PostgresStore) -> None:
    fresh, done = make_run(store, b"f" * 16), make_run(store, b"d" * 16)
    assert commit(store, done, 0, [execution(done, 0, 0, [cid_of("e")], [cid_of(0)], output=cid_of(1))])
    mine = execution(fresh, 0, 0, [cid_of("a")], [cid_of(1)], output=cid_of(2))
    same_run_again = execution(fresh, 0, 0, [cid_of("b")], [cid_of(3)], output=cid_of(4))
    stale = execution(done, 0, 0, [cid_of("c")], [cid_of(5)], output=cid_of(6))
    outcomes, sizes = _queued(
        store,
        [
            lambda: commit(store, fresh, 0, [mine]),
            lambda: commit(store, fresh, 0, [same_run_again]),
            lambda: commit(store, done, 0, [stale]),
        ],
    )
    assert outcomes == [True, False, False]
    assert sizes == [2, 1]  # a second step of one run waits for the next transaction
    assert store.get_execution(mine.hash) is not None
    assert store.get_execution(same_run_again.hash) is None and store.get_execution(stale.hash) is None


def test_a_failing_step_fails_alone(store: PostgresStore) -> None:
    a, b, c = (make_run(store, bytes([i]) * 16) for i in range(3))
    recorded = execution(a, 0, 0, [cid_of("x")], [cid_of(1)], output=cid_of(2))
    assert commit(store, a, 0, [recorded])
    good = execution(c, 0, 0, [cid_of("y")], [cid_of(3)], output=cid_of(4))
    # b's step carries an execution whose hash is already recorded: the store refuses it.
    outcomes, sizes = _queued(
        store, [lambda: commit(store, b, 0, [recorded]), lambda: commit(store, c, 0, [good])]
    )
    assert isinstance(outcomes[0], StoreError) and "already recorded" in str(outcomes[0])
    assert outcomes[1] is True
    assert sizes == [2, 1, 1]  # the group failed, then each step alone
    assert store.get_run(b.id).next_segment == 0 and store.get_run(c.id).next_segment == 1
