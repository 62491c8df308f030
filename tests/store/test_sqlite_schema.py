"""What only the SQLite store has: a WAL file, the schema version in user_version, its indexes.

The behaviour every store shares is tested on both backends in test_store.py.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from catenary.errors import StoreError
from catenary.store import SQLiteStore
from catenary.store.sqlite import MIGRATIONS


@pytest.fixture
def store(tmp_path: Path):
    s = SQLiteStore(tmp_path / "db.sqlite")
    yield s
    s.close()


def test_new_file_is_wal_with_current_schema(store: SQLiteStore, tmp_path: Path) -> None:
    assert store.schema_version() == len(MIGRATIONS)
    con = sqlite3.connect(tmp_path / "db.sqlite")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    con.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    SQLiteStore(tmp_path / "db.sqlite").close()
    con = sqlite3.connect(tmp_path / "db.sqlite")
    con.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="newer"):
        SQLiteStore(tmp_path / "db.sqlite")


def test_corrupt_file_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError):
        SQLiteStore(path)


def test_indexes_exist_for_every_filter(store: SQLiteStore, tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / "db.sqlite")
    indexed = {
        row[0]
        for row in con.execute(
            "SELECT il.name FROM sqlite_master m, pragma_index_list(m.name) l, pragma_index_info(l.name) il "
            "WHERE m.name = 'executions' AND il.seqno = 0"
        )
    }
    con.close()
    assert {"hash", "key", "workflow", "run", "operation", "status", "created_at"} <= indexed
