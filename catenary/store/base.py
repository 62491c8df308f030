"""The store interface: execution DB and content-addressed value store in one.

Every method is atomic. Implementations: :mod:`catenary.store.sqlite` (the
embedded default) and :mod:`catenary.store.postgres`, both on the shared SQL base
:mod:`catenary.store.sql`.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from catenary.cid import CID
from catenary.model import Event, Execution, OperationManifest, OperationVersion, Run, Status, Workflow
from catenary.model.emitted import Firing, ScheduleRow, SignedEvent, TriggerRow
from catenary.model.filter import ExecutionFilter
from catenary.model.results import Attempt as Attempt
from catenary.model.results import Dispute as Dispute
from catenary.model.results import RunState as RunState
from catenary.model.results import SegmentOutput as SegmentOutput
from catenary.store.leases import RunLease as RunLease
from catenary.store.peers import PeerRow


@dataclass(frozen=True)
class AttestationRow:
    """A signed attestation block, indexed under the execution it attests (see catenary.trust)."""

    execution: CID
    cid: CID
    data: bytes  # the DAG-CBOR block
    signer: str  # the signer's did:key
    role: str  # executor | validator | dissent


@dataclass(frozen=True)
class MemoCandidate:
    """A completed execution that did the work for a key (not a cache hit) and is not
    disputed, with the signers of its attestations: the engine reuses it only if the
    policy trusts one of them (docs/trust.md, "What is reused")."""

    output: CID
    origin: CID
    signers: frozenset[str]


@dataclass(frozen=True)
class Quarantined:
    """An execution ``doctor --repair`` took out of service because it does not fit its
    workflow: the record is kept, but memoization, execution lists and updates skip it."""

    execution: CID
    at: int  # unix ns
    reason: str


@dataclass(frozen=True)
class Lineage:
    """What :meth:`Store.lineage` returns: the executions and events reached, each once,
    in breadth-first order (the start first); ``levels`` maps each hash to its hop count."""

    executions: list[Execution]
    events: list[Event]
    levels: dict[CID, int]


@dataclass(frozen=True)
class ImportBatch:
    """Records loaded from a verified proof bundle, written in one transaction.

    Executions keep their hashes and metadata but get this store's own ``seq``;
    anything already present is left as it is.
    """

    blocks: list[tuple[CID, bytes]]
    operations: list[tuple[OperationManifest, OperationVersion]]
    workflows: list[Workflow]
    runs: list[RunState]
    events: list[Event]
    executions: list[Execution]  # parents before children
    attestations: list[AttestationRow]
    now: int
    emitted: list[tuple[SignedEvent, bytes]] = field(default_factory=list)  # with their data


@dataclass(frozen=True)
class HistoryEntry:
    """A change the execution record itself does not keep: a claim by an external executor
    (``claimed``), or a lease that ran out and returned the execution to ``created``
    (``lease_expired``). ``seq`` is the execution's seq right after the change."""

    execution: CID
    seq: int
    at: int  # unix ns
    change: str  # claimed | lease_expired
    executor: str | None
    detail: str | None = None


@dataclass(frozen=True)
class StepCommit:
    """Everything one ``next()`` call records, written in one transaction."""

    run: CID
    segment: int
    events: list[Event]
    executions: list[Execution]
    blocks: list[tuple[CID, bytes]]
    output: SegmentOutput | None  # None when the segment failed
    run_status: str
    total_time: float
    error: str | None
    now: int
    attestations: list[AttestationRow] = field(default_factory=list)  # of executions that did the work
    attempts: list[Attempt] = field(default_factory=list)  # of executions tried more than once


class Store(abc.ABC):
    """Execution DB + value store."""

    # values -----------------------------------------------------------------
    @abc.abstractmethod
    def put_blocks(self, blocks: Iterable[tuple[CID, bytes]]) -> None: ...

    @abc.abstractmethod
    def get_block(self, cid: CID) -> bytes | None: ...

    # operations and workflows ------------------------------------------------
    @abc.abstractmethod
    def put_operation(self, manifest: OperationManifest, version: OperationVersion) -> None: ...

    @abc.abstractmethod
    def get_version(self, version_id: CID) -> tuple[OperationManifest, OperationVersion] | None: ...

    @abc.abstractmethod
    def list_versions(self) -> list[tuple[OperationManifest, OperationVersion]]: ...

    @abc.abstractmethod
    def put_workflow(self, workflow: Workflow, now: int) -> None: ...

    @abc.abstractmethod
    def get_workflow(self, workflow_id: CID) -> Workflow | None: ...

    @abc.abstractmethod
    def list_workflows(self) -> list[tuple[CID, Workflow, int]]: ...

    # runs ----------------------------------------------------------------------
    @abc.abstractmethod
    def create_run(self, run: Run, now: int) -> None: ...

    @abc.abstractmethod
    def get_run(self, run_id: CID) -> RunState | None: ...

    @abc.abstractmethod
    def list_runs(self, workflow: CID | None = None, limit: int = 100) -> list[RunState]: ...

    @abc.abstractmethod
    def commit_step(self, step: StepCommit) -> bool:
        """Record a stepped segment; False (and nothing written) if the run moved on meanwhile."""

    @abc.abstractmethod
    def get_event(self, event_hash: CID) -> Event | None: ...

    @abc.abstractmethod
    def run_events(self, run_id: CID) -> list[Event]:
        """The events of a run (the external inputs of its segments), by segment."""

    # executions ----------------------------------------------------------------
    @abc.abstractmethod
    def find_completed(self, key: CID) -> Execution | None:
        """A completed execution with this key (the memoization lookup)."""

    def clear_memo(self, versions: Iterable[CID] | None = None) -> int:
        """Make the executions recorded so far (of these operation versions, or of all)
        ineligible for reuse, deleting nothing (``catenary cache clear``)."""
        raise NotImplementedError(f"{type(self).__name__} has no memo to clear")

    def memo_candidates(self, key: CID) -> list[MemoCandidate]:
        """The memoization lookup: the undisputed completed executions with this key that
        did the work, oldest first, each with its attestations' signers. Stores override
        it with one query."""
        hit = self.find_completed(key)
        if hit is None or hit.output is None:  # a completed execution always has an output
            return []
        origin = hit.cached_from or hit.hash
        if self.get_dispute(origin) is not None:
            return []
        signers = frozenset(a.signer for a in self.list_attestations(origin) if a.role != "dissent")
        return [MemoCandidate(hit.output, origin, signers)]

    def key_attestations(self, key: CID) -> list[tuple[Execution, AttestationRow]]:
        """Every attestation of every completed execution with this key, with its execution,
        oldest first: the votes a quorum weighs (catenary/trust/quorum.py)."""
        raise NotImplementedError

    def put_disputes(self, disputes: Iterable[Dispute]) -> int:
        """Mark executions disputed (a re-execution disagreed); returns how many were new."""
        raise NotImplementedError

    def get_dispute(self, execution_hash: CID) -> Dispute | None:
        """Why this execution is disputed, None if it is not."""
        raise NotImplementedError

    def quarantine(self, entries: Iterable[Quarantined]) -> int:
        """Take executions out of service, keeping their records; returns how many were new."""
        raise NotImplementedError

    def list_quarantined(self) -> list[Quarantined]:
        """Every quarantined execution, oldest first."""
        raise NotImplementedError

    def get_run_for_step(self, run_id: CID, segments: Callable[[RunState], Iterable[int]]) -> RunState | None:
        """:meth:`get_run` holding at least the outputs of the segments ``segments(run)``
        names (those its next segment reads); stores override it to read only those."""
        return self.get_run(run_id)

    @abc.abstractmethod
    def get_execution(self, execution_hash: CID) -> Execution | None: ...

    @abc.abstractmethod
    def list_executions(
        self, flt: ExecutionFilter, limit: int, before: int | None
    ) -> tuple[list[Execution], int | None]:
        """Newest first, keyset-paged on insertion order; returns the position to continue from."""

    @abc.abstractmethod
    def executions_since(self, flt: ExecutionFilter, seq: int, limit: int) -> list[Execution]:
        """Matches with ``seq`` above the given one, in seq order (for updates)."""

    @abc.abstractmethod
    def max_seq(self) -> int: ...

    @abc.abstractmethod
    def insert_execution(self, execution: Execution) -> Execution | None:
        """Record one execution (e.g. ``created``, for an external executor); None if the hash
        exists. A ``created`` one goes on the queue its run's routes give its step."""

    # Both stores repeat this signature, as overrides must; their bodies lock differently.
    @abc.abstractmethod
    def transition(
        self,
        execution_hash: CID,
        expected: Status,
        new: Status,
        *,
        now: int,
        executor: str | None = None,
        output: tuple[CID, bytes] | None = None,
        error: str | None = None,
    ) -> Execution | None:
        """Move an execution from ``expected`` to ``new`` atomically (one claimant wins).

        Sets ``started_at`` on in_progress and ``finished_at`` on completed/failed,
        stores the output block, bumps ``seq``. None when the current status is not
        ``expected`` (nothing changed).
        """

    # leases of external executors ----------------------------------------------------
    # A claim is a lease: ``lease_until`` (unix ns) is when it lapses unless its owner renews it.
    # Leases are set and checked by the database's clock (now() on PostgreSQL, the store's own
    # on SQLite), never a node's: nodes sharing a database may disagree about the time, the
    # database does not disagree with itself. ``lease`` is a duration in ns.
    # The defaults below keep a store without lease columns working: claims are plain
    # transitions that never expire, and there is no history. Stores override them all.
    def claim(self, execution_hash: CID, executor: str, *, lease: int) -> Execution | None:
        """``created`` -> ``in_progress`` owned by ``executor`` for ``lease`` ns, bumping
        ``seq`` and recording a ``claimed`` history entry, atomically (one claimant wins).
        None when the execution is not ``created``."""
        return self.transition(
            execution_hash, Status.CREATED, Status.IN_PROGRESS, now=time.time_ns(), executor=executor
        )

    def claim_next(
        self, executor: str, queue: str, operations: Sequence[CID], limit: int, lease: int
    ) -> list[Execution]:
        """Claim up to ``limit`` ``created`` executions of ``queue`` (of one of ``operations``
        when it is not empty), oldest first, for ``executor``, as :meth:`claim` does each: one
        winner per execution whatever the number of claimants on any node, and claimants never
        wait for each other's rows (docs/design.md, "Task queues")."""
        return []

    def renew_lease(self, execution_hash: CID, executor: str, lease: int) -> bool:
        """Extend the lease of an ``in_progress`` execution owned by ``executor`` to ``lease``
        ns from now (not a status change: ``seq`` stays). False when it is not in progress
        under that owner."""
        found = self.get_execution(execution_hash)
        return found is not None and found.status is Status.IN_PROGRESS and found.executor == executor

    def expire_leases(self, now: int | None = None, limit: int = 100) -> list[Execution]:
        """Return ``in_progress`` executions whose lease lapsed before ``now`` (None: the
        database's clock) to ``created`` (owner and ``started_at`` cleared, ``seq`` bumped, a
        ``lease_expired`` history entry), each atomically; returns them as they are now."""
        return []

    def set_run_queues(self, run_id: CID, routes: Mapping[str, str]) -> None:
        """Record where a run's remote steps are offered (:mod:`catenary.model.queues`); the
        queue of each is fixed when it is recorded ``created``."""
        if routes:
            raise NotImplementedError("this store has no task queues")

    def run_queues(self, run_id: CID) -> dict[str, str]:
        """The routes of a run (empty: every remote step on the default queue)."""
        return {}

    def execution_history(self, execution_hash: CID) -> list[HistoryEntry]:
        """The claims and lease expiries of an execution, oldest first."""
        return []

    def execution_attempts(self, execution_hash: CID) -> list[Attempt]:
        """The attempts of an execution tried under a retry policy, first first (empty when it
        ran once, or was not performed here)."""
        return []

    # runs owned by nodes (issue 15): catenary.store.leases has the SQL and the docs -------
    def submit_run(
        self,
        run: Run,
        now: int,
        orders: bytes,
        blocks: Iterable[tuple[CID, bytes]],
        holder: str,
        lease_ns: int,
    ) -> None:
        raise NotImplementedError

    def take_run_lease(self, run: CID, holder: str, lease_ns: int) -> bool:
        raise NotImplementedError

    def renew_run_leases(self, runs: Iterable[CID], holder: str, lease_ns: int) -> set[CID]:
        raise NotImplementedError

    def end_run_lease(self, run: CID, holder: str | None = None) -> bool:
        raise NotImplementedError

    def hand_off_run_leases(self, runs: Iterable[CID], holder: str) -> int:
        raise NotImplementedError

    def get_run_lease(self, run: CID) -> RunLease | None:
        raise NotImplementedError

    def lapsed_run_leases(self, limit: int = 100) -> list[RunLease]:
        raise NotImplementedError

    def cancel_run(self, run: CID, reason: str, now: int) -> str | None:
        raise NotImplementedError

    def finish_cancel(self, run: CID, reason: str, now: int) -> bool:
        raise NotImplementedError

    # lineage and trust ---------------------------------------------------------------
    @abc.abstractmethod
    def lineage(self, execution_hash: CID, direction: str, depth: int = 0) -> Lineage | None:
        """The executions and events an execution came from (``ancestors``: parents, their
        parents, ... down to the events) or computed from it (``descendants``), each once,
        within ``depth`` hops (0 = all), in one query. None when the hash is unknown."""

    def ancestry(self, execution_hash: CID) -> tuple[Lineage, list[SignedEvent]] | None:
        """:meth:`lineage` of the ancestors, going on through result events (issue 17): an
        input event whose ``cause`` is an emitted event with a ``source`` execution adds that
        execution's ancestors. Returns the merged lineage and the emitted events crossed or
        reached (each once); None when the hash is unknown."""
        first = self.lineage(execution_hash, "ancestors", 0)
        if first is None:
            return None
        executions = {e.hash: e for e in first.executions}
        events = {ev.hash: ev for ev in first.events}
        emitted: dict[CID, SignedEvent] = {}
        todo = list(first.events)
        while todo:
            cause = todo.pop().cause
            signed = self.get_emitted_event(cause) if cause is not None else None
            if signed is None or signed.id in emitted:
                continue
            emitted[signed.id] = signed
            source = signed.event.source
            if source is None or source in executions:
                continue
            upstream = self.lineage(source, "ancestors", 0)
            if upstream is None:
                continue  # the source is not on this node: the trace stops at the event
            for e in upstream.executions:
                executions.setdefault(e.hash, e)
            for ev in upstream.events:
                if ev.hash not in events:
                    events[ev.hash] = ev
                    todo.append(ev)
        return Lineage(list(executions.values()), list(events.values()), first.levels), list(emitted.values())

    @abc.abstractmethod
    def put_attestations(self, rows: Iterable[AttestationRow], now: int) -> int:
        """Store attestation blocks and index them; returns how many were new."""

    @abc.abstractmethod
    def list_attestations(self, execution_hash: CID) -> list[AttestationRow]:
        """The attestations recorded for an execution, oldest first."""

    # peers (issue 18; catenary.store.peers) -------------------------------------
    @abc.abstractmethod
    def put_peer(self, peer: PeerRow) -> bool:
        """Add a peer or change its address; True when it was new."""

    @abc.abstractmethod
    def get_peer(self, peer_id: str) -> PeerRow | None: ...

    @abc.abstractmethod
    def list_peers(self) -> list[PeerRow]: ...

    @abc.abstractmethod
    def delete_peer(self, peer_id: str) -> bool: ...

    @abc.abstractmethod
    def peer_outcome(
        self, peer_id: str, cursor: int, now: int, stored: Iterable[CID] = (), error: str | None = None
    ) -> None:
        """One handled announcement: provenance of what was stored, or the refusal, and the cursor."""

    @abc.abstractmethod
    def peer_trouble(self, peer_id: str, error: str, now: int) -> None: ...

    @abc.abstractmethod
    def provenance(self, execution_hash: CID) -> tuple[str, int] | None: ...

    # emitted events (issue 17) -------------------------------------------------
    @abc.abstractmethod
    def put_emitted_event(self, signed: SignedEvent, value: tuple[CID, bytes], now: int) -> SignedEvent:
        """Store an event and its data value in one transaction; an event already here is
        returned as stored."""

    @abc.abstractmethod
    def get_emitted_event(self, event_id: CID) -> SignedEvent | None: ...

    @abc.abstractmethod
    def list_emitted_events(
        self, key: str | None = None, emitter: str | None = None, after: int = 0, limit: int = 100
    ) -> list[SignedEvent]:
        """Events after position ``after``, oldest first."""

    def emitted_events_before(self, before: int | None, limit: int) -> list[SignedEvent]:
        """Newest first: the events at positions below ``before`` (None: from the latest)."""
        raise NotImplementedError

    def last_event_position(self) -> int:
        """The position of the latest emitted event (0: none)."""
        raise NotImplementedError

    def put_trigger(self, name: str, on_key: str, definition: dict[str, Any], now: int) -> TriggerRow:
        """Store a new, enabled trigger; it fires on events stored from now on."""
        raise NotImplementedError

    def get_trigger(self, name: str) -> TriggerRow | None:
        raise NotImplementedError

    def list_triggers(self) -> list[TriggerRow]:
        raise NotImplementedError

    def set_trigger_enabled(self, name: str, enabled: bool) -> bool:
        raise NotImplementedError

    def delete_trigger(self, name: str) -> bool:
        """Delete a trigger; its firings stay, as the history of what it did."""
        raise NotImplementedError

    def completed_runs(self, workflow: CID, after: int, limit: int = 100) -> list[tuple[int, CID, CID]]:
        """Runs of ``workflow`` completed after unix ns ``after``, oldest first: (updated_at,
        run, final execution)."""
        raise NotImplementedError

    def pending_firings(self, limit: int = 100) -> list[tuple[str, SignedEvent]]:
        """(trigger, event) pairs of enabled triggers with no firing row yet, oldest event first."""
        raise NotImplementedError

    def claim_firing(
        self,
        trigger: str,
        event: CID,
        status: str,
        now: int,
        run: Run | None = None,
        reason: str | None = None,
        continues: CID | None = None,
    ) -> bool:
        """Record the pair's firing and, with ``run``, create the run in the same transaction
        (``continues``: name an existing run the firing advances). False (and nothing
        written) when the pair has a firing already."""
        raise NotImplementedError

    def waiting_runs(self, workflow: CID, segment: int) -> list[tuple[CID, CID]]:
        """Running, trigger-started runs of ``workflow`` paused before ``segment``, each with
        the data CID of the event that started it (a continue trigger's candidates)."""
        raise NotImplementedError

    def finish_firing(self, trigger: str, event: CID, status: str, reason: str | None, now: int) -> None:
        raise NotImplementedError

    def list_firings(
        self,
        trigger: str | None = None,
        status: str | None = None,
        limit: int = 100,
        event: CID | None = None,
    ) -> list[Firing]:
        """Firings oldest first, of one trigger, status or event when given."""
        raise NotImplementedError

    def firing_for_run(self, run_id: CID) -> Firing | None:
        """The firing that started a run, if a trigger did."""
        raise NotImplementedError

    # schedules (issue 17; catenary.store.events has the SQL) ----------------------------
    def put_schedule(self, row: ScheduleRow) -> ScheduleRow:
        raise NotImplementedError

    def get_schedule(self, name: str) -> ScheduleRow | None:
        raise NotImplementedError

    def list_schedules(self) -> list[ScheduleRow]:
        raise NotImplementedError

    def delete_schedule(self, name: str) -> bool:
        raise NotImplementedError

    def fire_tick(
        self, name: str, tick: int, signed: SignedEvent, value: tuple[CID, bytes], now: int
    ) -> SignedEvent | None:
        """A tick's event, its (schedule, tick) row and the new last tick, in one transaction;
        None when the tick was fired already or is not after the last one."""
        raise NotImplementedError

    def pass_ticks(self, name: str, tick: int) -> bool:
        raise NotImplementedError

    def list_ticks(self, name: str, limit: int = 100) -> list[tuple[int, CID]]:
        raise NotImplementedError

    def match_ids(self, kind: str, fragment: str, limit: int = 10) -> list[CID]:
        """Stored ids of ``kind`` whose text starts or ends with ``fragment`` (CLI short CIDs)."""
        raise NotImplementedError

    @abc.abstractmethod
    def import_batch(self, batch: ImportBatch) -> dict[str, int]:
        """Write a verified bundle's records in one transaction; returns how many of each
        kind were new (the rest were already here and are left unchanged)."""

    @abc.abstractmethod
    def wait_for_change(self, seq: int, timeout: float) -> None:
        """Block until an execution with seq above ``seq`` may exist, or ``timeout`` seconds."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def integrity_problems(self) -> list[str]:
        """What the database's own consistency check reports (empty when sound)."""
        return []
