"""The Python executor: performs a module's remote operations for a node (``catenary executor``).

It asks the node for work (``Queue.Claim`` on its queue, for the operations it has): one claim
call at a time, for as many executions as it has free slots, long-polling while there is none
(docs/design.md, "Task queues"). Each execution the node hands out is already claimed for it,
with a lease; it is run and reported ``COMPLETED`` (output) or ``FAILED`` (error). While the
function runs, a timer renews the lease (``IN_PROGRESS`` again) every third of it.

A lease that lapsed (the executor stalled, or lost the node for longer than the lease) is the
node's to hand out again: the renewal or the report is then refused with
:class:`~catenary.errors.LeaseLostError`, saying who holds the execution now. The result is
dropped (``lost``) and the executor goes on taking work; it never dies of it.

The executor is a party of its own: its key (an :class:`~catenary.trust.identity.Identity`; the
CLI keeps it in the executor's directory) signs a token for every call, its did:key is its id
in the records, and it signs an attestation ``{execution, key, output, signer}`` that goes with
each completed report (docs/trust.md). Each process needs its own key: two processes with one
key are one executor, and would each take the other's claim for their own.

When the node goes away (restart, network), claims are retried with backoff and a report is
retried until the node answers, so a restart loses nothing: an execution whose lease lapsed
meanwhile is back to ``created`` and claimed again.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import grpc

from catenary.cid import CID
from catenary.client import Client
from catenary.errors import (
    BadInputError,
    CatenaryError,
    NotFoundError,
    StatusTransitionError,
    ValueTooLargeError,
)
from catenary.model import Execution, Status
from catenary.model.queues import DEFAULT_QUEUE, check_queue
from catenary.model.types import mismatch
from catenary.operations import Operation
from catenary.trust.attestation import report
from catenary.trust.identity import Identity

RETRY_MAX = 5.0  # seconds between reconnection attempts, at most


@dataclass(frozen=True)
class Outcome:
    """What the executor did with one execution (handed to ``on_event``)."""

    event: str  # completed | failed | lost (the claim lapsed or was taken) | skipped
    execution: CID
    operation: str
    executor: str
    seconds: float
    detail: str | None = None


class Worker:
    """Performs remote operations for the node at ``address`` until ``stop`` is set."""

    def __init__(
        self,
        address: str,
        operations: Iterable[Operation],
        identity: Identity | None = None,
        lease: float = 30.0,
        concurrency: int = 1,
        on_event: Callable[[Outcome], None] | None = None,
        log: Callable[[str], None] | None = None,
        tls: Any = None,
        queue: str = DEFAULT_QUEUE,
        wait: float = 10.0,
    ) -> None:
        """``identity``: the executor's key (a new one, forgotten on exit, when None); ``tls``:
        a :class:`~catenary.client.auth.ClientTLS` for a node served over TLS; ``queue``: the
        queue it takes work from; ``wait``: how long one claim waits for work (long poll)."""
        self.address = address
        self.operations = {op.version_id: op for op in operations}
        if not self.operations:
            raise BadInputError("an executor needs at least one remote operation")
        self.identity = identity or Identity.generate()
        self.id = self.identity.id  # the did:key: what the node records as the executor
        self.lease = lease
        self.concurrency = concurrency
        self.queue = check_queue(queue)
        self.wait = wait
        self._on_event = on_event or (lambda outcome: None)
        self._log = log or (lambda line: None)
        self._client = Client(address, key=self.identity, tls=tls)

    def unknown_operations(self) -> list[Operation]:
        """The operations the node does not know (so it never creates executions of them)."""
        missing = []
        for version_id, op in self.operations.items():
            try:
                self._client.operations.get(version_id)
            except NotFoundError:
                missing.append(op)
        return missing

    def run(self, stop: threading.Event) -> None:
        """Claim, run and report until ``stop``; executions in hand are finished."""
        work: queue.Queue[Execution] = queue.Queue()
        free = threading.Semaphore(self.concurrency)
        claimed_all = threading.Event()  # the claimer has stopped: what it handed out is in `work`
        claimer = threading.Thread(
            target=self._claim, args=(work, free, stop), daemon=True, name="catenary-claims"
        )
        workers = [
            threading.Thread(
                target=self._work,
                args=(work, free, claimed_all, stop),
                daemon=True,
                name=f"catenary-executor-{n}",
            )
            for n in range(self.concurrency)
        ]
        for thread in [claimer, *workers]:
            thread.start()
        stop.wait()
        claimer.join()
        claimed_all.set()
        for thread in workers:
            thread.join()
        self._client.close()

    # receiving work ---------------------------------------------------------------------------
    def _claim(self, work: queue.Queue[Execution], free: threading.Semaphore, stop: threading.Event) -> None:
        """Ask for as many executions as there are free slots; hand them to the workers."""
        operations = list(self.operations)
        delay = 0.2
        while not stop.is_set():
            if not free.acquire(timeout=0.2):
                continue
            slots = 1
            while slots < self.concurrency and free.acquire(blocking=False):
                slots += 1
            try:
                claimed = self._client.executions.claim(
                    self.id, self.queue, operations, slots, lease=self.lease, wait=self.wait, stop=stop
                )
                delay = 0.2
            except (CatenaryError, grpc.RpcError) as exc:
                claimed = []
                self._log(f"cannot claim from {self.address} ({_brief(exc)}); retrying")
                stop.wait(delay)
                delay = min(delay * 2, RETRY_MAX)
            for execution in claimed:
                work.put(execution)
            for _ in range(slots - len(claimed)):
                free.release()

    def _work(
        self,
        work: queue.Queue[Execution],
        free: threading.Semaphore,
        claimed_all: threading.Event,
        stop: threading.Event,
    ) -> None:
        while True:
            try:
                execution = work.get(timeout=0.2)
            except queue.Empty:
                if claimed_all.is_set():  # every claimed execution is performed: done
                    return
                continue
            try:
                self._perform(execution, stop)
            finally:
                free.release()

    # one execution -------------------------------------------------------------------------------
    def _perform(self, claimed: Execution, stop: threading.Event) -> None:
        op = self.operations.get(claimed.operation)
        if op is None:  # cannot happen with the filter; never run what was not asked for
            self._report(claimed, None, f"executor {self.id} has no operation {claimed.operation}", stop)
            return
        started = time.monotonic()
        lost: list[str] = []  # why the lease was lost, once it is
        done = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(claimed.hash, done, lost), daemon=True)
        renewer.start()
        try:
            output, failure = self._call(op, claimed)
        finally:
            done.set()
            renewer.join()
        if lost:
            self._emit("lost", claimed, op, started, f"{lost[0]}; result dropped")
            return
        event, detail = self._report(claimed, output, failure, stop)
        self._emit(event, claimed, op, started, detail)

    def _call(self, op: Operation, execution: Execution) -> tuple[Any, str | None]:
        """Fetch the inputs, check them, run the function: (output, None) or (None, error)."""
        try:
            values = [self._client.values.get(cid) for cid in execution.inputs]
        except CatenaryError as exc:
            return None, f"cannot fetch the inputs: {exc}"
        for i, (spec, value) in enumerate(zip(op.manifest.inputs, values)):
            problem = mismatch(spec, value, f"input {i}")
            if problem:
                return None, problem
        try:
            return op.func(*values, **dict(execution.config)), None
        except Exception as exc:  # the operation's failure is reported, not raised
            return None, f"{type(exc).__name__}: {exc}"

    def _renew(self, execution_hash: CID, done: threading.Event, lost: list[str]) -> None:
        """Renew the lease every third of it while the function runs."""
        while not done.wait(self.lease / 3):
            try:
                self._client.executions.update(execution_hash, Status.IN_PROGRESS, self.id, lease=self.lease)
            except StatusTransitionError as exc:  # LeaseLostError: it lapsed, perhaps taken since
                self._log(f"lease on {execution_hash} lost: {exc}")
                lost.append(str(exc))
                return
            except (CatenaryError, grpc.RpcError):
                continue  # the node is away: keep trying until the lease would lapse anyway

    def _report(
        self, execution: Execution, output: Any, failure: str | None, stop: threading.Event
    ) -> tuple[str, str | None]:
        """Report until the node answers; returns (event, detail). When stopping, it gives up
        after one lease: by then the claim lapses and the node offers the execution again."""
        delay, giving_up = 0.2, None
        while True:
            try:
                if failure is None:
                    reported = self._client.executions.update(
                        execution.hash,
                        Status.COMPLETED,
                        self.id,
                        output=output,
                        attestation=self.attest(execution, output),
                    )
                else:
                    reported = self._client.executions.update(
                        execution.hash, Status.FAILED, self.id, error=failure
                    )
                return reported.status.value, reported.error
            except StatusTransitionError as exc:  # LeaseLostError: a zombie, told who has it now
                self._log(f"report for {execution.hash} refused: {exc}")
                return "lost", str(exc)
            except (BadInputError, ValueTooLargeError) as exc:
                if failure is not None:
                    return "failed", failure
                failure = f"the output cannot be reported: {exc}"  # e.g. not DAG-CBOR, too large
            except (CatenaryError, grpc.RpcError) as exc:
                if stop.is_set():
                    giving_up = giving_up or time.monotonic() + self.lease
                    if time.monotonic() > giving_up:
                        return "lost", f"the node did not answer: {_brief(exc)}"
                self._log(f"cannot report {execution.hash} ({_brief(exc)}); retrying")
                time.sleep(delay)  # even when stopping: the result is not dropped lightly
                delay = min(delay * 2, RETRY_MAX)

    def attest(self, execution: Execution, output: Any) -> bytes:
        """The signed attestation block for reporting ``output`` as ``execution``'s result."""
        return report(self.identity, execution.hash, execution.key, output)

    def _emit(
        self, event: str, execution: Execution, op: Operation, started: float, detail: str | None
    ) -> None:
        self._on_event(Outcome(event, execution.hash, op.name, self.id, time.monotonic() - started, detail))


def _brief(exc: BaseException) -> str:
    text = exc.details() if isinstance(exc, grpc.RpcError) and hasattr(exc, "details") else str(exc)
    return (text or type(exc).__name__).splitlines()[0][:200]
