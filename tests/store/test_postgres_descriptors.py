"""The PostgreSQL store in a process holding more than 1,024 open descriptors: nothing of it
may wait on a socket with select(), which fails on a descriptor numbered 1,024 or more."""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator

import pytest

from catenary.cid import cid_of
from catenary.model.filter import ExecutionFilter
from catenary.store.postgres import PostgresStore
from tests.store.test_store import commit, execution, make_run

HELD = 1100  # descriptors the test holds open, well past select()'s 1,024


@pytest.fixture
def many_descriptors() -> Iterator[list[int]]:
    """Hold HELD descriptors open (pipes: two each), raising the soft limit if it is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = HELD + 256
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.fail(f"RLIMIT_NOFILE hard limit {hard} is below the {wanted} this test needs")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    held: list[int] = []
    try:
        while len(held) < HELD:
            held.extend(os.pipe())
        yield held
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_store_answers_past_1024_descriptors_and_after_they_close(
    pg_database: str, many_descriptors: list[int]
) -> None:
    assert max(many_descriptors) >= 1024
    # Opened with the descriptors held: its pool's sockets and the LISTEN socket are numbered
    # past 1,024.
    store = PostgresStore(pg_database, pool_size=3)
    try:
        run = make_run(store)
        first = [execution(run, 0, 0, [cid_of("e")], [cid_of("v")], output=cid_of("o0"))]
        assert commit(store, run, 0, first)
        listed, _ = store.list_executions(ExecutionFilter(run=run.id), 10, None)
        assert [e.hash for e in listed] == [first[0].hash]
        # A change wakes a waiter through the LISTEN socket (psycopg's own wait on it).
        store.wait_for_change(0, 5.0)
        assert store.max_seq() >= 1
        assert [e.hash for e in store.executions_since(ExecutionFilter(), 0, 10)] == [first[0].hash]
        # The descriptors close; the store keeps answering on the connections it has.
        for fd in many_descriptors:
            os.close(fd)
        many_descriptors.clear()
        second = [execution(run, 1, 0, [first[0].hash], [cid_of("o0")], output=cid_of("o1"))]
        assert commit(store, run, 1, second)
        listed, _ = store.list_executions(ExecutionFilter(run=run.id), 10, None)
        assert [e.hash for e in listed] == [second[0].hash, first[0].hash]
    finally:
        store.close()
