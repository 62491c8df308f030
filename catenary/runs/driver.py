"""The run driver: a node drives the runs submitted to it to the end, holding a lease on each.

Guarantees (docs/design.md, "Runs owned by nodes"):

- **One driver per run.** A node steps a run only while it holds the run's lease
  (catenary.store.leases: one conditional UPDATE, by the database's clock, so one taker wins).
  Should two nodes still step it at once (a lease lost in the middle of a segment), the
  engine's commit is a compare-and-set on the run's next segment: one commit wins, the other
  records nothing.
- **Nothing lost, nothing repeated.** A segment is committed in one transaction with all its
  executions. A node that dies in the middle of one has recorded none of it; whoever takes
  the run over runs that segment again from its recorded inputs (the same invocations: the
  same hashes), and the steps finished before the crash are memoized when their results were
  committed by an earlier segment or run. Remote steps already recorded are adopted.
- **Takeover.** A node renews the leases of the runs it drives every ``lease / 3`` seconds.
  A serving node (``start(takeover=True)``) also looks for lapsed leases each beat and
  continues those runs from their last recorded segment.
- **Cancel.** ``cancel`` asks the holder (a flag in the lease row, seen at its next beat) or,
  when no node drives the run, ends it at once. The holder stops at the next step boundary
  (:attr:`Engine.stopping`), commits the steps done, and asks its executor to interrupt the
  operation in flight where the executor can (``Executor.interrupt``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from catenary.cid import CID
from catenary.engine import Engine
from catenary.errors import (
    CatenaryError,
    ExecutionFailedError,
    ExecutionPendingError,
    ExecutorUnavailableError,
    InputError,
    NotFoundError,
    RunStateError,
    StoreError,
)
from catenary.model import Run, RunStatus
from catenary.runs.orders import Orders
from catenary.store import RunState, Store

# Seconds a node's lease on a run lasts without renewal: how long a run waits after its node
# died before another takes it over. Renewed every third of it.
DEFAULT_RUN_LEASE = 15.0
# The longest a serving node waits between two looks for lapsed leases.
MAX_BEAT = 1.0
SHUTDOWN = "node shutting down"


class RunDriver:
    """Drives runs of one node; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        store: Store,
        node_id: str,
        on_completed: Callable[[], object] | None = None,
        lease: float = DEFAULT_RUN_LEASE,
    ) -> None:
        self._engine, self._store, self.node_id = engine, store, node_id
        self._on_completed = on_completed
        self.set_lease(lease)
        self._lock = threading.Lock()
        self._driving: dict[CID, threading.Thread] = {}
        self._cancels: dict[CID, str] = {}  # run -> why it is to stop at the next step boundary
        self._lost: set[CID] = set()  # runs whose lease another node took over
        self._refused: dict[CID, float] = {}  # runs this node cannot drive -> when it tried
        self._closing = threading.Event()
        self._beat: threading.Thread | None = None
        self.takeover = False
        engine.stopping = self.stopping

    def set_lease(self, seconds: float) -> None:
        """How long this node's leases last unrenewed (renewed every third of it)."""
        if not seconds > 0:
            raise InputError(f"the run lease must be a positive number of seconds, got {seconds}")
        self.lease = seconds
        self._lease_ns = int(seconds * 1e9)

    # submitting -------------------------------------------------------------------------
    def check(
        self, workflow_id: CID, inputs: Mapping[int, Sequence[Any]]
    ) -> list[tuple[int, list[tuple[CID, bytes]]]]:
        """Refuse inputs for segments the workflow lacks, or of the wrong count, type or size,
        for every segment (as ``runs.run`` does); the encoded blocks by segment."""
        workflow = self._engine.workflow(workflow_id)
        last = len(workflow.segments) - 1
        for index in inputs:
            if type(index) is not int or not 0 <= index <= last:
                raise InputError(f"input for segment {index!r}, but the workflow has segments 0..{last}")
        return [
            (index, self._engine.check_inputs(workflow, index, inputs.get(index, ())))
            for index in range(len(workflow.segments))
        ]

    def submit(
        self, workflow_id: CID, inputs: Mapping[int, Sequence[Any]] | None = None, fresh: bool = False
    ) -> RunState:
        """Create a run held by this node and drive it to the end on a thread of its own;
        returns the new run at once (follow it with ``runs.get`` or the Updates stream)."""
        checked = self.check(workflow_id, dict(inputs or {}))
        orders = Orders({i: tuple(c for c, _ in blocks) for i, blocks in checked if blocks}, fresh)
        run = Run(workflow_id, os.urandom(16))
        self._store.submit_run(
            run,
            time.time_ns(),
            orders.encode(),
            [b for _, blocks in checked for b in blocks],
            self.node_id,
            self._lease_ns,
        )
        self._spawn(run.id)
        return self._engine.run_state(run.id)

    def adopt(self, run_id: CID) -> bool:
        """Take over a run whose lease lapsed (or that this node holds) and drive it; False
        when another node holds it, or nothing is to be driven."""
        with self._lock:
            if run_id in self._driving:
                return True
        if not self._store.take_run_lease(run_id, self.node_id, self._lease_ns):
            return False
        self._spawn(run_id)
        return True

    def drive(self, run_id: CID) -> RunState:
        """Take the run over and drive it to the end in this thread (``doctor --repair``)."""
        if not self._store.take_run_lease(run_id, self.node_id, self._lease_ns):
            raise RunStateError(f"run {run_id} is driven by another node, or has nothing to drive")
        with self._lock:
            self._driving[run_id] = threading.current_thread()
        self._run(run_id)
        return self._engine.run_state(run_id)

    def _spawn(self, run_id: CID) -> None:
        thread = threading.Thread(
            target=self._run, args=(run_id,), name=f"catenary-run-{str(run_id)[-8:]}", daemon=True
        )
        with self._lock:
            self._driving[run_id] = thread
            self._lost.discard(run_id)
        thread.start()

    # driving ----------------------------------------------------------------------------
    def stopping(self, run_id: CID) -> str | None:
        """:attr:`Engine.stopping`: why a run this node drives is to stop, None to go on."""
        return self._cancels.get(run_id)

    def driving(self) -> list[CID]:
        with self._lock:
            return list(self._driving)

    def _run(self, run_id: CID) -> None:
        ended = False
        try:
            ended = self._steps(run_id)
        except CatenaryError:
            # This node cannot drive it (an operation not loaded here, its inputs gone): hand it
            # on, and leave it to other nodes for a while.
            self._refused[run_id] = time.monotonic()
        finally:
            with self._lock:
                self._driving.pop(run_id, None)
                self._cancels.pop(run_id, None)
                lost = run_id in self._lost
                self._lost.discard(run_id)
            if not lost:
                try:
                    if ended:
                        self._store.end_run_lease(run_id, self.node_id)
                    else:
                        self._store.hand_off_run_leases([run_id], self.node_id)
                except StoreError:
                    pass  # the lease lapses on its own; the next look cleans it up

    def _steps(self, run_id: CID) -> bool:
        """Step the run until it ends (True) or this node stops driving it (False)."""
        lease = self._store.get_run_lease(run_id)
        if lease is None:
            raise NotFoundError(f"run {run_id} has no lease row: it was not submitted to a node")
        orders = Orders.decode(lease.orders, str(run_id))
        while not self._closing.is_set() and run_id not in self._lost:
            why = self._cancels.get(run_id)
            if why is not None:
                self._store.finish_cancel(run_id, why, time.time_ns())
                return True
            state = self._engine.run_state(run_id)
            if state.status != RunStatus.RUNNING:
                return True
            inputs = orders.values(state.next_segment, self._store.get_block)
            try:
                result = self._engine.next(run_id, inputs, fresh=orders.fresh)
            except ExecutionPendingError:
                continue  # a remote step still waits for its executor: keep waiting
            except ExecutionFailedError:
                return True
            except RunStateError:
                continue  # cancelled, or stepped elsewhere meanwhile: the next look says which
            except (ExecutorUnavailableError, StoreError):
                self._closing.wait(self._beat_seconds())  # infrastructure: retry, record nothing
                continue
            if result.done:
                if self._on_completed is not None:
                    try:
                        self._on_completed()
                    except CatenaryError:
                        pass  # the run is recorded; the node's next dispatch fires its triggers
                return True
        return False

    # cancel -----------------------------------------------------------------------------
    def cancel(self, run_id: CID, reason: str) -> str:
        """Cancel a run: ``requested`` (its driver stops at the next step boundary) or
        ``ended`` (nothing drove it; it ended now). RunStateError when it is not running."""
        outcome = self._store.cancel_run(run_id, reason, time.time_ns())
        if outcome is None:
            raise NotFoundError(f"unknown run {run_id}")
        if outcome not in ("requested", "ended"):
            raise RunStateError(f"run {run_id} is {outcome}: only a running run can be cancelled")
        if outcome == "requested" and run_id in self.driving():
            self._stop(run_id, reason)  # ours: no need to wait for the next beat
        return outcome

    def _stop(self, run_id: CID, reason: str) -> None:
        with self._lock:
            thread = self._driving.get(run_id)
            self._cancels[run_id] = reason
        if thread is not None and thread.ident is not None:
            self._engine.executor.interrupt(thread.ident)  # where the executor can

    # the beat ---------------------------------------------------------------------------
    def _beat_seconds(self) -> float:
        return min(MAX_BEAT, self.lease / 3) if self.takeover else self.lease / 3

    def start(self, takeover: bool = False) -> RunDriver:
        """Renew this node's leases in the background; with ``takeover`` (a serving node) also
        take over runs whose lease lapsed."""
        self.takeover = takeover
        if self._beat is None:
            self._beat = threading.Thread(target=self._beats, name="catenary-run-leases", daemon=True)
            self._beat.start()
        return self

    def _beats(self) -> None:
        while not self._closing.wait(self._beat_seconds()):
            try:
                self.beat()
            except CatenaryError:
                continue  # the database is away: the next beat tries again

    def beat(self) -> None:
        """Renew the leases held, see cancels asked of this node, take over lapsed runs."""
        driving = self.driving()
        held = self._store.renew_run_leases(driving, self.node_id, self._lease_ns)
        for run_id in driving:
            if run_id not in held:
                with self._lock:
                    self._lost.add(run_id)  # another node took it over: stop at the boundary
                continue
            lease = self._store.get_run_lease(run_id)
            if lease is not None and lease.cancel is not None and run_id not in self._cancels:
                self._stop(run_id, lease.cancel)
        if self.takeover:
            self.take_over()

    def take_over(self) -> list[CID]:
        """Adopt the running runs whose lease lapsed; drop the rows of ended ones."""
        adopted = []
        for lease in self._store.lapsed_run_leases():
            if lease.status != RunStatus.RUNNING:
                self._store.end_run_lease(lease.run, lease.holder)
                continue
            tried = self._refused.get(lease.run)
            if tried is not None and time.monotonic() - tried < 10 * self.lease:
                continue
            if self.adopt(lease.run):
                adopted.append(lease.run)
        return adopted

    def close(self, wait: float = 5.0) -> None:
        """Stop driving at the next segment boundary; hand the leases still held to the other
        nodes (they lapse now rather than after the lease)."""
        self._closing.set()
        with self._lock:
            threads = list(self._driving.values())
        deadline = time.monotonic() + wait
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        if self._beat is not None:
            self._beat.join(wait)
        left = self.driving()
        if left:
            try:
                self._store.hand_off_run_leases(left, self.node_id)
            except CatenaryError:
                pass
