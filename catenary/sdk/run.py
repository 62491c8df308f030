"""Runs: new, next, run to the end, get, list; submit to this node and cancel (the run driver,
catenary.runs)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from catenary.cid import CID
from catenary.engine import Engine, StepResult
from catenary.errors import CatenaryError, InputError
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

    def new(self, workflow_id: CID, nonce: bytes | None = None) -> RunState:
        return self._engine.new(workflow_id, nonce)

    def next(self, run_id: CID, inputs: Sequence[Any] = (), fresh: bool = False) -> StepResult:
        result = self._engine.next(run_id, inputs, fresh=fresh)
        if result.done and self._on_completed is not None:
            try:
                self._on_completed()  # triggers on this workflow's results start now
            except CatenaryError:
                pass  # the run is recorded; the node's next dispatch emits its result
        return result

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
    ) -> RunResult:
        """new() then next() until done, with each segment's external inputs by segment index.

        Every segment's input count is checked before the run is created. ``on_start`` gets the
        new run before its first segment; ``on_step`` each segment's result.
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
        state = self.new(workflow_id)
        if on_start:
            on_start(state)
        for index in range(len(workflow.segments)):
            result = self.next(state.id, inputs.get(index, ()), fresh=fresh)
            if on_step:
                on_step(result)
        return RunResult(self.get(state.id), result)
