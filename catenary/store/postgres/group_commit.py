"""Group commit: steps committed at the same time by threads of one process (several runs
stepped at once, e.g. by a served node) share one transaction, so that they share the seq
counter's lock and the WAL flush. Each caller's step keeps its own outcome.

One thread at a time (the leader) commits what the others queued meanwhile; they wait for
their outcome, and one whose step is still queued leads the next batch. If a batch's
transaction fails, each of its steps is retried alone, so that only the step at fault
reports the error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from catenary.store.base import StepCommit

# A group commit holds at most this many executions (one step more if it alone is larger).
MAX_BATCH_ROWS = 5000


class _Pending:
    """A step waiting for a group commit, and its outcome once ``finished``."""

    __slots__ = ("step", "finished", "result", "error")

    def __init__(self, step: StepCommit) -> None:
        self.step = step
        self.finished = False
        self.result = False
        self.error: BaseException | None = None


class GroupCommit:
    """Commits steps through ``write``, which records a batch of steps in one transaction and
    returns, for each, whether it was recorded (False: its run moved on meanwhile)."""

    def __init__(self, write: Callable[[list[StepCommit]], list[bool]]) -> None:
        self._write = write
        self._queue: list[_Pending] = []  # steps waiting for a group commit
        self._group = threading.Condition()  # guards the queue and _committing
        self._committing = False  # a thread is committing a batch

    def commit(self, step: StepCommit) -> bool:
        """Record ``step`` in the next batch; whether it was recorded, or its error raised."""
        pending = _Pending(step)
        with self._group:
            self._queue.append(pending)
        while True:
            with self._group:
                while self._committing and not pending.finished:
                    self._group.wait()
                if pending.finished:
                    break
                self._committing = True
            try:
                # Let the threads just woken by the previous batch queue their next steps first
                # (a yield of the GIL), so that this batch carries them instead of one step.
                time.sleep(0)
                with self._group:
                    batch = self._take_batch()
                self._commit_batch(batch)
            finally:
                with self._group:
                    self._committing = False
                    self._group.notify_all()
        if pending.error is not None:
            raise pending.error
        return pending.result

    def _take_batch(self) -> list[_Pending]:
        """The queued steps, up to a limit, at most one per run (a later step of the same run
        waits for the next batch, so that it sees this one's result). Holds ``_group``."""
        batch: list[_Pending] = []
        runs: set[bytes] = set()
        rows = 0
        rest = []
        for pending in self._queue:
            run = pending.step.run.cid_bytes
            if run in runs or (batch and rows + len(pending.step.executions) > MAX_BATCH_ROWS):
                rest.append(pending)
                continue
            runs.add(run)
            rows += len(pending.step.executions)
            batch.append(pending)
        self._queue = rest
        return batch

    def _commit_batch(self, batch: list[_Pending]) -> None:
        try:
            recorded = self._write([p.step for p in batch])
        except Exception as exc:
            if len(batch) > 1:
                for pending in batch:
                    self._commit_batch([pending])
                return
            batch[0].error, batch[0].finished = exc, True
            return
        except BaseException as exc:  # interrupted: no waiter may be left without an outcome
            for pending in batch:
                pending.error, pending.finished = exc, True
            raise
        for pending, result in zip(batch, recorded):
            pending.result, pending.finished = result, True
