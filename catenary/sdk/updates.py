"""Fan-out of execution changes to many subscribers with one store read per change.

One hub thread per node reads every new change once (in seq order) and hands the
batch to each subscriber's bounded queue. A subscriber filters in memory. When a
subscriber is too slow its oldest batches are dropped; it notices the seq gap and
reads the missing range from the store itself. So writers are never stalled, server
memory stays bounded, and no subscriber misses or repeats a change.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass

from catenary.model import Execution
from catenary.model.filter import ExecutionFilter
from catenary.store import Store

READ_BATCH = 1000
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Batch:
    """Every change with ``low < seq <= high``, in seq order."""

    low: int
    high: int
    executions: list[Execution]


class _Subscriber:
    def __init__(self, capacity: int) -> None:
        self.batches: collections.deque[Batch] = collections.deque(maxlen=capacity)
        self.ready = threading.Condition()

    def put(self, batch: Batch) -> None:
        with self.ready:
            self.batches.append(batch)  # a full deque drops its oldest: the gap is repaired
            self.ready.notify()

    def get(self, timeout: float) -> Batch | None:
        with self.ready:
            if not self.batches:
                self.ready.wait(timeout)
            return self.batches.popleft() if self.batches else None


class UpdateHub:
    """Reads new changes once and fans them out; started on the first subscription."""

    def __init__(self, store: Store, poll_interval: float = 0.25, capacity: int = 256) -> None:
        self._store = store
        self._poll_interval = poll_interval
        self._capacity = capacity
        self._subscribers: set[_Subscriber] = set()
        self._lock = threading.Lock()
        self._cursor = 0
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def updates(
        self, flt: ExecutionFilter, since_seq: int, stop: threading.Event | None
    ) -> Iterator[Execution]:
        """Stored matches with seq > since_seq, then live ones, until ``stop`` is set."""
        subscriber = _Subscriber(self._capacity)
        with self._lock:
            self._start()
            self._subscribers.add(subscriber)
            start = self._cursor  # batches this subscriber gets all begin at or after here
        seq = since_seq
        try:
            seq = yield from self._replay(flt, seq, start, stop)
            while not self._stopped(stop):
                batch = subscriber.get(self._poll_interval)
                if batch is None or batch.high <= seq:
                    continue
                if batch.low > seq:  # dropped batches, or a subscription that began late
                    seq = yield from self._replay(flt, seq, batch.low, stop)
                for execution in batch.executions:
                    if self._stopped(stop):
                        return
                    if execution.seq > seq and flt.matches(execution):
                        yield execution
                seq = batch.high
        finally:
            with self._lock:
                self._subscribers.discard(subscriber)

    def _replay(
        self, flt: ExecutionFilter, seq: int, until: int, stop: threading.Event | None
    ) -> Generator[Execution, None, int]:
        """Matches with ``seq < execution.seq <= until`` from the store; returns ``until``."""
        while seq < until and not self._stopped(stop):
            rows = self._store.executions_since(flt, seq, READ_BATCH)
            for execution in rows:
                if execution.seq > until or self._stopped(stop):
                    return until
                seq = execution.seq
                yield execution
            if len(rows) < READ_BATCH:
                break
        return until

    def _stopped(self, stop: threading.Event | None) -> bool:
        return self._closed.is_set() or (stop is not None and stop.is_set())

    def _start(self) -> None:
        if self._thread is None:
            self._cursor = self._store.max_seq()
            self._thread = threading.Thread(target=self._run, name="catenary-updates", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        backoff = self._poll_interval
        while not self._closed.is_set():
            try:
                self._read_next()
                backoff = self._poll_interval
            except Exception as exc:  # noqa: BLE001 - this thread must outlive any store error
                # The store is away (e.g. PostgreSQL restarting): keep the subscribers and
                # retry with backoff; the cursor has not moved, so nothing is skipped.
                _log.warning("updates: cannot read new changes (%s); retrying in %.1f s", exc, backoff)
                self._closed.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    def _read_next(self) -> None:
        everything = ExecutionFilter()
        self._store.wait_for_change(self._cursor, self._poll_interval)
        top = self._store.max_seq()
        if top > self._cursor:
            rows = self._store.executions_since(everything, self._cursor, READ_BATCH)
            high = rows[-1].seq if len(rows) == READ_BATCH else max(top, rows[-1].seq if rows else top)
            batch = Batch(self._cursor, high, rows)
            with self._lock:
                self._cursor = high
                subscribers = list(self._subscribers)
            for subscriber in subscribers:
                subscriber.put(batch)
