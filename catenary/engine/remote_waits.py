"""Waiting for remote executions to finish, shared by every run an engine drives.

A run that waits for a remote step used to read the store on every commit of the node (its
seq, its execution, the lapsed leases): with N runs waiting, each commit woke N threads for
three reads each, and that, more than the executors, bounded the remote steps a node carried.

Here the waiting runs share one reader: a thread that lives while anyone waits follows the
store's change feed (``executions_since``, in seq order, by the seq index) from where it last
read, wakes exactly the waiters whose executions finished, and sweeps lapsed leases at most
every ``poll`` seconds. A commit costs one read and wakes one thread, however many runs wait.

No finish is missed. The feed position is first read before any waiter reads its execution
itself, and a waiter registers before that own read: a finish committed before the read is
seen by it; one committed after it gets a seq above every position the reader has reached
(seqs follow commit order), so the reader's next read returns it while the waiter is
registered. Every waiter still reads its execution itself every ``poll`` seconds, so a finish
hidden from the feed (an execution quarantined meanwhile) costs at most that.
"""

from __future__ import annotations

import threading
import time

from catenary.cid import CID
from catenary.model import Execution, Status
from catenary.model.filter import ExecutionFilter
from catenary.store import Store

FINISHED = (Status.COMPLETED, Status.FAILED)
EVERYTHING = ExecutionFilter()  # the feed by the seq index; statuses are picked out here
PAGE = 500  # feed rows read at once


class _Waiter:
    __slots__ = ("count", "event", "done")

    def __init__(self) -> None:
        self.count = 0
        self.event = threading.Event()
        self.done: Execution | None = None


class RemoteWaits:
    """Waits for remote executions; :meth:`wait` blocks until one is completed or failed."""

    def __init__(self, store: Store, poll: float) -> None:
        self.store, self.poll = store, poll
        self._lock = threading.Lock()
        self._waiters: dict[CID, _Waiter] = {}
        self._reading = False  # whether the reader thread runs
        self._seq: int | None = None  # the feed position the reader has read up to

    def wait(self, execution: CID, timeout: float) -> Execution | None:
        """The execution once completed or failed, or None after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._seq is None:  # before any waiter's own read (module docstring)
                self._seq = self.store.max_seq()
            waiter = self._waiters.setdefault(execution, _Waiter())
            waiter.count += 1
            if not self._reading:
                self._reading = True
                threading.Thread(target=self._read, daemon=True, name="catenary-remote-waits").start()
        try:
            while True:
                current = waiter.done or self.store.get_execution(execution)
                if current is not None and current.status in FINISHED:
                    return current
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                if waiter.event.wait(min(self.poll, left)) and waiter.done is not None:
                    return waiter.done
        finally:
            with self._lock:
                waiter.count -= 1
                if not waiter.count:
                    del self._waiters[execution]

    def _read(self) -> None:
        """The reader: follow the feed while anyone waits; wake those whose executions finished."""
        swept = 0.0
        while True:
            with self._lock:
                if not self._waiters:
                    self._reading = False
                    return
            try:
                if time.monotonic() - swept >= self.poll:
                    swept = time.monotonic()
                    self.store.expire_leases()  # by the database's clock
                self._read_feed()
            except Exception:  # the store is away or closed: the waiters' own reads raise it
                time.sleep(self.poll)

    def _read_feed(self) -> None:
        """Read the feed to its end, wake the finished, wait for the next commit (a poll at most)."""
        store = self.store
        top = store.max_seq()  # before the read: a commit after it ends the wait below
        assert self._seq is not None  # set by the first wait()
        while True:
            rows = store.executions_since(EVERYTHING, self._seq, PAGE)
            with self._lock:
                for e in rows:
                    waiter = self._waiters.get(e.hash)
                    if waiter is not None and e.status in FINISHED:
                        waiter.done = e
                        waiter.event.set()
            if rows:
                self._seq = max(self._seq, rows[-1].seq)
            if len(rows) < PAGE:
                break
        self._seq = max(self._seq, top)
        store.wait_for_change(self._seq, self.poll)
