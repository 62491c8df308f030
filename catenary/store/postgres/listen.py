"""The PostgreSQL store's change listener: one ``LISTEN`` connection per store, in a daemon
thread, that reports each seq a commit on any node announces with ``NOTIFY``.

A notification missed while the connection is being re-opened costs a waiter at most its
timeout: waiters poll by seq after it. On each (re)connect the listener reads the counter, so
anything committed before ``LISTEN`` took effect is reported too.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable

import psycopg
from psycopg import sql

from catenary.store.postgres.schema import CHANNEL, LISTEN_APPLICATION


class ChangeListener:
    """Calls ``on_seq`` with every seq notified on the database ``dsn``, from its own thread,
    once :meth:`start` is called and until :meth:`stop`; and ``each_second`` about once a
    second (the store's check for executions a killed writer left without a seq)."""

    def __init__(self, dsn: str, on_seq: Callable[[int], None], each_second: Callable[[], None]) -> None:
        self._dsn = dsn
        self._on_seq = on_seq
        self._each_second = each_second
        self._thread: threading.Thread | None = None
        self._started = threading.Lock()
        self._closing = threading.Event()
        # A channel of this listener alone: stop() notifies it to end the thread at once.
        self.wake_channel = f"catenary_wake_{secrets.token_hex(8)}"

    def start(self) -> None:
        """Start the thread unless it runs; wait until LISTEN is active (or failed; the caller
        polls either way)."""
        if self._thread is not None or self._closing.is_set():
            return
        with self._started:
            if self._thread is not None:
                return
            ready = threading.Event()
            self._thread = threading.Thread(
                target=self._listen, args=(ready,), name="catenary-pg-listen", daemon=True
            )
            self._thread.start()
        ready.wait(5)

    def stop(self, wake: Callable[[str], None]) -> None:
        """End the thread: ``wake(channel)`` sends the notification that ends its wait at once
        (without it, the thread notices within a second)."""
        self._closing.set()
        if self._thread is not None:
            wake(self.wake_channel)
            self._thread.join(timeout=5)

    def _tick(self) -> None:
        """``each_second``, whose failure (the store's to report elsewhere) ends nothing here."""
        try:
            self._each_second()
        except Exception:  # noqa: BLE001 - a store error here is met again by the next writer
            pass

    def _listen(self, ready: threading.Event) -> None:
        """Keep a LISTEN connection open; report each notified seq. Reconnects on failure."""
        backoff = 0.1
        while not self._closing.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True, application_name=LISTEN_APPLICATION) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.wake_channel)))
                    # Anything committed before LISTEN took effect is covered by this read.
                    row = conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
                    if row is not None:
                        self._on_seq(row[0])
                    ready.set()
                    backoff = 0.1
                    while not self._closing.is_set():
                        for note in conn.notifies(timeout=1.0):
                            if note.channel == self.wake_channel:
                                return
                            try:
                                self._on_seq(int(note.payload))
                            except ValueError:
                                continue
                        self._tick()
            except psycopg.Error:
                if self._closing.is_set():
                    break
                ready.set()
                self._closing.wait(backoff)
                backoff = min(backoff * 2, 5.0)
