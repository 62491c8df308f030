"""Executions: get, list (keyset pages), updates (stored then live), trace."""

from __future__ import annotations

import base64
import builtins
import dataclasses
import hashlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from catenary.cid import CID, block_cid, decode, encode
from catenary.errors import (
    AlreadyExistsError,
    AuthenticationError,
    BadInputError,
    CatenaryError,
    NotFoundError,
    StatusTransitionError,
)
from catenary.model import Event, Execution, Invocation, RunStatus, Status, check_transition
from catenary.model.enums import Acceptance, Direction, NodeKind
from catenary.model.filter import ExecutionFilter
from catenary.model.placement import lineage_misplacement
from catenary.model.queues import DEFAULT_QUEUE
from catenary.model.results import MAX_PAGE_SIZE as MAX_PAGE_SIZE
from catenary.model.results import Attempt as Attempt
from catenary.model.results import Page as Page
from catenary.model.results import Trace as Trace
from catenary.model.results import TraceNode as TraceNode
from catenary.model.results import check_page_size, check_trace_request
from catenary.model.results import iterate_pages as iterate_pages
from catenary.model.types import mismatch
from catenary.sdk import claims
from catenary.sdk.operation import OperationManager
from catenary.sdk.updates import UpdateHub
from catenary.sdk.value import ValueManager
from catenary.store import AttestationRow, Dispute, HistoryEntry, Store

# A claim without a lease of its own lasts this long unless its owner renews it (seconds).
DEFAULT_LEASE = 30.0
_ACCEPTANCE_BATCH = 500  # executions read per query when listing by acceptance
MAX_LEASE = 24 * 3600.0


class ExecutionManager:
    """Read access to the execution DB."""

    def __init__(
        self,
        store: Store,
        operations: OperationManager,
        values: ValueManager,
        poll_interval: float = 0.25,
        lease: float = DEFAULT_LEASE,
        sweep_interval: float = 1.0,
        standing: Callable[[Execution], Acceptance] | None = None,
    ) -> None:
        self._store = store
        self._standing = standing  # the acceptance of an execution (node.acceptance.status)
        self._operations = operations
        self._values = values
        self._hub = UpdateHub(store, poll_interval)
        if not 0 < lease <= MAX_LEASE:
            raise BadInputError(f"lease: {lease!r} seconds is not in (0, {MAX_LEASE:g}]")
        self.lease = lease  # the lease of a claim that does not ask for one
        self._sweep_interval = sweep_interval
        self._sweeper: threading.Thread | None = None
        self._closed = threading.Event()
        self._sweeper_lock = threading.Lock()

    def get(self, execution_hash: CID) -> Execution:
        return NotFoundError.require(
            self._store.get_execution(execution_hash), "unknown execution {}", execution_hash
        )

    def dispute(self, execution_hash: CID) -> Dispute | None:
        """Why the execution is disputed (a verify re-execution disagreed), None if it is not."""
        return self._store.get_dispute(execution_hash)

    def list(
        self, flt: ExecutionFilter | None = None, page_size: int = 100, page_token: str | None = None
    ) -> Page:
        """Executions matching ``flt``, newest first, one keyset page at a time."""
        flt = flt or ExecutionFilter()
        check_page_size(page_size)
        before = _read_token(page_token, flt) if page_token else None
        if flt.acceptance is not None:
            return self._list_by_acceptance(flt, page_size, before)
        executions, last = self._store.list_executions(flt, page_size, before)
        return Page(executions, None if last is None else _make_token(last, flt))

    def _list_by_acceptance(self, flt: ExecutionFilter, page_size: int, before: int | None) -> Page:
        """A page of the executions whose acceptance is ``flt.acceptance``: the store's
        matches are read in batches and judged one by one (the policy decides, not a column)."""
        if self._standing is None:
            raise BadInputError("acceptance: this node has no quorum policy to judge executions by")
        found: builtins.list[Execution] = []
        last = before
        while True:
            batch, after = self._store.list_executions(flt, _ACCEPTANCE_BATCH, last)
            matching = [i for i, e in enumerate(batch) if self._standing(e) is flt.acceptance]
            need = page_size - len(found)
            if len(matching) >= need and (len(matching) > need or after is not None):
                # the page ends inside this batch: read the position just after its last item
                cut = matching[need - 1] + 1
                _, after = self._store.list_executions(flt, cut, last)
                found += [batch[i] for i in matching[:need]]
                return Page(found, None if after is None else _make_token(after, flt))
            found += [batch[i] for i in matching]
            if after is None:
                return Page(found, None)
            last = after

    def iterate(self, flt: ExecutionFilter | None = None, page_size: int = 500) -> Iterator[Execution]:
        """Every match, lazily, page by page."""
        return iterate_pages(self.list, flt, page_size)

    def updates(
        self, flt: ExecutionFilter | None = None, since_seq: int = 0, stop: threading.Event | None = None
    ) -> Iterator[Execution]:
        """Stored matches with ``seq > since_seq``, then live changes as they are committed.

        Never yields a change twice and never skips one (see :mod:`catenary.sdk.updates`).
        Ends when ``stop`` is set or the node closes.
        """
        return self._hub.updates(self._watch(flt), since_seq, stop)

    def update_chunks(
        self, flt: ExecutionFilter | None = None, since_seq: int = 0, stop: threading.Event | None = None
    ) -> Iterator[builtins.list[Execution]]:
        """:meth:`updates` in the lists the node reads them in (a store page on replay, one
        commit's changes live), for a stream that sends several per message."""
        return self._hub.chunks(self._watch(flt), since_seq, stop)

    def _watch(self, flt: ExecutionFilter | None) -> ExecutionFilter:
        flt = flt or ExecutionFilter()
        if flt.acceptance is not None:
            raise BadInputError("acceptance: updates cannot filter by it (it changes without a new seq)")
        if Status.CREATED in flt.statuses:
            self._start_sweeper()  # executors wait here for work: lapsed claims must come back
        return flt

    def close(self) -> None:
        self._closed.set()
        self._hub.close()
        if self._sweeper is not None:
            self._sweeper.join(timeout=5)

    def latest_seq(self) -> int:
        """The seq of the latest change (start ``updates`` here to see only new ones)."""
        return self._store.max_seq()

    # NodeLike's signature (model/node.py), which the gRPC client implements too.
    def create(
        self,
        workflow: CID,
        run: CID,
        segment: int,
        step: int,
        operation: CID,
        config: dict[str, str],
        parents: builtins.list[CID],
        inputs: builtins.list[CID],
    ) -> Execution:
        """Record an execution in status ``created`` for an external executor to claim.

        It must sit where the engine would put it (:mod:`catenary.model.placement`): the run's
        next segment, a step of it with the workflow's operation and config, parents and
        inputs wired as the workflow says. Anything else is refused, naming the wrong field."""
        state = self._store.get_run(run)
        if state is None:
            raise NotFoundError(f"unknown run {run}")
        if state.workflow != workflow:
            raise BadInputError(f"workflow: run {run} belongs to workflow {state.workflow}, not {workflow}")
        if state.status != RunStatus.RUNNING:
            raise BadInputError(f"run: run {run} is {state.status}; nothing more is recorded in it")
        if segment != state.next_segment:
            raise BadInputError(
                f"segment: run {run} is at segment {state.next_segment}; an execution of segment "
                f"{segment} does not belong there now"
            )
        self._operations.get(operation)
        stored_workflow = self._store.get_workflow(workflow)
        if stored_workflow is None:
            raise NotFoundError(f"unknown workflow {workflow}")
        invocation = Invocation(
            workflow, segment, step, operation, dict(config), tuple(parents), tuple(inputs)
        )
        problem = lineage_misplacement(stored_workflow, run, invocation, self._record)
        if problem is not None:
            raise BadInputError(str(problem))
        for cid in inputs:
            self._values.get_bytes(cid)
        record = invocation.record(run, Status.CREATED, created_at=time.time_ns())
        stored = self._store.insert_execution(record)
        if stored is None:
            raise AlreadyExistsError(f"execution {record.hash} already exists")
        return stored

    def update(
        self,
        execution_hash: CID,
        status: Status,
        executor: str | None = None,
        output: Any = None,
        error: str | None = None,
        lease: float | None = None,
        attestation: bytes | None = None,
        signed: bool = False,
    ) -> Execution:
        """An external executor's report: claim (in_progress), then completed or failed.

        A claim is atomic: of concurrent claimants exactly one wins; the others get
        StatusTransitionError naming the expected and actual status. A claim is a lease of
        ``lease`` seconds (default :attr:`lease`): its owner renews it by sending in_progress
        again; a lapsed lease returns the execution to ``created`` (:meth:`sweep`).

        ``signed``: the report comes from another party (the gRPC API), so a completed report
        must carry ``attestation``, the executor's signed block attesting this execution, key
        and output, by the key that holds the lease. It is checked before anything is stored
        and stored with the output; the record's ``executor`` is that key.
        """
        _check_lease(lease)
        current = self.get(execution_hash)
        row = None
        if status is Status.COMPLETED and (signed or attestation is not None):
            row = self._check_report(current, executor, output, attestation)
        if status is Status.COMPLETED:
            problem = self._output_problem(current, output)
            if problem:  # never stored as done: the execution fails with the reason
                status, output, error = Status.FAILED, None, problem
        expected = {
            Status.IN_PROGRESS: Status.CREATED,
            Status.COMPLETED: Status.IN_PROGRESS,
            Status.FAILED: Status.IN_PROGRESS,
        }.get(status)
        if expected is None:
            check_transition(current.status, status)  # raises: nothing moves to created
            raise AssertionError(f"no transition to {status.value}")  # unreachable
        block_ = None
        if status is Status.IN_PROGRESS:
            if not executor:
                raise BadInputError("claiming an execution (in_progress) needs an executor id")
            return self._claim_or_renew(current, executor, lease)
        if (
            status in (Status.COMPLETED, Status.FAILED)
            and (executor or signed)
            and current.executor
            and executor != current.executor
        ):
            zombie = claims.lost(self._store, current, executor or "", f"report {status.value} for")
            if zombie is not None:
                raise zombie
            raise StatusTransitionError(
                f"execution {execution_hash} is claimed by {current.executor}, not {executor}"
            )
        if status is Status.COMPLETED:
            block_ = self._values.encode(output)
        if status is Status.FAILED and not error:
            raise BadInputError("a failed execution needs an error message")
        updated = self._store.transition(
            execution_hash,
            expected,
            status,
            now=time.time_ns(),
            executor=executor,
            output=block_,
            error=error,
        )
        if updated is None:
            now_current = self.get(execution_hash)
            actual = now_current.status
            if executor:
                zombie = claims.lost(self._store, now_current, executor, f"report {status.value} for")
                if zombie is not None:
                    raise zombie
            raise StatusTransitionError(
                f"cannot move execution {execution_hash} to {status.value}: expected status "
                f"{expected.value}, actual {actual.value}"
            )
        if row is not None and updated.status is Status.COMPLETED:
            self._store.put_attestations([row], time.time_ns())
        return updated

    def _check_report(
        self, current: Execution, executor: str | None, output: Any, attestation: bytes | None
    ) -> AttestationRow:
        """The executor attestation of a completed report, once its signer is shown to hold
        the lease and it attests this execution, key and output; refused otherwise."""
        from catenary.trust.attestation import EXECUTOR, check

        if executor and (current.status is not Status.IN_PROGRESS or current.executor != executor):
            zombie = claims.lost(self._store, current, executor, "report completed for")
            if zombie is not None:
                raise zombie
        if current.status is not Status.IN_PROGRESS or not current.executor:
            raise StatusTransitionError(
                f"cannot complete execution {current.hash}: expected status in_progress, "
                f"actual {current.status.value} (an executor claims it first)"
            )
        if executor and executor != current.executor:
            raise StatusTransitionError(
                f"execution {current.hash} is claimed by {current.executor}, not {executor}: "
                f"only the executor that holds the lease may report it"
            )
        if not attestation:
            raise AuthenticationError(
                f"the report for execution {current.hash} carries no attestation: an executor "
                f"signs {{execution, key, output, signer}} with its key and sends it with the output"
            )
        output_cid, _ = self._values.encode(output)
        cid = block_cid(attestation)
        verdict = check(cid, attestation, current.hash, current.key, output_cid, EXECUTOR)
        if not verdict.valid:
            raise AuthenticationError(
                f"the attestation for execution {current.hash} is refused: {verdict.reason}"
            )
        if verdict.signer != current.executor:
            raise StatusTransitionError(
                f"execution {current.hash} is claimed by {current.executor}, but the report is "
                f"signed by {verdict.signer}: only the executor that holds the lease may report it"
            )
        return AttestationRow(current.hash, cid, attestation, current.executor, EXECUTOR.value)

    def _record(self, cid: CID) -> Execution | Event | None:
        """The execution or event stored under ``cid``."""
        return self._store.get_execution(cid) or self._store.get_event(cid)

    def _output_problem(self, current: Execution, output: Any) -> str | None:
        """Why ``output`` does not match the operation's declared output type, or None."""
        declared = self._operations.get(current.operation).manifest
        problem = mismatch(declared.output, output, "output")
        if problem is None:
            return None
        return f"{declared.name} reported an output that does not match its declared type: {problem}"

    def _claim_or_renew(self, current: Execution, executor: str, lease: float | None) -> Execution:
        lease_ns = int((lease if lease is not None else self.lease) * 1e9)
        self._start_sweeper()  # this node hands out leases: it also returns the lapsed ones
        if current.status is Status.IN_PROGRESS and current.executor == executor:
            if self._store.renew_lease(current.hash, executor, lease_ns):
                return self.get(current.hash)
            current = self.get(current.hash)  # it lapsed or finished meanwhile
        else:
            claimed = self._store.claim(current.hash, executor, lease=lease_ns)
            if claimed is not None:
                return claimed
            current = self.get(current.hash)
        zombie = claims.lost(self._store, current, executor, "renew the lease on")
        if zombie is not None:
            raise zombie
        owner = f" (claimed by {current.executor})" if current.executor else ""
        raise StatusTransitionError(
            f"cannot move execution {current.hash} to in_progress: expected status created, "
            f"actual {current.status.value}{owner}"
        )

    def claim(
        self,
        executor: str,
        queue: str = DEFAULT_QUEUE,
        operations: Sequence[CID] = (),
        max_count: int = 1,
        lease: float | None = None,
        wait: float = 0.0,
        stop: threading.Event | Callable[[], bool] | None = None,
    ) -> builtins.list[Execution]:
        """Claim up to ``max_count`` executions waiting on ``queue`` (of ``operations``, when
        given), oldest first, for ``executor``: each a lease of ``lease`` seconds (default
        :attr:`lease`) on the database's clock, renewed and reported with :meth:`update`.
        Each execution has one winner whatever the number of claimants. With nothing to claim,
        waits up to ``wait`` seconds for work (long poll, woken by commits), then returns what
        it got, perhaps nothing; ``stop`` ends the wait early."""
        if not executor:
            raise BadInputError("claiming executions needs an executor id")
        queue = claims.check_claim(queue, max_count, wait)
        _check_lease(lease)
        self._start_sweeper()  # this node hands out leases: it also returns the lapsed ones
        lease_ns = int((lease if lease is not None else self.lease) * 1e9)
        return claims.claim_waiting(
            self._store, executor, queue, tuple(operations), max_count, lease_ns, wait, stop
        )

    def sweep(self, now: int | None = None) -> builtins.list[Execution]:
        """Return the claims whose lease lapsed (before ``now``, unix ns; None: by the
        database's clock) to ``created``, recorded in their history; returns them. The engine
        and each node that hands out leases call it periodically."""
        return self._store.expire_leases(now)

    def history(self, execution_hash: CID) -> builtins.list[HistoryEntry]:
        """The claims and lease expiries of an execution, oldest first."""
        self.get(execution_hash)
        return self._store.execution_history(execution_hash)

    def attempts(self, execution_hash: CID) -> builtins.list[Attempt]:
        """The attempts of an execution tried under a retry policy, first first."""
        self.get(execution_hash)
        return self._store.execution_attempts(execution_hash)

    def _start_sweeper(self) -> None:
        if self._sweeper is not None:
            return
        with self._sweeper_lock:
            if self._sweeper is None and not self._closed.is_set():
                self._sweeper = threading.Thread(
                    target=self._sweep_forever, name="catenary-leases", daemon=True
                )
                self._sweeper.start()

    def _sweep_forever(self) -> None:
        while not self._closed.wait(self._sweep_interval):
            try:
                self.sweep()
            except CatenaryError:
                pass  # a store that is briefly unusable: the next round tries again

    def trace(
        self, execution_hash: CID, direction: Direction | str = Direction.ANCESTORS, depth: int = 0
    ) -> Trace:
        """The lineage of an execution, each node once, with edges parent -> child.

        ``ancestors``: back to the events that started it. ``descendants``: every
        execution computed from it (its impact). ``depth`` limits the hops (0 = all).
        One store query (:meth:`Store.lineage`) whatever the depth; nodes come in
        breadth-first order, the root first.
        """
        check_trace_request(direction, depth)
        direction = Direction(direction)
        lineage = self._store.lineage(execution_hash, direction, depth)
        if lineage is None:
            raise NotFoundError(f"unknown execution {execution_hash}")
        levels = lineage.levels
        nodes: builtins.list[TraceNode] = [
            TraceNode(NodeKind.EXECUTION, e.hash, e) for e in lineage.executions
        ]
        nodes += [
            TraceNode(
                NodeKind.EVENT,
                ev.hash,
                None,
                ev.inputs,
                ev.segment,
                ev.run,
                self._store.get_emitted_event(ev.cause) if ev.cause is not None else None,
            )
            for ev in lineage.events
        ]
        nodes.sort(key=lambda n: levels.get(n.hash, 0))  # stable: executions before events per level
        known = {n.hash for n in nodes}
        edges: builtins.list[tuple[CID, CID]] = []
        for e in lineage.executions:
            if direction is Direction.ANCESTORS and depth and levels.get(e.hash, 0) >= depth:
                continue  # the depth limit cut this node's parents off
            for parent in dict.fromkeys(e.parents):
                if parent in known:
                    if direction is Direction.ANCESTORS or (
                        e.hash != execution_hash and not (depth and levels[parent] >= depth)
                    ):
                        edges.append((parent, e.hash))  # (descendants: not out of the cut-off layer)
                elif direction is Direction.ANCESTORS:
                    raise NotFoundError(
                        f"parent {parent} of {e.hash} is neither an execution nor an event on this node"
                    )
        if direction is Direction.ANCESTORS and not depth:
            _cross_results(self, nodes, edges)
        return Trace(execution_hash, nodes, edges)


def _check_lease(lease: float | None) -> None:
    if lease is not None and (
        isinstance(lease, bool) or not isinstance(lease, (int, float)) or not 0 < lease <= MAX_LEASE
    ):
        raise BadInputError(f"lease: {lease!r} seconds is not in (0, {MAX_LEASE:g}]")


def _cross_results(
    manager: ExecutionManager, nodes: builtins.list[TraceNode], edges: builtins.list[tuple[CID, CID]]
) -> None:
    """Go on through result events (docs/events.md): a run triggered by another run's result
    has, on its input event, the emitted event whose ``source`` is the upstream final
    execution; its ancestors join the trace, with the edge source -> event."""
    known = {n.hash for n in nodes}
    for node in list(nodes):
        source = node.cause.event.source if node.cause is not None else None
        if source is None:
            continue
        if source not in known:
            upstream = manager.trace(source)
            for n in upstream.nodes:
                if n.hash not in known:
                    known.add(n.hash)
                    nodes.append(n)
            edges.extend(e for e in upstream.edges if e not in edges)
        edges.append((source, node.hash))


def _fingerprint(flt: ExecutionFilter) -> bytes:
    """Binds a page token to its filter; status order and repeats do not matter."""
    canonical = dataclasses.replace(flt, statuses=tuple(sorted(set(flt.statuses), key=lambda s: s.value)))
    return hashlib.blake2b(repr(canonical).encode(), digest_size=8).digest()


def _make_token(before: int, flt: ExecutionFilter) -> str:
    return base64.urlsafe_b64encode(encode([1, before, _fingerprint(flt)])).decode().rstrip("=")


def _shown(token: str) -> str:
    """A token as quoted in an error: real ones are ~20 characters, a forged one may be megabytes."""
    return repr(token) if len(token) <= 64 else f"{token[:40]!r}... ({len(token)} characters)"


def _read_token(token: str, flt: ExecutionFilter) -> int:
    """Decode a page token; refuse a forged one or one made for another filter."""
    try:
        version, before, fingerprint = decode(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (CatenaryError, ValueError, TypeError) as exc:
        raise BadInputError(f"invalid page token {_shown(token)}") from exc
    # An id is a SQLite rowid (64-bit signed): a larger one is forged, not just past the end.
    if version != 1 or not isinstance(before, int) or isinstance(before, bool) or not 0 <= before < 2**63:
        raise BadInputError(f"invalid page token {_shown(token)}")
    if fingerprint != _fingerprint(flt):
        raise BadInputError("page token was made for a different filter; start again without it")
    return before
