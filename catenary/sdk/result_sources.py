"""Result sources resolved against this node's workflows (docs/events.md, "Results as
sources"): which (workflow, segment, step) each source's executions come from, what type
they produce (checked against a trigger's mapping when it is created), and the scan that
emits each completed one's result event once.

A source is resolved again at every scan, so a workflow stored later under a source's
``name`` is found; workflows are immutable, so what is resolved for one stays right.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from catenary.cid import CID
from catenary.engine import Engine
from catenary.errors import ManifestError, NotFoundError
from catenary.events import sign
from catenary.events.results import ResultSource, result_event
from catenary.events.trigger import Trigger, parse_path
from catenary.model import Execution, OperationManifest, Status, Workflow
from catenary.model.filter import ExecutionFilter
from catenary.model.types import TypeSpec, connects
from catenary.store import Store

if TYPE_CHECKING:
    from catenary.trust.identity import Identity

PAGE = 100  # completed runs or executions read per query
SETTLE_NS = 5 * 10**9  # how far back each scan of completed runs looks again


@dataclass(frozen=True)
class Chosen:
    """One step whose completed executions a source carries, with the operation's name and
    the type it produces."""

    workflow: CID
    segment: int
    step: int
    version: CID
    operation: str
    output: TypeSpec


class ResultSources:
    def __init__(self, store: Store, engine: Engine) -> None:
        self._store = store
        self._engine = engine
        # Per event key: how far this process has emitted (a completion time for final
        # results, an execution seq otherwise). Only a shortcut: result events are
        # deterministic, so a restart that scans again stores nothing twice.
        self._done: dict[str, int] = {}

    # resolving --------------------------------------------------------------------------------
    def steps(self, source: ResultSource) -> list[Chosen]:
        """The steps ``source`` chooses; a ManifestError naming ``$.on...`` when it chooses
        none (an unknown workflow or name, a segment or operation not in it)."""
        if source.workflow is not None:
            try:
                workflows = [self._engine.workflow(source.workflow)]
            except NotFoundError:
                raise ManifestError("$.on.workflow", f"no workflow {source.workflow} on this node") from None
        else:
            workflows = [w for _id, w, _at in self._store.list_workflows() if w.name == source.name]
            if not workflows:
                raise ManifestError("$.on.name", f"no workflow named {source.name!r} on this node")
        found = [step for workflow in workflows for step in self._choose(source, workflow)]
        if found:
            return found
        what = f"workflow {workflows[0].name!r}" if source.workflow else f"any workflow named {source.name!r}"
        if source.operation is None:
            assert source.segment is not None
            raise ManifestError("$.on.segment", f"{what} has no segment {source.segment}")
        where = f" segment {source.segment} of" if source.segment is not None else ""
        raise ManifestError("$.on.operation", f"no step of{where} {what} runs operation {source.operation!r}")

    def _choose(self, source: ResultSource, workflow: Workflow) -> list[Chosen]:
        last = len(workflow.segments) - 1
        found = []
        for index, segment in enumerate(workflow.segments):
            if source.segment is not None and index != source.segment:
                continue
            for number, step in enumerate(segment.sequence):
                manifest = self._manifest(step.version_id)
                is_last = number == len(segment.sequence) - 1
                if source.operation is None:
                    chosen = is_last and (source.segment is not None or index == last)
                else:
                    chosen = source.operation in (manifest.name, str(step.version_id))
                if chosen:
                    _inputs, output = step.types(manifest, f"segments[{index}].sequence[{number}]")
                    found.append(Chosen(workflow.id, index, number, step.version_id, manifest.name, output))
        return found

    def _manifest(self, version: CID) -> OperationManifest:
        try:
            return self._engine.manifest(version)
        except NotFoundError as exc:  # said of the trigger's source, by its JSON path
            raise ManifestError("$.on", str(exc)) from None

    def check(self, trigger: Trigger) -> None:
        """Refuse a trigger on a source that chooses nothing, or whose mapping takes from the
        source's output a value of a type the triggered segment's ``-1`` slot cannot take."""
        assert trigger.source is not None
        steps = self.steps(trigger.source)
        name, declared = self._engine.external_types(self._engine.workflow(trigger.workflow), trigger.segment)
        for i, accepted in enumerate(declared):
            at, given = f"$.inputs[{i}]", trigger.inputs[i]
            path = parse_path(given, at)
            for step in steps:
                what = f"{step.operation} (segment {step.segment})"
                produced = _inside(step.output, path)
                if produced is None:
                    raise ManifestError(at, f"{what} produces {step.output!r}, with nothing at {given}")
                if not connects(produced, accepted):
                    raise ManifestError(
                        at,
                        f"{what} gives {produced!r} at {given}; "
                        f"segment {trigger.segment} input {i} takes {accepted!r} (declared by {name})",
                    )

    # emitting ---------------------------------------------------------------------------------
    def emit(self, identity: Identity, triggers: list[tuple[Trigger, int]]) -> None:
        """Emit the result event of each execution, completed since its trigger's creation
        (unix ns), that an enabled trigger's source chooses; each once per key."""
        since: dict[str, tuple[ResultSource, int]] = {}
        for trigger, created in triggers:
            if trigger.source is not None:
                earliest = min(since.get(trigger.on, (trigger.source, created))[1], created)
                since[trigger.on] = (trigger.source, earliest)
        for key, (source, created) in since.items():
            try:
                steps = self.steps(source)
            except ManifestError:
                continue  # nothing to choose (yet): a name whose workflows are gone
            if source.final:
                for workflow in {s.workflow for s in steps}:
                    self._emit_final(identity, key, workflow, created)
            else:
                self._emit_steps(identity, key, steps, created)

    def _emit_final(self, identity: Identity, key: str, workflow: CID, created: int) -> None:
        # A run stamped earlier may commit later (runs step concurrently): each scan looks
        # again at the last seconds before the newest completion seen; what is already
        # emitted there is read, not written again.
        mark = f"{key} {workflow}"
        newest = max(created, self._done.get(mark, 0))
        after = max(created, newest - SETTLE_NS)
        while True:
            page = self._store.completed_runs(workflow, after, PAGE)
            for updated_at, _run, final_hash in page:
                final = self._store.get_execution(final_hash)
                if final is not None:
                    self._emit_one(identity, key, final)
                newest, after = max(newest, updated_at), updated_at
            if len(page) < PAGE:
                break
        self._done[mark] = newest

    def _emit_steps(self, identity: Identity, key: str, steps: list[Chosen], created: int) -> None:
        chosen = {(s.workflow, s.segment, s.step) for s in steps}
        versions = {s.version for s in steps}
        for workflow in {s.workflow for s in steps}:
            mark = f"{key} {workflow}"
            flt = ExecutionFilter(
                statuses=(Status.COMPLETED,),
                workflow=workflow,
                operation=next(iter(versions)) if len(versions) == 1 else None,
            )
            seq = self._done.get(mark, 0)
            while True:
                page = self._store.executions_since(flt, seq, PAGE)
                for execution in page:
                    seq = execution.seq
                    if (execution.workflow, execution.segment, execution.step) in chosen and (
                        (execution.finished_at or execution.created_at) > created
                    ):
                        self._emit_one(identity, key, execution)
                if len(page) < PAGE:
                    break
            self._done[mark] = seq

    def _emit_one(self, identity: Identity, key: str, execution: Execution) -> None:
        if execution.output is None:
            return
        event = result_event(identity.id, execution, key)
        if self._store.get_emitted_event(event.id) is not None:
            return
        value = self._store.get_block(execution.output)
        if value is not None:
            self._store.put_emitted_event(sign(identity, event), (execution.output, value), time.time_ns())


def _inside(produced: TypeSpec, path: tuple[str | int, ...]) -> TypeSpec | None:
    """The type at ``path`` in a value of type ``produced`` ("any" when it cannot be known
    before the value is; None when no value of that type has anything there)."""
    for step in path:
        if produced in ("any", "map", "list"):
            return "any"
        if not isinstance(produced, dict) or not isinstance(step, str):
            return None
        if step not in produced:
            return "any"  # a map type lists the fields it has at least
        produced = produced[step]
    return produced
