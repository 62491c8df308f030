"""Runs: new, next, run to the end, get, list."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from catenary.cid import CID
from catenary.engine import Engine, StepResult
from catenary.errors import CatenaryError, InputError
from catenary.model.queues import check_routes
from catenary.model.results import RunResult
from catenary.store import RunState, Store


class RunManager:
    """Create and step runs."""

    def __init__(
        self, engine: Engine, store: Store, on_completed: Callable[[], object] | None = None
    ) -> None:
        self._engine = engine
        self._store = store
        self._on_completed = on_completed  # the node's trigger dispatch: results as sources

    def new(
        self, workflow_id: CID, nonce: bytes | None = None, *, queues: Mapping[str, str] | None = None
    ) -> RunState:
        """A new run; ``queues`` routes its remote steps (:mod:`catenary.model.queues`)."""
        routes = check_routes(queues)
        state = self._engine.new(workflow_id, nonce)
        self._store.set_run_queues(state.id, routes)
        return state

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
        queues: Mapping[str, str] | None = None,
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
        state = self.new(workflow_id, queues=queues)
        if on_start:
            on_start(state)
        for index in range(len(workflow.segments)):
            result = self.next(state.id, inputs.get(index, ()), fresh=fresh)
            if on_step:
                on_step(result)
        return RunResult(self.get(state.id), result)
