"""The PostgreSQL store's sequencer: writers commit executions without a seq and share no
lock; the sequencer numbers them after, in commit order, so that a reader resuming after the
seq it saw last misses nothing and sees nothing twice (docs/design.md, "PostgreSQL")."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from catenary.cid import cid_of
from catenary.model import Run
from catenary.model.filter import ExecutionFilter
from catenary.store.postgres import PostgresStore
from catenary.store.postgres.schema import INSERT_UNNUMBERED
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


def test_a_writer_holding_the_sequencer_lock_blocks_no_other_commit(
    stores: list[PostgresStore], pg_database: str
) -> None:
    run = Run(cid_of("wf"), bytes(16))
    stores[0].create_run(run, 100)
    slow = execution(run, 0, 0, [cid_of("e")], [cid_of("v")], output=cid_of("o"))
    other_run = Run(cid_of("wf"), (1).to_bytes(16, "big"))
    with psycopg.connect(pg_database) as conn:
        with conn.transaction():
            # A writer that took the sequencer's lock, between its insert and its commit (a slow
            # flush, a long group commit). Formerly every writer queued behind it, on the seq
            # counter's row lock, before it could commit.
            inserted, numbering = stores[0]._insert_executions(conn, [slow])
            assert inserted == 1 and numbering[0] == 1
            other = threading.Thread(target=_chain, args=(stores[1], 1, 1))
            other.start()
            # The other node's step commits meanwhile (List sees it), without a seq yet.
            for _ in range(300):
                listed = stores[2].list_executions(ExecutionFilter(run=other_run.id), 10, None)[0]
                if listed:
                    break
                time.sleep(0.1)
            assert [e.seq for e in listed] == [0], "a writer on another node waited to commit"
            assert other.is_alive()  # it returns once a stamp has numbered its rows
        other.join(30)
        assert not other.is_alive()
    settle(stores[1], 2)
    assert [e.seq for e in stores[1].executions_since(ExecutionFilter(), 0, 10)] == [1, 2]


def test_what_a_killed_writer_left_unnumbered_is_numbered(
    stores: list[PostgresStore], pg_database: str
) -> None:
    run = Run(cid_of("wf"), bytes(16))
    stores[0].create_run(run, 100)
    left = execution(run, 0, 0, [cid_of("e")], [cid_of("v")], output=cid_of("o"))
    with psycopg.connect(pg_database) as conn:
        with conn.transaction():  # committed without a seq; its writer "died" before the stamp
            conn.execute(INSERT_UNNUMBERED, PostgresStore._execution_params([left]))
    assert stores[2].executions_since(ExecutionFilter(), 0, 10) == []
    # A waiting subscriber's store numbers it (its listener looks once a second) ...
    waiting = stores[1]
    for _ in range(10):
        waiting.wait_for_change(0, 1.0)
        if waiting.max_seq() >= 1:
            break
    assert [(e.hash, e.seq) for e in waiting.executions_since(ExecutionFilter(), 0, 10)] == [(left.hash, 1)]
    # ... as does a store that opens.
    with psycopg.connect(pg_database) as conn:
        with conn.transaction():
            again = execution(run, 1, 0, [left.hash], [cid_of("o")], output=cid_of("p"))
            conn.execute(INSERT_UNNUMBERED, PostgresStore._execution_params([again]))
    late = PostgresStore(pg_database)
    try:
        assert [e.seq for e in late.executions_since(ExecutionFilter(), 1, 10)] == [2]
    finally:
        late.close()
