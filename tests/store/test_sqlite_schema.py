"""What only the SQLite store has: a WAL file, the schema version in user_version, its indexes.

The behaviour every store shares is tested on both backends in test_store.py.
"""

from __future__ import annotations

import sqlite3
import threading
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


def test_reads_do_not_wait_for_a_write_in_progress(store: SQLiteStore) -> None:
    # Reads outside a write use pooled reader connections (WAL: readers never wait for the
    # writer); a read inside the write still sees the transaction's own, uncommitted rows.
    before = store.max_seq()
    seen: list[int] = []
    with store._write() as db:
        db.execute("UPDATE meta SET value = value + 1 WHERE key = 'seq'")
        reader = threading.Thread(target=lambda: seen.append(store.max_seq()))
        reader.start()
        reader.join(5)
        assert not reader.is_alive(), "a read waited for the write transaction"
        assert seen == [before]  # the committed state, not the transaction's
        assert store.max_seq() == before + 1  # this thread, inside the write: its own row
    assert store.max_seq() == before + 1


def test_reads_after_close_fail(tmp_path: Path) -> None:
    s = SQLiteStore(tmp_path / "db.sqlite")
    s.max_seq()  # a pooled reader exists now
    s.close()
    with pytest.raises(sqlite3.ProgrammingError):
        s.max_seq()
