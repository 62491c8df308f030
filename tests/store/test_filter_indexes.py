"""Every filter List offers is served by an index on both stores (no scan of the executions
table), and a database from before the input edges finds its old executions by input after
the upgrade."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from catenary.cid import cid_of
from catenary.model import Status
from catenary.model.filter import ExecutionFilter
from catenary.store import SQLiteStore
from catenary.store.sql import SQLStore
from tests.store.test_store import commit, execution, make_run

V = cid_of("a value")
FILTERS = {
    "none": ExecutionFilter(),
    "status": ExecutionFilter(statuses=(Status.FAILED,)),
    "workflow": ExecutionFilter(workflow=V),
    "run": ExecutionFilter(run=V),
    "operation": ExecutionFilter(operation=V),
    "segment": ExecutionFilter(segment=3),
    "parent": ExecutionFilter(parent=V),
    "key": ExecutionFilter(key=V),
    "output": ExecutionFilter(output=V),
    "input": ExecutionFilter(input=V),
    "created_after": ExecutionFilter(created_after=5),
    "created_before": ExecutionFilter(created_before=5),
    "workflow + status": ExecutionFilter(workflow=V, statuses=(Status.FAILED,)),
}


@pytest.fixture
def store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[SQLStore]:
    if backend == "postgresql":
        from catenary.store.postgres import PostgresStore

        s: SQLStore = PostgresStore(request.getfixturevalue("pg_database"))
    else:
        s = SQLiteStore(tmp_path / "db.sqlite")
    yield s
    s.close()


def plan(store: SQLStore, flt: ExecutionFilter) -> str:
    query, params = store.list_query(flt, 100, None)
    if isinstance(store, SQLiteStore):
        return "\n".join(r[-1] for r in store._read(f"EXPLAIN QUERY PLAN {query}", params))
    from catenary.store.postgres import PostgresStore

    assert isinstance(store, PostgresStore)
    with store._pool.connection() as conn, conn.transaction():
        # A tiny table is cheapest to scan; with scans priced out, the plan shows whether an
        # index can serve the filter at all (a scan is still chosen when none can).
        conn.execute("SET LOCAL enable_seqscan = off")
        return "\n".join(r[0] for r in conn.execute(f"EXPLAIN {query}", params).fetchall())


@pytest.mark.parametrize("name", FILTERS)
def test_every_filter_is_served_by_an_index(store: SQLStore, name: str) -> None:
    text = plan(store, FILTERS[name])
    if isinstance(store, SQLiteStore):
        scans = [line for line in text.splitlines() if line.startswith("SCAN executions")]
        # "SCAN executions" alone is a walk of the whole table; ordered by id with no other
        # condition (the first page, the created ranges) it is the backward walk of the rowid
        # that stops after a page, which SQLite also prints as SCAN.
        assert not scans or name in ("none", "created_after", "created_before"), text
    else:
        assert "Seq Scan on executions" not in text, text


def test_an_old_database_finds_its_executions_by_input_after_the_upgrade(
    store: SQLStore, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    run = make_run(store)
    a = execution(run, 0, 0, [cid_of("ev")], [V, V], output=cid_of(2))
    b = execution(run, 0, 1, [a.hash], [cid_of(2)], output=cid_of(3))
    commit(store, run, 0, [a, b])
    assert [e.hash for e in store.list_executions(ExecutionFilter(input=V), 10, None)[0]] == [a.hash]
    store.close()
    # The database as it was before the edges (a store of the previous schema wrote it).
    if backend == "postgresql":
        import psycopg

        from catenary.store.postgres import PostgresStore
        from catenary.store.postgres.schema import INPUT_EDGES_MIGRATION

        dsn = request.getfixturevalue("pg_database")
        with psycopg.connect(dsn) as conn:
            conn.execute("DROP TABLE execution_inputs")
            conn.execute("DROP TABLE created_spans")
            conn.execute("DELETE FROM schema_version WHERE version >= %s", (INPUT_EDGES_MIGRATION,))
        again: SQLStore = PostgresStore(dsn)
    else:
        from catenary.store.sqlite import INPUT_EDGES_MIGRATION

        con = sqlite3.connect(tmp_path / "db.sqlite")
        con.execute("DROP TABLE execution_inputs")
        con.execute("DROP INDEX executions_segment")
        con.execute("DROP TABLE created_spans")
        con.execute("DROP INDEX executions_workflow_status")
        con.execute(f"PRAGMA user_version = {INPUT_EDGES_MIGRATION - 1}")
        con.commit()
        con.close()
        again = SQLiteStore(tmp_path / "db.sqlite")
    try:
        for value, found in ((V, [a.hash]), (cid_of(2), [b.hash]), (cid_of(3), [])):
            listed = again.list_executions(ExecutionFilter(input=value), 10, None)[0]
            assert [e.hash for e in listed] == found
        # the spans were filled from the rows already there
        assert [e.hash for e in again.list_executions(ExecutionFilter(created_before=2), 10, None)[0]] == [
            b.hash,
            a.hash,
        ]
        assert again.list_executions(ExecutionFilter(created_before=1), 10, None)[0] == []
    finally:
        again.close()


def test_created_ranges_are_exact_when_times_are_out_of_id_order(store: SQLStore) -> None:
    """created_before bounds the ids it walks by the spans' least created_at: rows whose time
    is far from their id's neighbours' (a clock behind, an execution copied from a peer) are
    still listed, in id order, and nothing else is."""
    run = make_run(store)
    total = 2_600  # three spans of 1,024 ids
    times = [1_000 + 10 * i for i in range(total)]
    times[100] = 10**9  # newer than every other row, in the first span
    times[1_500] = 5  # older than every other row, in the middle span
    times[1_800:1_811] = reversed(times[1_800:1_811])
    times[-1] = 50  # the newest id, and nearly the oldest time
    rows = [
        execution(run, i // 200, i, [cid_of("ev")], [cid_of(i)], output=cid_of(["out", i]), created_at=t)
        for i, t in enumerate(times)
    ]
    for chunk in range(0, total, 200):  # later commits lower the bound of a span already there
        assert commit(store, run, chunk // 200, rows[chunk : chunk + 200])
    for moment in (5, 6, 50, 51, 1_500, 13_000, 19_000, 19_070, 26_990, 10**9, 10**9 + 1):
        before = {i for i, t in enumerate(times) if t < moment}
        after = {i for i, t in enumerate(times) if t > moment}
        for flt, keep in (
            (ExecutionFilter(created_before=moment), before),
            (ExecutionFilter(created_after=moment), after),
        ):
            listed, token = [], None
            while True:
                page, token = store.list_executions(flt, 300, token)
                listed += [e.hash for e in page]
                if token is None:
                    break
            expected = [rows[i].hash for i in reversed(range(total)) if i in keep]
            assert listed == expected, (flt, moment)
