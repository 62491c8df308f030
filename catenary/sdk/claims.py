"""Task queues: executors ask the node for work (docs/design.md, "Task queues").

``claim`` answers from the database: each call claims up to ``max`` executions waiting on a
queue, and of any number of claimants (threads, executors, nodes on one database) exactly one
wins each execution (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: one ``UPDATE ...
RETURNING`` in its single write transaction). With nothing to claim it long-polls: it waits
for the store's commit notifications (this process's commits on SQLite, ``LISTEN`` on
PostgreSQL) up to ``wait`` seconds, never polling the database in a loop.

``lost`` builds the answer a zombie gets: an executor whose lease lapsed is told so, and who
holds the execution now, as a :class:`~catenary.errors.LeaseLostError`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from catenary.cid import CID
from catenary.errors import BadInputError, LeaseLostError
from catenary.model import Execution, Status
from catenary.model.queues import DEFAULT_QUEUE, check_queue
from catenary.store import Store

MAX_CLAIM = 100  # executions per Claim call
MAX_WAIT = 60.0  # seconds a Claim call may wait for work
# How long one wait lasts at most before the store is asked again: it bounds what a missed
# notification costs (a commit by another process on SQLite, a LISTEN reconnecting).
RECHECK = 1.0


def check_claim(queue: str, max_count: int, wait: float) -> str:
    """The queue name of a valid claim; BadInputError naming the wrong argument."""
    queue = check_queue(queue or DEFAULT_QUEUE)
    if isinstance(max_count, bool) or not isinstance(max_count, int) or not 1 <= max_count <= MAX_CLAIM:
        raise BadInputError(f"max: {max_count!r} is not in [1, {MAX_CLAIM}]")
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait <= MAX_WAIT:
        raise BadInputError(f"wait: {wait!r} seconds is not in [0, {MAX_WAIT:g}]")
    return queue


def claim_waiting(
    store: Store,
    executor: str,
    queue: str,
    operations: Sequence[CID],
    max_count: int,
    lease_ns: int,
    wait: float,
    stop: threading.Event | Callable[[], bool] | None = None,
) -> list[Execution]:
    """Claim up to ``max_count`` executions of ``queue``; wait up to ``wait`` s for the first."""
    deadline = time.monotonic() + wait
    stopped = stop.is_set if isinstance(stop, threading.Event) else stop
    while True:
        seen = store.max_seq()  # before the claim: a commit after it ends the wait below
        claimed = store.claim_next(executor, queue, operations, max_count, lease_ns)
        left = deadline - time.monotonic()
        if claimed or left <= 0 or (stopped is not None and stopped()):
            return claimed
        store.wait_for_change(seen, min(left, RECHECK))


def lost(store: Store, current: Execution, executor: str, action: str) -> LeaseLostError | None:
    """The error for ``executor`` that tries to ``action`` ``current`` after losing its lease
    (its last claim of it ended in a ``lease_expired``); None otherwise (a plain refusal)."""
    mine = [h for h in store.execution_history(current.hash) if h.executor == executor]
    if not mine or mine[-1].change != "lease_expired":
        return None  # it never held a lease, or still holds its last one: not a zombie
    when = f" at {_iso(mine[-1].at)} (database clock)"
    if current.status is Status.IN_PROGRESS:
        now = f"it is now claimed by {current.executor}"
    elif current.status is Status.CREATED:
        now = "it waits for an executor again"
    else:
        by = f" by {current.executor}" if current.executor else ""
        now = f"it is now {current.status.value}{by}"
    return LeaseLostError(
        f"cannot {action} execution {current.hash}: the lease of {executor} lapsed{when} and "
        f"the node returned the execution to created; {now}. Drop this work and claim more"
    )


def _iso(ns: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns / 1e9)) + f".{ns % 10**9 // 10**6:03d}Z"
