"""Segments as a DAG: every segment whose inputs are ready runs at once (issue 15).

A workflow's segments read ``-1`` (external inputs, all given up front here) and earlier
segments. :func:`advance` runs each remaining segment as soon as every segment it reads has
*run* (not necessarily committed), up to ``parallelism`` at once on a thread pool; the
executor decides where the operations themselves run (this process, a process pool, Dask).

The guarantee: the records are those of ``next()`` called once per segment in index order
(SPEC §3) — same hashes, keys, outputs, ``cached_from``. Three rules keep it:

- **Commits in index order.** A finished segment waits until every lower one is committed;
  the run's ``next_segment`` then moves one at a time as the SPEC has it, and a caller
  stepping by hand sees nothing new.
- **Memo hits as a sequential run would have them.** A segment that ran beside a lower one
  cannot have found that one's work in the store; before it commits, each step it performed
  whose key a lower segment of this call produced (with the same output) is recorded as a
  memo hit of it instead (``cached_from``, no attestation), exactly as ``next()`` would have.
  The work may thus be done twice; the records say once.
- **A failure ends the call where a sequential run would.** Segments after a failed one are
  not committed (their work is discarded), the failed one is, and its error is raised.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from catenary.cid import CID
from catenary.errors import BadInputError, RunStateError
from catenary.model import RunStatus, Status
from catenary.model.results import StepResult
from catenary.model.workflow import EXTERNAL

if TYPE_CHECKING:
    from catenary.engine.policy import RunOptions
    from catenary.engine.runtime import Engine, _SegmentRun, _Slot


def advance(
    engine: Engine,
    run_id: CID,
    inputs: Mapping[int, Sequence[Any]],
    parallelism: int,
    fresh: bool = False,
    on_step: Callable[[StepResult], None] | None = None,
    options: RunOptions | None = None,
) -> StepResult:
    """Run the run's remaining segments concurrently; commit them in index order. ``inputs``:
    each segment's ``-1`` values by index (all checked before anything runs). Returns the
    last segment's result; raises the first failure in index order."""
    from catenary.engine.runtime import _Slot

    if parallelism < 1:
        raise BadInputError(f"parallelism must be at least 1, got {parallelism}")
    state = engine.run_state(run_id)
    if state.status != RunStatus.RUNNING:
        raise RunStateError(f"run {run_id} is {state.status}; start a new run")
    workflow = engine.workflow(state.workflow)
    segments = workflow.segments
    for index in range(state.next_segment, len(segments)):  # all refused before any runs
        engine.check_inputs(workflow, index, inputs.get(index, ()))
    ready: dict[int, _Slot] = {
        i: _Slot(o.output, o.producer, store=engine.store) for i, o in state.outputs.items()
    }
    produced: dict[CID, tuple[CID, CID]] = {}  # key -> (output, origin), committed in this call
    finished: dict[int, _SegmentRun] = {}
    running: dict[Future[_SegmentRun], int] = {}
    launched: set[int] = set()
    committing = state.next_segment
    total = state.total_time
    result: StepResult | None = None

    def perform(index: int, sources: dict[int, _Slot]) -> _SegmentRun:
        seg = engine._prepare(state, index, inputs.get(index, ()), fresh, None, sources, 0.0, options)
        return engine._perform(seg)

    with ThreadPoolExecutor(parallelism, thread_name_prefix="catenary-segment") as pool:
        try:
            while committing < len(segments):
                for index in range(committing, len(segments)):
                    if len(running) >= parallelism:
                        break
                    wanted = [s for s in segments[index].inputs if s != EXTERNAL]
                    if index not in launched and all(s in ready for s in wanted):
                        launched.add(index)
                        running[pool.submit(perform, index, dict(ready))] = index
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    index = running.pop(future)
                    seg = finished[index] = future.result()  # ExecutorUnavailableError: stop
                    if seg.error is None:
                        ready[index] = seg.slots[0]
                while committing in finished:
                    seg = finished.pop(committing)
                    if not fresh:
                        _as_memo_hits(seg, produced)
                    seg.base_total = total
                    result = engine._commit(seg)  # raises the failure of a failed segment
                    _remember(seg, produced)
                    total = result.total_time
                    committing += 1
                    if on_step is not None:
                        on_step(result)
        finally:
            for future in running:  # running threads finish in the background, uncommitted
                future.cancel()
    assert result is not None, "advance() on a run with no segment left"
    return result


def _remember(seg: _SegmentRun, produced: dict[CID, tuple[CID, CID]]) -> None:
    """The completed work of a committed segment, as a sequential run's memo would find it."""
    for record in seg.executions:
        if record.status is Status.COMPLETED and record.output is not None:
            produced.setdefault(record.key, (record.output, record.cached_from or record.hash))


def _as_memo_hits(seg: _SegmentRun, produced: dict[CID, tuple[CID, CID]]) -> None:
    """Record as memo hits the steps this segment performed whose key a lower segment of this
    call produced with the same output: what ``next()`` after that segment would have found."""
    for position, record in enumerate(seg.executions):
        hit = produced.get(record.key)
        if hit is None or record.cached_from is not None or record.hash in seg.recorded:
            continue
        if record.status is not Status.COMPLETED or record.output != hit[0]:
            continue  # an operation that gave another output: the work stands as done
        seg.executions[position] = dataclasses.replace(record, cached_from=hit[1])
        seg.attestations = [a for a in seg.attestations if a.execution != record.hash]
        seg.attempts = [a for a in seg.attempts if a.execution != record.hash]
