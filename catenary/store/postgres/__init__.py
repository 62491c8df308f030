"""The shared store: the execution DB and the values in PostgreSQL, for several nodes at once.

Selected with ``--db postgresql://USER@HOST:PORT/DBNAME`` (or ``$CATENARY_DB``). It is the
same interface as :mod:`catenary.store.sqlite`, with the same tables and the same reads
(:mod:`catenary.store.sql`), and the same test suite runs on both. What differs, and why
(docs/design.md, "PostgreSQL"):

- Connections come from a psycopg 3 pool (:mod:`.pool`); reads run in autocommit, each
  write in one transaction (:mod:`.store`).
- ``seq`` is a single-row counter updated inside the writing transaction. Its row lock is taken
  last in every transaction that records or changes executions, and held until commit, so
  writers commit in seq order. A reader that sees seq N therefore sees every change numbered
  below N, and an ``Updates`` stream that resumes after N can never miss a smaller seq committed
  later (a plain sequence would allow exactly that).
- Every such commit sends ``NOTIFY catenary_changes, '<seq>'``; :meth:`wait_for_change` wakes
  on it through one ``LISTEN`` connection per store (:mod:`.listen`), on whichever node
  committed.
- Steps committed at the same time by threads of one process share one transaction (group
  commit, :mod:`.group_commit`), so that they share the counter's lock and the WAL flush.
- Migrations (:mod:`.schema`) are applied under a transaction-level advisory lock, in the
  transaction that records them in ``schema_version``, so nodes starting together migrate once.
"""

from __future__ import annotations

from catenary.store.postgres.group_commit import MAX_BATCH_ROWS
from catenary.store.postgres.pool import describe
from catenary.store.postgres.schema import APPLICATION, CHANNEL, LISTEN_APPLICATION, MIGRATIONS
from catenary.store.postgres.store import PostgresStore

__all__ = [
    "APPLICATION",
    "CHANNEL",
    "LISTEN_APPLICATION",
    "MAX_BATCH_ROWS",
    "MIGRATIONS",
    "PostgresStore",
    "describe",
]
