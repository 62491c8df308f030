"""Execution DB and value store."""

from pathlib import Path

from catenary.errors import BadInputError
from catenary.extras import require_extra
from catenary.store.base import (
    AttestationRow,
    Dispute,
    HistoryEntry,
    ImportBatch,
    Lineage,
    MemoCandidate,
    Quarantined,
    RunLease,
    RunState,
    SegmentOutput,
    StepCommit,
    Store,
)
from catenary.store.sqlite import SQLiteStore

__all__ = [
    "AttestationRow",
    "Dispute",
    "Quarantined",
    "MemoCandidate",
    "HistoryEntry",
    "ImportBatch",
    "Lineage",
    "RunLease",
    "RunState",
    "SQLiteStore",
    "SegmentOutput",
    "StepCommit",
    "Store",
    "open_store",
]


def open_store(db: str | None, data_dir: Path) -> Store:
    """The store a node uses: the data dir's SQLite file when ``db`` is empty, else the
    PostgreSQL database that the ``postgresql://`` (or ``postgres://``) URL ``db`` names."""
    if not db:
        return SQLiteStore(data_dir / "catenary.db")
    if db.startswith(("postgresql://", "postgres://")):
        require_extra("postgres")
        from catenary.store.postgres import PostgresStore  # psycopg is only loaded when used

        return PostgresStore(db)
    raise BadInputError(
        f"--db {db!r}: expected a postgresql://USER@HOST:PORT/DBNAME URL "
        f"(leave it out for the data dir's SQLite file)"
    )
