"""Fan-out of changes to many subscribers with one store read per change.

One hub thread per feed reads every new change once (in seq order) and hands the
batch to each subscriber's bounded queue. A subscriber filters in memory. When a
subscriber is too slow its oldest batches are dropped; it notices the seq gap and
reads the missing range from the store itself. So writers are never stalled, server
memory stays bounded, and no subscriber misses or repeats a change.

The same hub serves execution changes (``seq``) and emitted events (their ``position``
in the event log): a :class:`Feed` says how to read one kind by seq.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from catenary.model import Execution
from catenary.model.filter import ExecutionFilter
from catenary.store import Store

READ_BATCH = 1000
_log = logging.getLogger(__name__)

T = TypeVar("T")  # what changes: an Execution, a SignedEvent
F = TypeVar("F")  # what selects some of them
T_co = TypeVar("T_co", covariant=True)


class Feed(Protocol[T, F]):
    """How a hub reads one kind of change, each numbered by a seq that commits in order."""

    everything: F  # the filter that matches every change

    def top(self) -> int:
        """The seq of the latest change."""

    def since(self, flt: F, seq: int, limit: int) -> list[T]:
        """Matches of ``flt`` with seq above ``seq``, in seq order."""

    def seq(self, item: T) -> int: ...

    def matches(self, flt: F, item: T) -> bool: ...

    def wait(self, seq: int, timeout: float) -> None:
        """Block until a change above ``seq`` may exist, or ``timeout`` seconds."""


@dataclass(frozen=True)
class Batch(Generic[T_co]):
    """Every change with ``low < seq <= high``, in seq order."""

    low: int
    high: int
    items: list[T_co]


class _Subscriber(Generic[T]):
    def __init__(self, capacity: int) -> None:
        self.batches: collections.deque[Batch[T]] = collections.deque(maxlen=capacity)
        self.ready = threading.Condition()

    def put(self, batch: Batch[T]) -> None:
        with self.ready:
            self.batches.append(batch)  # a full deque drops its oldest: the gap is repaired
            self.ready.notify()

    def get(self, timeout: float) -> Batch[T] | None:
        with self.ready:
            if not self.batches:
                self.ready.wait(timeout)
            return self.batches.popleft() if self.batches else None


class Hub(Generic[T, F]):
    """Reads new changes of one feed once and fans them out; started on the first subscription."""

    def __init__(self, feed: Feed[T, F], poll_interval: float = 0.25, capacity: int = 256) -> None:
        self._feed = feed
        self._poll_interval = poll_interval
        self._capacity = capacity
        self._subscribers: set[_Subscriber[T]] = set()
        self._lock = threading.Lock()
        self._cursor = 0
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def updates(self, flt: F, since_seq: int, stop: threading.Event | None) -> Iterator[T]:
        """Stored matches with seq > since_seq, then live ones, until ``stop`` is set."""
        for chunk in self.chunks(flt, since_seq, stop):
            for item in chunk:
                if self._stopped(stop):
                    return
                yield item

    def chunks(self, flt: F, since_seq: int, stop: threading.Event | None) -> Iterator[list[T]]:
        """:meth:`updates` as the lists it is read in (a store page, or what one commit
        brought): each non-empty, in seq order, never waiting for more than is ready."""
        subscriber: _Subscriber[T] = _Subscriber(self._capacity)
        with self._lock:
            self._start()
            self._subscribers.add(subscriber)
            start = self._cursor  # batches this subscriber gets all begin at or after here
        seq = since_seq
        feed = self._feed
        try:
            seq = yield from self._replay(flt, seq, start, stop)
            while not self._stopped(stop):
                batch = subscriber.get(self._poll_interval)
                if batch is None or batch.high <= seq:
                    continue
                if batch.low > seq:  # dropped batches, or a subscription that began late
                    seq = yield from self._replay(flt, seq, batch.low, stop)
                chunk = [i for i in batch.items if feed.seq(i) > seq and feed.matches(flt, i)]
                if chunk and not self._stopped(stop):
                    yield chunk
                seq = batch.high
        finally:
            with self._lock:
                self._subscribers.discard(subscriber)

    def _replay(
        self, flt: F, seq: int, until: int, stop: threading.Event | None
    ) -> Generator[list[T], None, int]:
        """Matches with ``seq < item seq <= until`` from the store, a page at a time;
        returns ``until``."""
        while seq < until and not self._stopped(stop):
            rows = self._feed.since(flt, seq, READ_BATCH)
            page = [item for item in rows if self._feed.seq(item) <= until]
            if page:
                seq = self._feed.seq(page[-1])
                yield page
            if len(page) < READ_BATCH:
                break
        return until

    def _stopped(self, stop: threading.Event | None) -> bool:
        return self._closed.is_set() or (stop is not None and stop.is_set())

    def _start(self) -> None:
        if self._thread is None:
            self._cursor = self._feed.top()
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
        feed = self._feed
        feed.wait(self._cursor, self._poll_interval)
        top = feed.top()
        if top > self._cursor:
            rows = feed.since(feed.everything, self._cursor, READ_BATCH)
            high = (
                feed.seq(rows[-1])
                if len(rows) == READ_BATCH
                else max(top, feed.seq(rows[-1]) if rows else top)
            )
            batch = Batch(self._cursor, high, rows)
            with self._lock:
                self._cursor = high
                subscribers = list(self._subscribers)
            for subscriber in subscribers:
                subscriber.put(batch)


class _Executions:
    """Execution changes by ``seq`` (:class:`Feed`)."""

    everything = ExecutionFilter()

    def __init__(self, store: Store) -> None:
        self._store = store

    def top(self) -> int:
        return self._store.max_seq()

    def since(self, flt: ExecutionFilter, seq: int, limit: int) -> list[Execution]:
        return self._store.executions_since(flt, seq, limit)

    def seq(self, item: Execution) -> int:
        return item.seq

    def matches(self, flt: ExecutionFilter, item: Execution) -> bool:
        return flt.matches(item)

    def wait(self, seq: int, timeout: float) -> None:
        self._store.wait_for_change(seq, timeout)


class UpdateHub(Hub[Execution, ExecutionFilter]):
    """The hub of execution changes."""

    def __init__(self, store: Store, poll_interval: float = 0.25, capacity: int = 256) -> None:
        super().__init__(_Executions(store), poll_interval, capacity)
