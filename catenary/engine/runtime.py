"""The runtime: ``new()`` creates a run, ``next()`` executes its next segment (SPEC §3)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Sequence

from catenary.cid import CID, block, check_value, cid_of, decode
from catenary.errors import (
    CatenaryError, ExecutionFailedError, InputError, NotFoundError, RunStateError,
)
from catenary.model import Event, Execution, Run, Status, Workflow, hash_data, key_data
from catenary.model.types import mismatch
from catenary.model.workflow import EXTERNAL
from catenary.operations import Operation, Registry
from catenary.store import RunState, SegmentOutput, StepCommit, Store

DEFAULT_MAX_VALUE_SIZE = 64 * 1024 * 1024


@dataclass(frozen=True)
class StepResult:
    """What ``next()`` returns. ``result`` is set only when ``done``; times are milliseconds."""

    run: CID
    segment: int
    done: bool
    result: Any
    segment_time: float
    total_time: float
    final: CID  # hash of the segment's last execution


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


class Engine:
    """Steps runs, records every execution, memoizes by key."""

    def __init__(self, store: Store, registry: Registry, node_id: str,
                 max_value_size: int = DEFAULT_MAX_VALUE_SIZE) -> None:
        self.store = store
        self.registry = registry
        self.node_id = node_id
        self.max_value_size = max_value_size
        self._workflows: dict[CID, Workflow] = {}

    def workflow(self, workflow_id: CID) -> Workflow:
        workflow = self._workflows.get(workflow_id)
        if workflow is None:
            workflow = self.store.get_workflow(workflow_id)
            if workflow is None:
                raise NotFoundError(f"unknown workflow {workflow_id}")
            self._workflows[workflow_id] = workflow
        return workflow

    def new(self, workflow_id: CID) -> RunState:
        """Create a run of a stored workflow."""
        self.workflow(workflow_id)
        run = Run(workflow_id, os.urandom(16))
        self.store.create_run(run, time.time_ns())
        state = self.store.get_run(run.id)
        assert state is not None
        return state

    def run_state(self, run_id: CID) -> RunState:
        state = self.store.get_run(run_id)
        if state is None:
            raise NotFoundError(f"unknown run {run_id}")
        return state

    def check_inputs(self, workflow: Workflow, segment: int, inputs: Sequence[Any]) -> None:
        """Refuse external inputs of the wrong count, type or size for a segment."""
        seg = workflow.segments[segment]
        if len(inputs) != seg.external_slots:
            raise InputError(f"segment {segment} takes {seg.external_slots} external input(s), "
                             f"got {len(inputs)}")
        first = self.registry.get(seg.sequence[0].version_id)
        slots = [i for i, source in enumerate(seg.inputs) if source == EXTERNAL]
        for number, (slot, value) in enumerate(zip(slots, inputs)):
            where = f"segment {segment} input {number}"
            try:
                check_value(value, where)
            except CatenaryError as exc:
                raise InputError(str(exc)) from None
            if first is not None:
                problem = mismatch(first.manifest.inputs[slot], value, where)
                if problem:
                    raise InputError(f"{problem} (declared by {first.name})")

    def next(self, run_id: CID, inputs: Sequence[Any] = (), fresh: bool = False) -> StepResult:
        """Execute the run's next segment with the values for its ``-1`` slots."""
        state = self.run_state(run_id)
        if state.status != "running":
            reason = f": {state.error}" if state.error else ""
            raise RunStateError(f"run {run_id} is {state.status}{reason}; start a new run")
        workflow = self.workflow(state.workflow)
        index = state.next_segment
        segment = workflow.segments[index]
        operations = [self._operation(step.version_id) for step in segment.sequence]
        self.check_inputs(workflow, index, inputs)

        started = time.perf_counter()
        now = time.time_ns()
        blocks: list[tuple[CID, bytes]] = []
        events: list[Event] = []
        external = []
        for number, value in enumerate(inputs):
            cid, data = block(value)
            if len(data) > self.max_value_size:
                raise InputError(f"segment {index} input {number} is {len(data)} bytes, over the "
                                 f"value size cap of {self.max_value_size} bytes")
            blocks.append((cid, data))
            external.append((cid, value))
        event_hash = None
        if external:
            event = Event(run_id, index, tuple(c for c, _ in external))
            events.append(event)
            event_hash = event.hash
        slots: list[_Slot] = []
        feed = iter(external)
        for source in segment.inputs:
            if source == EXTERNAL:
                cid, value = next(feed)
                slots.append(_Slot(cid, event_hash, value))
            else:
                out = state.outputs[source]
                slots.append(_Slot(out.output, out.producer, store=self.store))

        executions: list[Execution] = []
        error: str | None = None
        pending: dict[CID, Execution] = {}
        for step_index, (step, op) in enumerate(zip(segment.sequence, operations)):
            input_cids = [s.cid for s in slots]
            key = cid_of(key_data(step.version_id, step.config, input_cids))
            exe_hash = cid_of(hash_data(state.workflow, index, step_index, step.version_id, step.config,
                                        [s.parent for s in slots], input_cids))
            common = dict(hash=exe_hash, key=key, workflow=state.workflow, run=run_id, segment=index,
                          step=step_index, operation=step.version_id, config=step.config,
                          parents=tuple(s.parent for s in slots), inputs=tuple(input_cids),
                          executor=self.node_id, seq=0)
            created = time.time_ns()
            hit = None if fresh else (pending.get(key) or self.store.find_completed(key))
            if hit is not None:
                done_at = time.time_ns()
                record = Execution(**common, status=Status.COMPLETED, output=hit.output, error=None,
                                   cached_from=hit.cached_from or hit.hash, created_at=created,
                                   started_at=created, finished_at=done_at)
                slots = [_Slot(hit.output, exe_hash, store=self.store)]
            else:
                output, failure = self._invoke(op, [s.value for s in slots], step.config)
                done_at = time.time_ns()
                if failure is None:
                    cid, data = block(output)
                    if len(data) > self.max_value_size:
                        failure = (f"{op.name} output is {len(data)} bytes, over the value size cap "
                                   f"of {self.max_value_size} bytes")
                if failure is not None:
                    error = f"segment {index} step {step_index} ({op.name}): {failure}"
                    executions.append(Execution(**common, status=Status.FAILED, output=None, error=error,
                                                cached_from=None, created_at=created, started_at=created,
                                                finished_at=done_at))
                    break
                blocks.append((cid, data))
                record = Execution(**common, status=Status.COMPLETED, output=cid, error=None,
                                   cached_from=None, created_at=created, started_at=created,
                                   finished_at=done_at)
                slots = [_Slot(cid, exe_hash, output)]
            executions.append(record)
            pending.setdefault(key, record)

        segment_time = (time.perf_counter() - started) * 1000
        total_time = state.total_time + segment_time
        last = executions[-1]
        done = error is None and index == len(workflow.segments) - 1
        commit = StepCommit(
            run=run_id, segment=index, events=events, executions=executions, blocks=blocks,
            output=None if error else SegmentOutput(index, last.output, last.hash, segment_time),
            run_status="failed" if error else ("completed" if done else "running"),
            total_time=total_time, error=error, now=time.time_ns())
        if not self.store.commit_step(commit):
            raise RunStateError(f"run {run_id} was stepped by another caller meanwhile; nothing was "
                                f"recorded for this call (get the run to see where it stands)")
        if error:
            raise ExecutionFailedError(error, last)
        return StepResult(run_id, index, done, slots[0].value if done else None, segment_time,
                          total_time, last.hash)

    def _operation(self, version_id: CID) -> Operation:
        op = self.registry.get(version_id)
        if op is None:
            raise NotFoundError(f"operation version {version_id} has no implementation on this node "
                                f"(load the module that defines it with --ops)")
        return op

    @staticmethod
    def _invoke(op: Operation, values: list[Any], config: dict[str, str]) -> tuple[Any, str | None]:
        """Run the function; return (output, None) or (None, error text). Never raises for op errors."""
        for i, (spec, value) in enumerate(zip(op.manifest.inputs, values)):
            problem = mismatch(spec, value, f"input {i}")
            if problem:
                return None, problem
        try:
            output = op.func(*values, **config)
        except Exception as exc:  # an operation's failure is data: it is recorded, not raised
            return None, f"{type(exc).__name__}: {exc}"
        problem = mismatch(op.manifest.output, output, "output")
        if problem:
            return None, problem
        problem = _encodable(output)
        return (output, None) if problem is None else (None, problem)


def _encodable(value: Any) -> str | None:
    try:
        check_value(value, "output")
    except CatenaryError as exc:
        return str(exc)
    return None
