"""What only the PostgreSQL store has: schema_version and migrations under an advisory lock,
its indexes, connection errors, and URL handling.

The behaviour every store shares is tested on both backends in test_store.py.
"""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from catenary.cid import cid_of
from catenary.errors import BadInputError, StoreError
from catenary.store import SQLiteStore, open_store
from catenary.store.postgres import MIGRATIONS, PostgresStore, describe
from tests.pg import free_port


def test_schema_version_records_each_migration(pg_database: str) -> None:
    store = PostgresStore(pg_database)
    try:
        assert store.schema_version() == len(MIGRATIONS)
    finally:
        store.close()
    with psycopg.connect(pg_database) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY version")]
    assert versions == list(range(1, len(MIGRATIONS) + 1))


def test_nodes_starting_together_migrate_once(pg_database: str) -> None:
    barrier = threading.Barrier(4)
    opened: list[PostgresStore] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            opened.append(PostgresStore(pg_database))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for store in opened:
        store.close()
    assert errors == []
    with psycopg.connect(pg_database) as conn:
        assert conn.execute("SELECT count(*) FROM schema_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0] == 0


def test_newer_schema_is_refused(pg_database: str) -> None:
    PostgresStore(pg_database).close()
    with psycopg.connect(pg_database) as conn:
        conn.execute("INSERT INTO schema_version VALUES (%s, 0)", (len(MIGRATIONS) + 1,))
    with pytest.raises(StoreError, match="newer than this catenary understands"):
        PostgresStore(pg_database)


def test_a_failed_migration_leaves_the_old_schema(pg_database: str, monkeypatch) -> None:
    from catenary.store.postgres import schema

    monkeypatch.setattr(schema, "MIGRATIONS", [*MIGRATIONS, "CREATE TABLE extra (x int); SELECT 1/0"])
    with pytest.raises(StoreError, match="division by zero"):
        PostgresStore(pg_database)
    with psycopg.connect(pg_database) as conn:
        assert conn.execute("SELECT to_regclass('schema_version')").fetchone()[0] is None
        assert conn.execute("SELECT to_regclass('executions')").fetchone()[0] is None


def test_indexes_exist_for_every_filter(pg_database: str) -> None:
    PostgresStore(pg_database).close()
    with psycopg.connect(pg_database) as conn:
        first_columns = {
            r[0]
            for r in conn.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
                "WHERE i.indrelid = 'executions'::regclass"
            )
        }
        parents = {
            r[0]
            for r in conn.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
                "WHERE i.indrelid = 'execution_parents'::regclass"
            )
        }
    assert {
        "id",
        "hash",
        "key",
        "workflow",
        "run",
        "operation",
        "status",
        "created_at",
        "seq",
    } <= first_columns
    assert {"parent", "child"} <= parents


def test_unreachable_server_is_a_store_error_without_the_password() -> None:
    url = f"postgresql://someone:s3cret-pw@127.0.0.1:{free_port()}/nowhere"
    with pytest.raises(StoreError) as caught:
        PostgresStore(url, connect_timeout=2)
    message = str(caught.value)
    assert message.startswith("cannot connect to the execution DB postgresql://someone@127.0.0.1:")
    assert "s3cret-pw" not in message


def test_unknown_database_is_a_store_error(pg_server) -> None:
    with pytest.raises(StoreError, match='database "no_such_db" does not exist'):
        PostgresStore(pg_server.dsn("no_such_db"))


def test_describe_hides_the_password() -> None:
    assert describe("postgresql://u:pw@db.example:5433/cat") == "postgresql://u@db.example:5433/cat"
    assert describe("postgresql:///cat") == "postgresql://localhost/cat"


@pytest.mark.parametrize("url", ["postgresql://host:notaport/db", "postgresql://h/db?nonsense=1"])
def test_invalid_url_is_a_store_error(url: str) -> None:
    with pytest.raises(StoreError, match="execution DB"):
        PostgresStore(url)


def test_open_store_picks_the_backend(tmp_path: Path, pg_database: str) -> None:
    local = open_store(None, tmp_path)
    assert isinstance(local, SQLiteStore) and local.path == tmp_path / "catenary.db"
    local.close()
    shared = open_store(pg_database, tmp_path)
    assert isinstance(shared, PostgresStore)
    shared.close()
    with pytest.raises(BadInputError, match="expected a postgresql://"):
        open_store("mysql://u@h/db", tmp_path)


def test_connections_commit_synchronously_even_when_the_server_default_is_off(pg_database) -> None:
    """The test server runs with synchronous_commit off; the store's connections turn it on."""
    store = PostgresStore(pg_database)
    try:
        with store._pool.connection() as conn:
            assert conn.execute("SHOW synchronous_commit").fetchone()[0] == "on"
    finally:
        store.close()
    with psycopg.connect(pg_database) as conn:
        assert conn.execute("SHOW synchronous_commit").fetchone()[0] == "off"


def test_integrity_problems_reports_a_seq_counter_behind_the_records(pg_database: str) -> None:
    from catenary.model import Run

    store = PostgresStore(pg_database)
    try:
        store.create_run(Run(cid_of("wf"), bytes(16)), 1)
        assert store.integrity_problems() == []
        with psycopg.connect(pg_database) as conn:
            conn.execute(
                "INSERT INTO executions (hash, key, workflow, run, segment, step, operation, "
                "config, parents, inputs, status, created_at, seq) VALUES "
                "('\\x01', '\\x02', '\\x03', '\\x04', 0, 0, '\\x05', '\\xa0', '\\x80', '\\x80', "
                "'created', 1, 7)"
            )
        assert store.integrity_problems() == [
            "the seq counter (0) is below the highest stored seq (7): new changes would reuse "
            "seqs that subscribers have seen"
        ]
    finally:
        store.close()


def test_concurrent_indexes_are_built_and_an_invalid_one_rebuilt(pg_database: str) -> None:
    from catenary.store.postgres.schema import CONCURRENT_INDEXES

    PostgresStore(pg_database).close()

    def valid() -> dict[str, bool]:
        with psycopg.connect(pg_database) as conn:
            return dict(
                conn.execute(
                    "SELECT c.relname, i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
                    "WHERE c.relname = ANY(%s)",
                    (list(CONCURRENT_INDEXES),),
                ).fetchall()
            )

    assert valid() == dict.fromkeys(CONCURRENT_INDEXES, True)
    # What a CREATE INDEX CONCURRENTLY cut short leaves: the index, marked invalid.
    name = next(iter(CONCURRENT_INDEXES))
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass", (name,))
    assert valid()[name] is False
    PostgresStore(pg_database).close()
    assert valid() == dict.fromkeys(CONCURRENT_INDEXES, True)
