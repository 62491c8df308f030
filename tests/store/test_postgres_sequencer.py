"""The PostgreSQL store's sequencer: writers commit executions without a seq and share no
lock; the sequencer numbers them after, in commit order, so that a reader resuming after the
seq it saw last misses nothing and sees nothing twice (docs/design.md, "PostgreSQL")."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest

from catenary.cid import cid_of
from catenary.model import Run
from catenary.model.filter import ExecutionFilter
from catenary.store.postgres import PostgresStore
from tests.store.test_store import commit, execution


@pytest.fixture
def stores(pg_database: str) -> Iterator[list[PostgresStore]]:
    """Three stores on one database: three nodes."""
    opened = [PostgresStore(pg_database, pool_size=4) for _ in range(3)]
    yield opened
    for s in opened:
        s.close()


def settle(store: PostgresStore, top: int) -> None:
    """Wait until seqs up to ``top`` are handed out (the sequencer numbers after the commit)."""
    for _ in range(100):
        if store.max_seq() >= top:
            return
        store.wait_for_change(store.max_seq(), 0.1)
    raise AssertionError(f"seq {top} was not reached in 10 s (at {store.max_seq()})")


def _chain(store: PostgresStore, nonce: int, segments: int) -> list[bytes]:
    """Commit ``segments`` one-execution steps of a new run; their hashes."""
    run = Run(cid_of("wf"), nonce.to_bytes(16, "big"))
    store.create_run(run, 100)
    hashes = []
    parent, value = cid_of(f"event {nonce}"), cid_of(f"seed {nonce}")
    for segment in range(segments):
        e = execution(run, segment, 0, [parent], [value], output=cid_of(f"out {nonce} {segment}"))
        assert commit(store, run, segment, [e])
        hashes.append(e.hash.cid_bytes)
        parent, value = e.hash, e.output  # type: ignore[assignment]
    return hashes


def test_a_reader_resuming_by_seq_misses_nothing_while_nodes_write(stores: list[PostgresStore]) -> None:
    written: list[bytes] = []
    errors: list[BaseException] = []

    def write(store: PostgresStore, first: int) -> None:
        try:
            for n in range(first, first + 8):
                written.extend(_chain(store, n, 5))
        except BaseException as exc:  # reported below
            errors.append(exc)

    writers = [threading.Thread(target=write, args=(s, 100 * i)) for i, s in enumerate(stores)]
    for t in writers:
        t.start()
    seen: list[int] = []
    hashes: list[bytes] = []
    reader = stores[0]

    def read_once() -> None:
        for e in reader.executions_since(ExecutionFilter(), seen[-1] if seen else 0, 50):
            seen.append(e.seq)
            hashes.append(e.hash.cid_bytes)

    while any(t.is_alive() for t in writers):
        read_once()
    for t in writers:
        t.join()
    settle(reader, len(written))
    read_once()
    assert errors == []
    assert len(written) == 3 * 8 * 5
    # every change once, in seq order, and the seqs with no gap (each new row numbered once)
    assert sorted(hashes) == sorted(written)
    assert seen == list(range(1, len(written) + 1))
    assert reader.max_seq() == len(written)


def test_a_writer_holding_its_transaction_open_blocks_no_other_writer(
    stores: list[PostgresStore], pg_database: str
) -> None:
    run = Run(cid_of("wf"), bytes(16))
    stores[0].create_run(run, 100)
    slow = execution(run, 0, 0, [cid_of("e")], [cid_of("v")], output=cid_of("o"))
    with psycopg.connect(pg_database) as conn:
        with conn.transaction():
            # A writer between its insert and its commit (a slow flush, a long group commit):
            # formerly it held the seq counter's row lock, and every writer waited for it.
            assert stores[0]._insert_executions(conn, [slow])[0] == 1
            finished = threading.Event()
            other = threading.Thread(target=lambda: (_chain(stores[1], 1, 2), finished.set()))
            other.start()
            assert finished.wait(30), "a writer on another node waited for an open transaction"
            other.join()
            settle(stores[1], 2)
            # The other node's rows are numbered; the open transaction's row is not visible yet.
            assert [e.seq for e in stores[1].executions_since(ExecutionFilter(), 0, 10)] == [1, 2]
        # Committed without a stamp (as by a writer killed before its stamp): the next store
        # to open numbers it.
        assert stores[2].executions_since(ExecutionFilter(run=run.id), 0, 10) == []
    late = PostgresStore(pg_database)
    try:
        assert [(e.hash, e.seq) for e in late.executions_since(ExecutionFilter(run=run.id), 0, 10)] == [
            (slow.hash, 3)
        ]
    finally:
        late.close()


def test_a_waiting_subscriber_numbers_what_a_killed_writer_left(
    stores: list[PostgresStore], pg_database: str
) -> None:
    run = Run(cid_of("wf"), bytes(16))
    stores[0].create_run(run, 100)
    left = execution(run, 0, 0, [cid_of("e")], [cid_of("v")], output=cid_of("o"))
    with psycopg.connect(pg_database) as conn:
        with conn.transaction():
            stores[0]._insert_executions(conn, [left])  # committed; its writer "died" here
    waiting = stores[1]
    for _ in range(10):  # the listener checks once a second
        waiting.wait_for_change(0, 1.0)
        if waiting.max_seq() >= 1:
            break
    assert [e.hash for e in waiting.executions_since(ExecutionFilter(), 0, 10)] == [left.hash]
