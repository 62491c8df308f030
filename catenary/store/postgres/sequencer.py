"""The sequencer: numbers (stamps) new executions with their ``seq``, in commit order, without
a lock that every writer waits for.

Why: ``seq`` must follow commit order (a reader resuming ``Updates`` after seq N must never
later find a new seq below N). Numbering inside each writer's transaction did that by taking
the counter's row lock in every writer and holding it through the commit's flush, so every
writer of every node queued on it, one flush at a time.

Now a stamp numbers every execution that has no seq yet, from the counter, under one
advisory lock (``SEQUENCER_LOCK``, transaction-level), and no one ever *waits* for that lock:

- A writer *tries* the lock (:meth:`Sequencer.stamp_in`) before inserting its executions. If
  it gets it (the usual case), the same transaction numbers what other writers left without
  a seq, then inserts its own rows numbered from the counter, and commits all in one flush,
  as before.
- If another transaction holds it, the writer inserts its rows with ``seq`` NULL (readers by
  seq do not see them yet), commits, and then, holding nothing, waits until a stamp has
  covered them (:meth:`Sequencer.wait_stamped`): the next transaction that gets the lock
  numbers them, or its own retry does. So ``commit_step`` still returns with its executions
  numbered.

Stamps follow one another (the lock), and a stamp's numbers become visible all at once, at its
commit, before the next stamp reads the counter: a reader that saw seq N never later finds a
new seq below it. A writer killed between its commit and its stamp leaves rows without a seq;
the next stamp on any node numbers them, as does each store when it opens and a listening
store's once-a-second check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import psycopg

from catenary.store.postgres.schema import SEQUENCER_LOCK, STAMP_BATCH, STAMP_EXECUTIONS

LEFT = "SELECT 1 FROM executions WHERE seq IS NULL LIMIT 1"  # the partial index answers these
LEFT_UP_TO = "SELECT 1 FROM executions WHERE seq IS NULL AND id <= %s LIMIT 1"


class Sequencer:
    """Stamps through ``write`` (a transaction per call) and ``read``; ``on_top(seq)`` is told
    each new top seq once committed (to wake this process's waiters); ``pause()`` waits a
    moment for another node's stamp (its NOTIFY)."""

    def __init__(
        self,
        write: Callable[[], AbstractContextManager[Any]],
        read: Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]],
        on_top: Callable[[int], None],
        pause: Callable[[], None],
    ) -> None:
        self._write = write
        self._read = read
        self._on_top = on_top
        self._pause = pause
        self.waited = 0.0  # seconds writers spent waiting for a stamp (for benchmarks)

    @staticmethod
    def stamp_in(conn: psycopg.Connection) -> tuple[int, int] | None:
        """In the caller's transaction, after its inserts: stamp every row without a seq that
        it sees (its own among them) if the lock is free; (top seq, rows numbered), (0, 0)
        when there was nothing to number, or None when another transaction holds the lock
        (the caller then :meth:`wait_stamped` after its commit)."""
        got = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (SEQUENCER_LOCK,)).fetchone()
        if not got or not got[0]:
            return None
        row = conn.execute(STAMP_EXECUTIONS).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def wait_stamped(self, last_id: int) -> None:
        """Return once every committed execution with an id up to ``last_id`` has a seq."""
        began = time.perf_counter()
        try:
            while self._read(LEFT_UP_TO, (last_id,)):
                if not self._try_stamp():
                    self._pause()  # another stamp is committing: look again after its NOTIFY
        finally:
            self.waited += time.perf_counter() - began

    def stamp_left_over(self) -> None:
        """Number what writers left without a seq (a read first: usually nothing)."""
        while self._read(LEFT, ()):
            if not self._try_stamp():
                return  # another stamp is running; it numbers them

    def _try_stamp(self) -> bool:
        """Stamp transactions until one finds fewer rows than a batch; False when another
        transaction holds the lock."""
        while True:
            with self._write() as conn:
                stamped = self.stamp_in(conn)
            if stamped is None:
                return False
            top, count = stamped
            if top:
                self._on_top(top)
            if count < STAMP_BATCH:  # it numbered all it saw
                return True
