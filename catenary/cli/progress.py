"""What `catenary run` tells a person on stderr while a run goes: its id at once, then a line
per step and per segment as they finish, cached steps marked. stdout is left to the result.

Step lines come from the node's stream of execution changes (``executions.updates``, local or
remote alike), read on a thread, so a slow step's predecessors show before it ends. A segment's
line waits (briefly) until its steps are shown, so the lines come out in order.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from catenary.cid.display import short
from catenary.cli.output import err
from catenary.model import Status

if TYPE_CHECKING:
    from catenary.model.node import NodeLike
    from catenary.model.results import StepResult
    from catenary.model.workflow import Workflow
    from catenary.store import RunState

# How long a segment's line waits for its step lines (a stream lagging behind the run).
_CATCH_UP = 5.0
_ENDED = (Status.COMPLETED, Status.FAILED)


class RunProgress:
    """``on_start`` / ``on_step`` for ``runs.run``; ``live`` adds the step lines."""

    def __init__(self, node: NodeLike, workflow: Workflow, live: bool, say_run: bool = True) -> None:
        self._node = node
        self._say_run = say_run
        self._workflow = workflow
        self._live = live
        self._names: dict[Any, str] = {}
        self._shown: set[tuple[int, int]] = set()
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Changes of this run all come after this seq: the stream starts here.
        self._since = node.executions.latest_seq() if live else 0

    def start(self, state: RunState) -> None:
        if self._say_run:
            err.print(f"run {state.id}")
        if not self._live:
            return
        self._names = {o.version_id: o.manifest.name for o in self._node.operations.list()}
        self._thread = threading.Thread(target=self._follow, args=(state.id,), daemon=True)
        self._thread.start()

    def step(self, result: StepResult) -> None:
        if not self._live:
            return
        steps = len(self._workflow.segments[result.segment].sequence)
        wanted = {(result.segment, s) for s in range(steps)}
        with self._changed:
            self._changed.wait_for(lambda: wanted <= self._shown, timeout=_CATCH_UP)
        err.print(
            f"segment {result.segment} done in {result.segment_time:.2f} ms "
            f"(total {result.total_time:.2f} ms)"
        )

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=_CATCH_UP)

    def _follow(self, run: Any) -> None:
        from catenary.model.filter import ExecutionFilter

        flt = ExecutionFilter(run=run)
        try:
            for e in self._node.executions.updates(flt, self._since, self._stop):
                if e.status not in _ENDED or (e.segment, e.step) in self._shown:
                    continue
                how = "cached" if e.cached_from else "failed" if e.status is Status.FAILED else "done"
                name = self._names.get(e.operation, short(e.operation))
                err.print(f"segment {e.segment} step {e.step} {name} ... {how}")
                with self._changed:
                    self._shown.add((e.segment, e.step))
                    self._changed.notify_all()
        except Exception:  # noqa: BLE001 - progress is a courtesy: the run itself reports errors
            return
