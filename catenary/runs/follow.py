"""Follow a run that a node drives: a :class:`StepResult` per segment as it is recorded, until
the run ends. Works over any :class:`~catenary.model.node.NodeLike` (a local node or a gRPC
client) by reading the run: a follower needs no stream of its own and may come and go
(``catenary run --detach``, then ``catenary runs follow RUN``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from catenary.cid import CID
from catenary.errors import ExecutionFailedError, RunCancelledError
from catenary.model import RunStatus, Status
from catenary.model.filter import ExecutionFilter
from catenary.model.node import NodeLike
from catenary.model.results import RunResult, RunState, StepResult

# Seconds between two reads of the run while it goes.
POLL = 0.2


def follow(
    node: NodeLike,
    run_id: CID,
    on_step: Callable[[StepResult], None] | None = None,
    stop: threading.Event | None = None,
    poll: float = POLL,
    since: int | None = None,
) -> RunState:
    """Report each segment recorded from segment ``since`` (default: from now) to
    ``on_step``, and return the run once it is no longer running (or ``stop`` is set)."""
    stop = stop or threading.Event()
    state = node.runs.get(run_id)
    seen = state.next_segment if since is None else since
    while True:
        for index in range(seen, state.next_segment):
            out = state.outputs.get(index)
            if out is not None and on_step is not None:
                done = state.status == RunStatus.COMPLETED and index == state.next_segment - 1
                result = node.values.get(out.output) if done else None
                on_step(
                    StepResult(run_id, index, done, result, out.segment_time, state.total_time, out.producer)
                )
        seen = state.next_segment
        if state.status != RunStatus.RUNNING or stop.wait(poll):
            return state
        state = node.runs.get(run_id)


def outcome(node: NodeLike, state: RunState) -> RunResult:
    """The result of a followed run that ended: RunResult when it completed; raises
    ExecutionFailedError (with the failed execution) or RunCancelledError otherwise."""
    if state.status == RunStatus.FAILED:
        failed = node.executions.list(ExecutionFilter(run=state.id, statuses=(Status.FAILED,)), 1).executions
        raise ExecutionFailedError(state.error or "the run failed", failed[0] if failed else None)
    if state.status == RunStatus.CANCELLED:
        raise RunCancelledError(f"run {state.id} is cancelled: {state.error}")
    last = state.outputs[state.next_segment - 1]
    result = StepResult(
        state.id,
        last.segment,
        state.status == RunStatus.COMPLETED,
        node.values.get(last.output),
        last.segment_time,
        state.total_time,
        last.producer,
    )
    return RunResult(state, result)
