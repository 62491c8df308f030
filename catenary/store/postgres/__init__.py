"""The shared store: the execution DB and the values in PostgreSQL, for several nodes at once.

Selected with ``--db postgresql://USER@HOST:PORT/DBNAME`` (or ``$CATENARY_DB``). It is the
same interface as :mod:`catenary.store.sqlite`, with the same tables and the same reads
(:mod:`catenary.store.sql`), and the same test suite runs on both. What differs, and why
(docs/design.md, "PostgreSQL"):

- Connections come from a psycopg 3 pool (:mod:`.pool`); reads run in autocommit, each
  write in one transaction (:mod:`.store`).
- ``seq`` numbers changes in commit order, and no lock is held through every writer's
  commit: a writer commits its new executions without a seq, and the sequencer
  (:mod:`.sequencer`: a stamp transaction under one advisory lock, run by a thread of each
  store that only ever *tries* the lock) numbers every committed row that has none, from a
  single-row counter. Stamps follow one another, so a reader that sees seq N already sees
  every seq below N, and an ``Updates`` stream that resumes after N can never miss a smaller
  seq committed later (a plain sequence would allow exactly that). Claims, transitions and
  lease expiries (one row each) still number their row from the counter in their own
  transaction, taking its row lock last.
- Every stamp, claim or transition sends ``NOTIFY catenary_changes, '<seq>'``;
  :meth:`wait_for_change` wakes on it through one ``LISTEN`` connection per store
  (:mod:`.listen`), on whichever node committed.
- Steps committed at the same time by threads of one process share one transaction (group
  commit, :mod:`.group_commit`), so that they share one WAL flush.
- Migrations (:mod:`.schema`) are applied under a transaction-level advisory lock, in the
  transaction that records them in ``schema_version``, so nodes starting together migrate once;
  indexes of a large table are built after them with ``CREATE INDEX CONCURRENTLY``, which
  does not block writers (``schema.CONCURRENT_INDEXES``).
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
