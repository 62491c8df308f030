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
            conn.execute("DELETE FROM schema_version WHERE version >= %s", (INPUT_EDGES_MIGRATION,))
        again: SQLStore = PostgresStore(dsn)
    else:
        from catenary.store.sqlite import INPUT_EDGES_MIGRATION

        con = sqlite3.connect(tmp_path / "db.sqlite")
        con.execute("DROP TABLE execution_inputs")
        con.execute("DROP INDEX executions_segment")
        con.execute(f"PRAGMA user_version = {INPUT_EDGES_MIGRATION - 1}")
        con.commit()
        con.close()
        again = SQLiteStore(tmp_path / "db.sqlite")
    try:
        for value, found in ((V, [a.hash]), (cid_of(2), [b.hash]), (cid_of(3), [])):
            listed = again.list_executions(ExecutionFilter(input=value), 10, None)[0]
            assert [e.hash for e in listed] == found
    finally:
        again.close()
