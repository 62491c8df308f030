"""The runtime: ``new()`` creates a run, ``next()`` executes its next segment (SPEC §3).

Operations run through an :class:`~catenary.engine.executor.Executor` (in this process, or on a
Dask cluster). A step whose operation version is ``{kind: "remote"}`` is performed by an
external executor instead: the engine records it ``created``, waits until an executor has
claimed and finished it through the Execution API, and goes on with its output
(docs/design.md, "Remote executors").
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from catenary.cid import CID, block, block_cid, check_value, decode, encode
from catenary.engine.executor import Executor, executor_from_spec
from catenary.engine.policy import RunOptions
from catenary.engine.remote_waits import RemoteWaits

# An import list (catenary/__init__.py imports the same errors): names, no logic.
from catenary.errors import (
    CatenaryError,
    EncodingError,
    ExecutionFailedError,
    ExecutionPendingError,
    ExecutorUnavailableError,
    InputError,
    NotFoundError,
    OperationTimeout,  # noqa: F401 (re-exported)
    RunCancelledError,
    RunStateError,
    ValueTooLargeError,
)
from catenary.model import (
    Event,
    Execution,
    Invocation,
    OperationManifest,
    Preimages,
    Run,
    RunStatus,
    Segment,
    Status,
    Workflow,
)
from catenary.model.placement import misplacement
from catenary.model.results import DEFAULT_MAX_VALUE_SIZE as DEFAULT_MAX_VALUE_SIZE
from catenary.model.results import Attempt
from catenary.model.results import StepResult as StepResult
from catenary.model.types import TypeSpec, mismatch
from catenary.model.workflow import EXTERNAL
from catenary.operations import Operation, Registry
from catenary.store import MemoCandidate, RunState, SegmentOutput, StepCommit, Store

# How long next() waits for external executors to finish a remote step, in seconds.
DEFAULT_REMOTE_WAIT = 300.0
# While it waits, how often it looks at the execution without being woken, and returns
# lapsed claims to `created` (leases; the served node's sweeper does the same).
REMOTE_POLL = 0.5


class _Slot:
    """A value flowing through a segment: its CID, its producer, and the value once decoded."""

    __slots__ = ("cid", "parent", "_value", "_store")

    def __init__(self, cid: CID, parent: CID, value: Any = None, store: Store | None = None) -> None:
        self.cid, self.parent, self._value, self._store = cid, parent, value, store

    @property
    def value(self) -> Any:
        if self._store is not None:  # not decoded yet
            data = self._store.get_block(self.cid)
            if data is None:
                raise NotFoundError(f"value {self.cid} is missing from the value store")
            self._value, self._store = decode(data), None
        return self._value


@dataclass
class _SegmentRun:
    """What one call of ``next()`` carries from step to step until it commits."""

    state: RunState
    index: int  # the segment's index in the workflow
    base_total: float  # the run's total_time before this segment
    last_segment: int  # index of the workflow's last segment
    segment: Segment
    operations: list[Operation]
    blocks: list[tuple[CID, bytes]]  # values to commit: external inputs, then outputs
    started: float  # perf_counter() at the start, for segment_time
    lookup: Callable[[CID, Operation], tuple[CID, CID] | None] | None  # memo lookup, None when fresh
    options: RunOptions  # retries and timeouts of its steps
    slots: list[_Slot] = field(default_factory=list)  # the next step's inputs
    events: list[Event] = field(default_factory=list)
    executions: list[Execution] = field(default_factory=list)
    # key -> (output, origin) of the executions of this segment, which are not committed yet;
    # origin is the execution that did the work (cached_from, or the execution itself).
    pending: dict[CID, tuple[CID, CID]] = field(default_factory=dict)
    produced: dict[CID, Any] = field(default_factory=dict)  # outputs made here, not committed
    attestations: list[Any] = field(default_factory=list)
    recorded: set[CID] = field(default_factory=set)  # remote executions their executors recorded
    error: str | None = None  # set by the step that failed; no step runs after it
    attempts: list[Attempt] = field(default_factory=list)  # of steps tried more than once
    finished: float | None = None  # perf_counter() when its last step ended (not its commit)
    stopped: str | None = None  # why the run was cancelled at a step boundary (Engine.stopping)


class Engine:
    """Steps runs, records every execution, memoizes by key."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        node_id: str,
        max_value_size: int = DEFAULT_MAX_VALUE_SIZE,
        attest: Callable[[CID, CID, CID], Any] | None = None,
        operation_timeout: float | None = None,
        executor: Executor | str | None = None,
        remote_wait: float | None = DEFAULT_REMOTE_WAIT,
        reusable: Callable[[MemoCandidate, Operation], bool] | None = None,
        options: RunOptions | None = None,
    ) -> None:
        # Retries and timeouts per step (catenary.engine.policy): how hard, never what.
        self.options = options or RunOptions()
        # Seconds an operation may run before its execution fails (None: no limit).
        self.operation_timeout = operation_timeout
        # Where operation functions run (catenary.engine.executor): local by default.
        self.executor = executor_from_spec(executor)
        # Seconds next() waits for a remote step before ExecutionPendingError (None: no limit).
        self.remote_wait = remote_wait
        self._remote_ops: dict[CID, Operation] = {}
        self.store = store
        # The runs waiting for remote steps share one reader of the store (one read a commit).
        self._remote_waits = RemoteWaits(store, REMOTE_POLL)
        # (execution, key, output) -> a signed AttestationRow, for each execution that did the
        # work; committed with the execution (catenary.trust.attestation).
        self.attest = attest
        # Whether a memo candidate's result of this operation may be reused (the node's
        # policy: Node._reusable); by default only when the node itself signed it.
        self.reusable = reusable or (lambda candidate, _op: node_id in candidate.signers)
        self.registry = registry
        self.node_id = node_id
        self.max_value_size = max_value_size
        self._workflows: dict[CID, Workflow] = {}
        # Why to stop a run at its next step boundary, None to go on: the node's run driver sets
        # it to see cancels (catenary.runs); between steps is the one place next() stops early.
        self.stopping: Callable[[CID], str | None] = _go_on

    def workflow(self, workflow_id: CID) -> Workflow:
        workflow = self._workflows.get(workflow_id)
        if workflow is None:
            workflow = self.store.get_workflow(workflow_id)
            if workflow is None:
                raise NotFoundError(f"unknown workflow {workflow_id}")
            self._workflows[workflow_id] = workflow
        return workflow

    def new(self, workflow_id: CID, nonce: bytes | None = None) -> RunState:
        """Create a run of a stored workflow; ``nonce`` (16 bytes) is random unless given, to
        repeat a run elsewhere with the same ids (a browser run, docs/browser.md)."""
        self.workflow(workflow_id)
        if nonce is not None and len(nonce) != 16:
            raise InputError(f"a run nonce is 16 bytes, got {len(nonce)}")
        run = Run(workflow_id, os.urandom(16) if nonce is None else bytes(nonce))
        self.store.create_run(run, time.time_ns())
        state = self.store.get_run(run.id)
        assert state is not None
        return state

    def run_state(self, run_id: CID) -> RunState:
        return NotFoundError.require(self.store.get_run(run_id), "unknown run {}", run_id)

    def _run_for_step(self, run_id: CID) -> RunState:
        """The run with (at least) the outputs its next segment reads."""
        return NotFoundError.require(
            self.store.get_run_for_step(run_id, self._sources), "unknown run {}", run_id
        )

    def _sources(self, state: RunState) -> list[int]:
        """The earlier segments whose outputs the run's next segment reads."""
        if state.status != RunStatus.RUNNING:
            return []
        segments = self.workflow(state.workflow).segments
        if state.next_segment >= len(segments):
            return []
        return [source for source in segments[state.next_segment].inputs if source != EXTERNAL]

    def manifest(self, version_id: CID) -> OperationManifest:
        """An operation version's manifest, from the registry or else the store: the
        implementation need not be on this node."""
        loaded = self.registry.get(version_id)
        if loaded is not None:
            return loaded.manifest
        stored = self.store.get_version(version_id)
        if stored is None:
            raise NotFoundError(f"operation version {version_id} is not known on this node")
        return stored[0]

    def external_types(self, workflow: Workflow, segment: int) -> tuple[str, list[TypeSpec]]:
        """The declared types of a segment's ``-1`` slots, in order, and the name of the
        operation declaring them (its first step's), from its manifest: the implementation
        need not be on this node (a CLI creating a trigger has not loaded the modules)."""
        seg = workflow.segments[segment]
        manifest = self.manifest(seg.sequence[0].version_id)
        declared = seg.sequence[0].inputs or manifest.inputs  # a step's override wins
        return manifest.name, [declared[i] for i, source in enumerate(seg.inputs) if source == EXTERNAL]

    def check_inputs(
        self, workflow: Workflow, segment: int, inputs: Sequence[Any]
    ) -> list[tuple[CID, bytes]]:
        """Refuse a segment's external inputs of the wrong count, type or size, or a segment
        whose operations this node cannot execute; return the inputs' encoded blocks."""
        seg = workflow.segments[segment]
        if len(inputs) != seg.external_slots:
            hint = " (it has no -1 slot)" if seg.external_slots == 0 else ""
            raise InputError(
                f"segment {segment} takes {seg.external_slots} external input(s){hint}, got {len(inputs)}"
            )
        for step in seg.sequence:
            self._operation(step.version_id)  # all must exist
        name, declared = self.external_types(workflow, segment)
        blocks = []
        for number, (spec, value) in enumerate(zip(declared, inputs)):
            where = f"segment {segment} input {number}"
            try:
                check_value(value, where)
            except CatenaryError as exc:
                raise InputError(str(exc)) from exc
            problem = mismatch(spec, value, where)
            if problem:
                raise InputError(f"{problem} (declared by {name})")
            cid, data = block(value)
            if len(data) > self.max_value_size:
                raise ValueTooLargeError(
                    f"{where} is {len(data)} bytes, over the value size cap of {self.max_value_size} bytes"
                )
            blocks.append((cid, data))
        return blocks

    def next(
        self,
        run_id: CID,
        inputs: Sequence[Any] = (),
        fresh: bool = False,
        cause: CID | None = None,
        options: RunOptions | None = None,
    ) -> StepResult:
        """Execute the run's next segment with the values for its ``-1`` slots; ``cause`` is the
        emitted event that triggered it, linked from the segment's event. ``options``: retries
        and timeouts of its steps (default: the engine's)."""
        seg = self._begin(run_id, inputs, fresh, cause, options)
        return self._commit(self._perform(seg))

    def advance(
        self,
        run_id: CID,
        inputs: Mapping[int, Sequence[Any]],
        parallelism: int,
        fresh: bool = False,
        on_step: Callable[[StepResult], None] | None = None,
        options: RunOptions | None = None,
    ) -> StepResult:
        """Run every remaining segment of the run, each as soon as the segments it reads have
        run, up to ``parallelism`` at once; commit them in index order, recording what
        ``next()`` called once per segment would (catenary.engine.dag)."""
        from catenary.engine.dag import advance

        return advance(self, run_id, inputs, parallelism, fresh, on_step, options)

    def _perform(self, seg: _SegmentRun) -> _SegmentRun:
        """Run the segment's steps in sequence, until one fails."""
        for step_index, (step, op) in enumerate(zip(seg.segment.sequence, seg.operations)):
            if step_index and (why := self.stopping(seg.state.id)) is not None:
                seg.stopped = why  # the steps done so far are committed, the run ends cancelled
                break
            if not self._step(seg, step_index, step.version_id, step.config, op):
                break
        seg.finished = time.perf_counter()  # a segment run ahead may wait to commit: not its time
        return seg

    def _begin(
        self,
        run_id: CID,
        inputs: Sequence[Any],
        fresh: bool,
        cause: CID | None = None,
        options: RunOptions | None = None,
    ) -> _SegmentRun:
        """Check the run and the inputs; the segment's state with its event and input slots."""
        state = self._run_for_step(run_id)
        if state.status != RunStatus.RUNNING:
            reason = f": {state.error}" if state.error else ""
            error = RunCancelledError if state.status == RunStatus.CANCELLED else RunStateError
            raise error(f"run {run_id} is {state.status}{reason}; start a new run")
        sources = {i: _Slot(o.output, o.producer, store=self.store) for i, o in state.outputs.items()}
        return self._prepare(
            state, state.next_segment, inputs, fresh, cause, sources, state.total_time, options
        )

    def _prepare(
        self,
        state: RunState,
        index: int,
        inputs: Sequence[Any],
        fresh: bool,
        cause: CID | None,
        sources: Mapping[int, _Slot],
        base_total: float,
        options: RunOptions | None = None,
    ) -> _SegmentRun:
        """Segment ``index`` of the run, ready to perform: its event and its input slots, the
        outputs of earlier segments taken from ``sources``."""
        run_id = state.id
        workflow = self.workflow(state.workflow)
        segment = workflow.segments[index]
        blocks = self.check_inputs(workflow, index, inputs)
        operations = [self._operation(step.version_id) for step in segment.sequence]
        seg = _SegmentRun(
            state=state,
            index=index,
            base_total=base_total,
            last_segment=len(workflow.segments) - 1,
            segment=segment,
            operations=operations,
            blocks=blocks,
            started=time.perf_counter(),
            lookup=None if fresh else self._memo,
            options=options or self.options,
        )
        external = [(cid, value) for (cid, _), value in zip(blocks, inputs)]
        if external:
            seg.events.append(Event(run_id, index, tuple(c for c, _ in external), cause))
        feed = iter(external)
        for source in segment.inputs:
            if source == EXTERNAL:  # only when there are external inputs, hence their event
                cid, value = next(feed)
                seg.slots.append(_Slot(cid, seg.events[0].hash, value))
            else:
                out = sources[source]
                seg.slots.append(_Slot(out.cid, out.parent, out._value, out._store))
        return seg

    def _step(
        self, seg: _SegmentRun, step_index: int, version_id: CID, config: dict[str, str], op: Operation
    ) -> bool:
        """Execute one step: from memo, by an external executor, or here. False: it failed."""
        state = seg.state
        invocation = Invocation(
            state.workflow,
            seg.index,
            step_index,
            version_id,
            config,
            tuple(s.parent for s in seg.slots),
            tuple(s.cid for s in seg.slots),
        )
        misplaced = misplacement(self.workflow(state.workflow), invocation)
        if misplaced is not None:  # the rule a Create is held to; the engine must obey it too
            raise AssertionError(f"the engine built a misplaced execution: {misplaced}")
        ids = invocation.preimages(trusted=True)
        created = time.time_ns()
        is_remote = op.version.kind == "remote"
        # A remote step may be recorded already: by an earlier call of next() for this very
        # segment that stopped waiting. The hash names this run's step, so it is adopted.
        existing = self.store.get_execution(ids.hash) if is_remote else None
        hit = None
        if seg.lookup is not None and existing is None:
            hit = seg.pending.get(ids.key) or seg.lookup(ids.key, op)
        if hit is not None:
            record = self._from_memo(seg, invocation, ids, hit, created)
        elif is_remote:
            record = self._run_remote(seg, invocation, ids, op, existing, created)
        else:
            record = self._run_here(seg, invocation, ids, op, created)
        seg.executions.append(record)
        if seg.error is not None:
            return False
        assert record.output is not None
        if not (is_remote and hit is None):  # an executor's report is reused only once trusted
            seg.pending.setdefault(ids.key, (record.output, record.cached_from or record.hash))
        return True

    def _memo(self, key: CID, op: Operation) -> tuple[CID, CID] | None:
        """``(output, origin)`` of the oldest undisputed execution with this key that did the
        work and that the policy lets this node reuse for ``op``; None: run it."""
        for candidate in self.store.memo_candidates(key):
            if self.reusable(candidate, op):
                return candidate.output, candidate.origin
        return None

    def _from_memo(
        self, seg: _SegmentRun, invocation: Invocation, ids: Preimages, hit: tuple[CID, CID], created: int
    ) -> Execution:
        """A completed execution with this key exists (here or earlier in the segment): reuse
        its output, naming the execution that did the work."""
        output_cid, origin = hit
        # A memo hit's record; a performed step's (_perform) differs by cached_from and its times.
        record = invocation.record(
            seg.state.id,
            Status.COMPLETED,
            ids=ids,
            output=output_cid,
            executor=self.node_id,
            cached_from=origin,
            created_at=created,
            started_at=created,
            finished_at=time.time_ns(),
        )
        if output_cid in seg.produced:
            seg.slots = [_Slot(output_cid, ids.hash, seg.produced[output_cid])]
        else:
            seg.slots = [_Slot(output_cid, ids.hash, store=self.store)]
        return record

    def _run_remote(
        self,
        seg: _SegmentRun,
        invocation: Invocation,
        ids: Preimages,
        op: Operation,
        existing: Execution | None,
        created: int,
    ) -> Execution:
        """Record the step ``created`` (unless it is already) and wait for an external executor."""
        if existing is None:
            self.store.put_blocks(seg.blocks)  # the executor reads the inputs by CID
            seg.blocks = []
            existing = self._create_remote(
                invocation.record(seg.state.id, Status.CREATED, ids=ids, created_at=created)
            )
        record = self._await_remote(existing, op)
        seg.recorded.add(ids.hash)
        if record.status is Status.FAILED:
            seg.error = f"segment {invocation.segment} step {invocation.step} ({op.name}): {record.error}"
        else:
            assert record.output is not None
            seg.slots = [_Slot(record.output, ids.hash, store=self.store)]
        # No executor attestation: this node did not compute it (docs/trust.md).
        return record

    def _run_here(
        self, seg: _SegmentRun, invocation: Invocation, ids: Preimages, op: Operation, created: int
    ) -> Execution:
        """Call the operation through the executor, as many times as its policy allows; the
        record, completed or failed."""
        policy = seg.options.policy(invocation.segment, invocation.step, op.name)
        timeout = policy.timeout if policy.timeout is not None else self.operation_timeout
        values = [s.value for s in seg.slots]
        attempts: list[Attempt] = []
        while True:
            started = time.time_ns()
            output, failure, error_class = self._invoke(op, values, invocation.config, False, timeout)
            done_at = time.time_ns()
            output_cid = data = None
            if failure is None:
                output_cid, data, failure = self._output_block(op, output)
            attempts.append(Attempt(ids.hash, len(attempts) + 1, started, done_at, failure))
            if failure is None or not policy.retries(error_class, len(attempts)):
                break
            time.sleep(policy.delay(len(attempts)))
        if policy.attempts > 1:  # a step under a retry policy keeps every attempt, even one
            seg.attempts.extend(attempts)
        if failure is not None:
            if len(attempts) > 1:
                failure = f"{failure} (attempt {len(attempts)} of {policy.attempts})"
            seg.error = f"segment {invocation.segment} step {invocation.step} ({op.name}): {failure}"
            return invocation.record(
                seg.state.id,
                Status.FAILED,
                ids=ids,
                error=seg.error,
                executor=self.node_id,
                created_at=created,
                started_at=created,
                finished_at=done_at,
            )
        assert output_cid is not None and data is not None
        seg.blocks.append((output_cid, data))
        seg.slots = [_Slot(output_cid, ids.hash, output)]
        seg.produced[output_cid] = output
        if self.attest is not None:
            seg.attestations.append(self.attest(ids.hash, ids.key, output_cid))
        # A performed step's record; a memo hit's (_from_memo) differs by cached_from and its times.
        return invocation.record(
            seg.state.id,
            Status.COMPLETED,
            ids=ids,
            output=output_cid,
            executor=self.node_id,
            created_at=created,
            started_at=created,
            finished_at=done_at,
        )

    def _commit(self, seg: _SegmentRun) -> StepResult:
        """Commit the segment in one transaction; raise ExecutionFailedError if a step failed."""
        state, error = seg.state, seg.error
        run_id, index = state.id, seg.index
        segment_time = ((seg.finished or time.perf_counter()) - seg.started) * 1000
        total_time = seg.base_total + segment_time
        last = seg.executions[-1]
        done = error is None and seg.stopped is None and index == seg.last_segment
        # Remote executions are recorded by their executors as they go, not by this commit.
        executions = [e for e in seg.executions if e.hash not in seg.recorded]
        output = None
        if error is None and seg.stopped is None and last.output is not None:  # completed: has one
            output = SegmentOutput(index, last.output, last.hash, segment_time)
        commit = StepCommit(
            run=run_id,
            segment=index,
            events=seg.events,
            executions=executions,
            blocks=seg.blocks,
            output=output,
            run_status=(
                RunStatus.FAILED
                if error
                else RunStatus.CANCELLED
                if seg.stopped
                else RunStatus.COMPLETED
                if done  # stored: plain str
                else RunStatus.RUNNING
            ).value,
            total_time=total_time,
            error=error or seg.stopped,
            now=time.time_ns(),
            attestations=seg.attestations,
            attempts=seg.attempts,
        )
        if not self.store.commit_step(commit):
            raise RunStateError(
                f"run {run_id} was stepped by another caller meanwhile; nothing was "
                f"recorded for this call (get the run to see where it stands)"
            )
        if error:
            raise ExecutionFailedError(error, last)
        if seg.stopped:
            raise RunCancelledError(f"run {run_id} is cancelled: {seg.stopped}")
        return StepResult(
            run_id, index, done, seg.slots[0].value if done else None, segment_time, total_time, last.hash
        )

    def _operation(self, version_id: CID) -> Operation:
        op = self.registry.get(version_id)
        if op is None:
            op = self._remote_ops.get(version_id)
        if op is None:
            stored = self.store.get_version(version_id)
            if stored is None or stored[1].kind != "remote":
                raise NotFoundError(
                    f"operation version {version_id} has no implementation on this "
                    f"node (load the module that defines it with --ops)"
                )
            # Known only from the store: external executors perform it, this node never calls it.
            op = self._remote_ops[version_id] = Operation(stored[0], stored[1], _executed_remotely, "")
        return op

    def _create_remote(self, record: Execution) -> Execution:
        """Record a remote step ``created``, in its own transaction, so that executors see it
        (Updates) before the segment is committed."""
        stored = self.store.insert_execution(record)
        if stored is None:  # recorded meanwhile by another caller stepping this run
            stored = self.store.get_execution(record.hash)
            assert stored is not None
        return stored

    def _await_remote(self, execution: Execution, op: Operation) -> Execution:
        """Wait until external executors have finished a remote execution; return it
        ``completed`` or ``failed``. Lapsed claims are returned to ``created`` meanwhile.

        Raises ExecutionPendingError after :attr:`remote_wait` seconds: the execution stays
        recorded and the run has not moved, so ``next()`` with the same inputs resumes here.
        """
        wanted, wait = execution.hash, self.remote_wait
        while True:
            finished = self._remote_waits.wait(wanted, REMOTE_POLL if wait is None else wait)
            if finished is not None:
                return finished
            if wait is not None:
                current = self.store.get_execution(wanted) or execution
                owner = f" by {current.executor}" if current.executor else ""
                raise ExecutionPendingError(
                    f"remote execution {wanted} ({op.name}) is still {current.status.value}{owner} "
                    f"after {self.remote_wait:g} s: no executor finished it (start one with "
                    f"`catenary executor`). It stays recorded and the run has not moved; step the "
                    f"run again with the same inputs to keep waiting for it",
                    current,
                )

    def _output_block(self, op: Operation, output: Any) -> tuple[CID | None, bytes | None, str | None]:
        """Encode an output once: (cid, bytes, None), or (None, None, why it cannot be stored)."""
        try:
            data = encode(output)
        except EncodingError:
            problem = _encodable(output)  # names the path, as the unchecked _invoke would have
            if problem is None:
                raise
            return None, None, problem
        if len(data) > self.max_value_size:
            return (
                None,
                None,
                (
                    f"{op.name} output is {len(data)} bytes, over the value size cap "
                    f"of {self.max_value_size} bytes"
                ),
            )
        return block_cid(data), data, None

    def _invoke(
        self,
        op: Operation,
        values: list[Any],
        config: dict[str, str],
        checked: bool = True,
        timeout: float | None = None,
    ) -> tuple[Any, str | None, str | None]:
        """Run the function through the executor; return (output, None, None) or (None, error
        text, the class name of what the operation raised or None when the engine found the
        problem). Never raises for op errors (only ExecutorUnavailableError: nothing can be
        recorded).

        ``checked=False`` skips the DAG-CBOR check of the output, for callers that encode it
        right after (see :meth:`_output_block`). With ``timeout`` (seconds) an operation still
        running then fails its execution; Python cannot stop a thread, so the call finishes in
        the background and its result is discarded.
        """
        for i, (spec, value) in enumerate(zip(op.manifest.inputs, values)):
            problem = mismatch(spec, value, f"input {i}")
            if problem:
                return None, problem, None
        try:
            output = self.executor.call(op, values, config, timeout)
        except ExecutorUnavailableError:
            raise
        except Exception as exc:  # an operation's failure is data: it is recorded, not raised
            return None, f"{type(exc).__name__}: {exc}", type(exc).__name__
        problem = mismatch(op.manifest.output, output, "output")
        if problem:
            return None, problem, None
        if not checked:
            return output, None, None
        problem = _encodable(output)
        return (output, None, None) if problem is None else (None, problem, None)


def _go_on(_run: CID) -> str | None:
    """The default of :attr:`Engine.stopping`: no run is asked to stop."""
    return None


def _executed_remotely(*_inputs: Any, **_config: str) -> Any:
    """The function of a remote operation known only from the store: never called here."""
    raise RuntimeError("a remote operation is performed by external executors, not by this node")


def _encodable(value: Any) -> str | None:
    try:
        check_value(value, "output")
    except CatenaryError as exc:
        return str(exc)
    return None
