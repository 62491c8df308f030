"""Runs: new, next, run to the end, get, list; submit to this node and cancel (the run driver,
catenary.runs)."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from catenary.cid import CID, decode
from catenary.engine import Engine, StepResult
from catenary.engine.policy import RunOptions
from catenary.errors import CatenaryError, InputError, NotFoundError, RunStateError
from catenary.model import RunStatus
from catenary.model.queues import check_routes
from catenary.model.results import RunResult
from catenary.runs.driver import DEFAULT_RUN_LEASE, RunDriver
from catenary.store import RunState, Store


class RunManager:
    """Create and step runs, or submit them to this node's run driver."""

    def __init__(
        self,
        engine: Engine,
        store: Store,
        on_completed: Callable[[], object] | None = None,
        node_id: str = "",
        lease: float = DEFAULT_RUN_LEASE,
    ) -> None:
        self._engine = engine
        self._store = store
        self._on_completed = on_completed  # the node's trigger dispatch: results as sources
        # Drives submitted runs to the end, holding a lease on each (docs/design.md).
        self.driver = RunDriver(engine, store, node_id or engine.node_id, on_completed, lease)

    def submit(
        self, workflow_id: CID, inputs: Mapping[int, Sequence[Any]] | None = None, fresh: bool = False
    ) -> RunState:
        """Create a run and have this node drive it to the end, holding its lease; returns at
        once. A node that dies leaves the run to another node on the database (or to itself
        on restart): ``catenary serve`` takes over runs whose lease lapsed."""
        self.driver.start()  # renews the leases while this process drives
        return self.driver.submit(workflow_id, inputs, fresh)

    def cancel(self, run_id: CID, reason: str = "", by: str | None = None) -> RunState:
        """End a running run ``cancelled``: at once when nothing drives it, else its driver
        stops at the next step boundary (the state returned is then still ``running``). ``by``:
        who asked (the API's caller), recorded in the run's error; by default this node."""
        why = f"cancelled by {by or self.driver.node_id}" + (f": {reason}" if reason else "")
        self.driver.cancel(run_id, why)
        return self.get(run_id)

    def close(self) -> None:
        self.driver.close()

    def new(
        self, workflow_id: CID, nonce: bytes | None = None, *, queues: Mapping[str, str] | None = None
    ) -> RunState:
        """A new run; ``queues`` routes its remote steps (:mod:`catenary.model.queues`)."""
        routes = check_routes(queues)
        state = self._engine.new(workflow_id, nonce)
        self._store.set_run_queues(state.id, routes)
        return state

    def next(
        self, run_id: CID, inputs: Sequence[Any] = (), fresh: bool = False, options: RunOptions | None = None
    ) -> StepResult:
        result = self._engine.next(run_id, inputs, fresh=fresh, options=options)
        if result.done:
            self._completed()
        return result

    def _completed(self) -> None:
        if self._on_completed is not None:
            try:
                self._on_completed()  # triggers on this workflow's results start now
            except CatenaryError:
                pass  # the run is recorded; the node's next dispatch emits its result

    def get(self, run_id: CID) -> RunState:
        return self._engine.run_state(run_id)

    def list(self, workflow: CID | None = None, limit: int = 100) -> list[RunState]:
        return self._store.list_runs(workflow, limit)

    # NodeLike's signature (model/node.py), which the gRPC client implements too.
    def run(
        self,
        workflow_id: CID,
        inputs: Mapping[int, Sequence[Any]] | None = None,
        fresh: bool = False,
        on_step: Callable[[StepResult], None] | None = None,
        on_start: Callable[[RunState], None] | None = None,
        queues: Mapping[str, str] | None = None,
        parallel: int = 1,
        options: RunOptions | None = None,
    ) -> RunResult:
        """new() then next() until done, with each segment's external inputs by segment index.

        Every segment's input count is checked before the run is created. ``on_start`` gets the
        new run before its first segment; ``on_step`` each segment's result. ``parallel`` > 1
        runs up to that many ready segments at once (Engine.advance: the same records);
        ``options``: retries and timeouts per step (catenary.engine.policy).
        """
        inputs = dict(inputs or {})
        workflow = self._engine.workflow(workflow_id)
        for index in inputs:
            if type(index) is not int or not 0 <= index < len(workflow.segments):
                raise InputError(
                    f"input for segment {index!r}, but the workflow has segments "
                    f"0..{len(workflow.segments) - 1}"
                )
        for index in range(len(workflow.segments)):
            self._engine.check_inputs(workflow, index, inputs.get(index, ()))
        state = self.new(workflow_id, queues=queues)
        if on_start:
            on_start(state)
        return self.resume(state.id, inputs, fresh, on_step, parallel, options)

    def resume(
        self,
        run_id: CID,
        inputs: Mapping[int, Sequence[Any]],
        fresh: bool = False,
        on_step: Callable[[StepResult], None] | None = None,
        parallel: int = 1,
        options: RunOptions | None = None,
    ) -> RunResult:
        """Step a running run to its end from its next segment (``inputs`` by segment index)."""
        if parallel > 1:
            result = self._engine.advance(run_id, inputs, parallel, fresh, on_step, options)
            if result.done:
                self._completed()
            return RunResult(self.get(run_id), result)
        first = self.get(run_id).next_segment
        for index in range(first, len(self._engine.workflow(self.get(run_id).workflow).segments)):
            result = self.next(run_id, inputs.get(index, ()), fresh=fresh, options=options)
            if on_step:
                on_step(result)
        return RunResult(self.get(run_id), result)

    def retry(
        self,
        run_id: CID,
        inputs: Mapping[int, Sequence[Any]] | None = None,
        parallel: int = 1,
        options: RunOptions | None = None,
        on_start: Callable[[RunState], None] | None = None,
        on_step: Callable[[StepResult], None] | None = None,
    ) -> RunResult:
        """Run a failed run's workflow again as a new run, with the external inputs the failed
        run was given (``inputs`` for the segments it never reached): what completed is reused
        from memo, so the work starts where it failed. A failed run stays failed (SPEC §3: it
        is terminal, and its failed execution keeps its hash), so the retry is a new run."""
        failed = self.get(run_id)
        if failed.status != RunStatus.FAILED:
            raise RunStateError(f"run {run_id} is {failed.status}; only a failed run is retried")
        given = dict(self._recorded_inputs(failed))
        workflow = self._engine.workflow(failed.workflow)
        for index, values in (inputs or {}).items():
            if index in given:
                raise InputError(
                    f"input for segment {index}: run {run_id} was given its inputs already, "
                    f"a retry uses those"
                )
            given[index] = list(values)
        missing = [i for i, seg in enumerate(workflow.segments) if seg.external_slots and i not in given]
        if missing:
            raise InputError(
                f"run {run_id} never reached segment(s) {', '.join(map(str, missing))}: give their "
                f"inputs (--input SEG=VALUE)"
            )
        return self.run(
            failed.workflow, given, on_step=on_step, on_start=on_start, parallel=parallel, options=options
        )

    def _recorded_inputs(self, state: RunState) -> dict[int, builtins.list[Any]]:
        """The external inputs of each segment a run recorded an event for."""
        found: dict[int, builtins.list[Any]] = {}
        for event in self._store.run_events(state.id):
            values: builtins.list[Any] = []
            for cid in event.inputs:
                data = self._store.get_block(cid)
                if data is None:
                    raise NotFoundError(f"input {cid} of run {state.id} is missing from the value store")
                values.append(decode(data))
            found[event.segment] = values
        return found
