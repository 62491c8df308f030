"""Triggers manager: ``node.triggers`` creates, lists, enables, disables and deletes triggers,
and fires them (docs/events.md).

Each (trigger, event) pair fires exactly once. :meth:`TriggerManager.dispatch` finds the
pairs with no firing row and, for each, either records why it cannot start (``failed``, with
the reason: a mapping the data does not fit, a type mismatch, a missing workflow) or
``skipped`` (the event does not match the trigger's emitters or where), or creates the run and
claims the firing in one transaction (``started``), then steps the run's segment 0 with the
mapped inputs, its event linking the emitted event (``fired``). A node killed between the two
finds the ``started`` firing at its next dispatch and steps the run then; a pair whose
firing row exists is never fired again, on this node or another on the same database.

A ``continue`` trigger advances a waiting run instead: it looks for the one running run of
the workflow paused before the trigger's segment whose correlation value (read from the event
that started it) equals the event's, claims the firing naming that run (``started``) and
steps the segment with the mapped inputs, the segment's event linking the emitted event. No
such run, or several, is a ``failed`` firing saying so; nothing is stepped.
"""

from __future__ import annotations

import builtins
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from catenary.cid import CID, decode
from catenary.engine import Engine
from catenary.errors import CatenaryError, ManifestError, NotFoundError, RunStateError
from catenary.events.schedule import tick_data
from catenary.events.trigger import MISSING, Trigger, parse_path, select
from catenary.model import Run, RunStatus
from catenary.model.emitted import Firing, SignedEvent, TriggerRow
from catenary.model.types import mismatch
from catenary.sdk.result_sources import ResultSources
from catenary.sdk.value import ValueManager
from catenary.store import Store

if TYPE_CHECKING:
    from catenary.trust.identity import Identity

STARTED, FIRED, FAILED, SKIPPED = "started", "fired", "failed", "skipped"


class TriggerManager:
    def __init__(
        self, store: Store, engine: Engine, values: ValueManager, identity: Identity | None = None
    ) -> None:
        self._store = store
        self._engine = engine
        self._values = values
        self._identity = identity  # the node's: it signs its result events and schedule ticks
        self._sources = ResultSources(store, engine)  # results as sources
        self._dispatching = threading.Lock()  # one dispatch loop per process at a time

    # definitions ------------------------------------------------------------------------------
    def create(self, definition: Any) -> TriggerRow:
        """Check a trigger (its fields, then its mapping against the workflow) and store it,
        enabled; it fires on events stored from now on. Nothing is stored when refused."""
        trigger = Trigger.parse(definition)
        self.check(trigger)
        return self._store.put_trigger(trigger.name, trigger.on, trigger.to_json(), time.time_ns())

    def check(self, trigger: Trigger) -> None:
        try:
            workflow = self._engine.workflow(trigger.workflow)
        except NotFoundError:
            raise ManifestError("$.workflow", f"no workflow {trigger.workflow} on this node") from None
        index = trigger.segment
        if index >= len(workflow.segments):
            raise ManifestError(
                "$.continue.segment",
                f"workflow {workflow.name!r} has {len(workflow.segments)} segment(s), no segment {index}",
            )
        slots = workflow.segments[index].external_slots
        if trigger.continues and slots == 0:
            raise ManifestError(
                "$.continue.segment",
                f"segment {index} of workflow {workflow.name!r} has no -1 slot: no run waits before it",
            )
        if len(trigger.inputs) != slots:
            raise ManifestError(
                "$.inputs",
                f"segment {index} of workflow {workflow.name!r} takes {slots} external input(s) "
                f"(-1 slots), the mapping gives {len(trigger.inputs)}",
            )
        self._check_types(trigger)
        if trigger.source is not None:
            self._sources.check(trigger)

    def _check_types(self, trigger: Trigger) -> None:
        """Refuse a mapping whose values are known before any event (a field ``where`` pins,
        the ticks of this node's schedules on the key) and do not fit the declared types:
        every firing would fail. The rest is checked at firing, when the data is there."""
        segment = trigger.continues.segment if trigger.continues else 0  # the segment it feeds
        try:
            name, declared = self._engine.external_types(self._engine.workflow(trigger.workflow), segment)
        except NotFoundError as exc:
            raise ManifestError("$.workflow", str(exc)) from None
        node_id = self._identity.id if self._identity is not None else None  # ticks' emitter
        ticks = [  # one sample tick's data per schedule whose events the trigger would take
            (row.name, data)
            for row in self._store.list_schedules()
            if row.key == trigger.on and (not trigger.emitters or node_id in trigger.emitters)
            for data in [tick_data(row.name, 0, decode(row.data))]
            if trigger.fits_where(data)
        ]
        for i, spec in enumerate(declared):
            at, path = f"$.inputs[{i}]", trigger.inputs[i]
            pinned = trigger.pinned_input(i)
            if pinned is not None:
                field, value = pinned
                if value is MISSING:
                    raise ManifestError(at, f"where pins {field} to a value with nothing at {path}")
                problem = mismatch(spec, value, f"segment {segment} input {i}")
                if problem:
                    raise ManifestError(at, f"{problem} (declared by {name}; where pins {field})")
                continue
            for schedule, data in ticks:
                value = select(data, parse_path(path, at))
                if value is MISSING:
                    raise ManifestError(at, f"the events of schedule {schedule!r} have nothing at {path}")
                problem = mismatch(spec, value, f"segment {segment} input {i}")
                if problem:
                    raise ManifestError(
                        at, f"{problem} (declared by {name}) in the events of schedule {schedule!r}"
                    )

    def get(self, name: str) -> TriggerRow:
        row = self._store.get_trigger(name)
        if row is None:
            raise NotFoundError(f"no trigger named {name!r} on this node")
        return row

    def list(self) -> list[TriggerRow]:
        return self._store.list_triggers()

    def enable(self, name: str, enabled: bool = True) -> TriggerRow:
        """Enable (or disable) a trigger; enabled, it fires now on the events stored meanwhile."""
        if not self._store.set_trigger_enabled(name, enabled):
            raise NotFoundError(f"no trigger named {name!r} on this node")
        if enabled:
            self.dispatch()
        return self.get(name)

    def delete(self, name: str) -> None:
        if not self._store.delete_trigger(name):
            raise NotFoundError(f"no trigger named {name!r} on this node")

    def history(
        self, name: str | None = None, status: str | None = None, limit: int = 100, event: CID | None = None
    ) -> builtins.list[Firing]:
        return self._store.list_firings(name, status, limit, event)

    def firing_for_run(self, run_id: CID) -> Firing | None:
        """The firing that started a run (None: no trigger started it)."""
        return self._store.firing_for_run(run_id)

    # firing -----------------------------------------------------------------------------------
    def dispatch(self, limit: int = 1000) -> int:
        """Finish started firings, then fire pending pairs; returns how many pairs were handled."""
        with self._dispatching:
            handled = 0
            for firing in self._store.list_firings(status=STARTED, limit=limit):
                self._resume(firing)
                handled += 1
            while handled < limit:
                self._emit_results()
                pending = self._store.pending_firings(min(100, limit - handled))
                if not pending:
                    break
                for name, signed in pending:
                    self._fire(name, signed)
                    handled += 1
            return handled

    def _emit_results(self) -> None:
        """Emit the result event of each execution an enabled trigger's result source chooses
        that completed since the trigger's creation; each once."""
        if self._identity is None:
            return
        triggers = [
            (Trigger.parse(row.definition), row.created_at)
            for row in self._store.list_triggers()
            if row.enabled
        ]
        self._sources.emit(self._identity, triggers)

    def _fire(self, name: str, signed: SignedEvent) -> None:
        event = signed.event
        now = time.time_ns()
        row = self._store.get_trigger(name)
        if row is None:  # deleted meanwhile
            return
        trigger = Trigger.parse(row.definition)
        data = self._values.get(event.data)
        if not trigger.matches(signed, data):
            self._store.claim_firing(name, event.id, SKIPPED, now, reason="emitter or where does not match")
            return
        try:
            inputs = trigger.map_inputs(data)
            self._engine.check_inputs(self._engine.workflow(trigger.workflow), trigger.segment, inputs)
            waiting = self._waiting_run(trigger, data) if trigger.continues else None
        except CatenaryError as exc:
            self._store.claim_firing(name, event.id, FAILED, now, reason=str(exc))
            return
        if waiting is not None:
            if self._store.claim_firing(name, event.id, STARTED, now, continues=waiting):
                self._advance(name, event.id, waiting, inputs, trigger.segment)
            return
        run = Run(trigger.workflow, os.urandom(16))
        if self._store.claim_firing(name, event.id, STARTED, now, run=run):
            self._advance(name, event.id, run.id, inputs)

    def _waiting_run(self, trigger: Trigger, data: Any) -> CID:
        """The one waiting run whose correlation value is the event's; RunStateError otherwise."""
        assert trigger.continues is not None
        value = trigger.continues.value(data)
        found = [
            run_id
            for run_id, started_by in self._store.waiting_runs(trigger.workflow, trigger.segment)
            if trigger.continues.run_value(self._values.get(started_by)) == value
        ]
        where = f"waiting before segment {trigger.segment} with {trigger.continues.run} = {value!r}"
        if not found:
            raise RunStateError(f"no run of workflow {trigger.workflow} is {where}")
        if len(found) > 1:
            runs = ", ".join(str(r) for r in found[:5])
            raise RunStateError(f"{len(found)} runs are {where} ({runs}); none was advanced")
        return found[0]

    def _resume(self, firing: Firing) -> None:
        """A started firing whose run may not have stepped (the node stopped in between)."""
        assert firing.run is not None
        state = self._store.get_run(firing.run)
        row = self._store.get_trigger(firing.trigger)
        trigger = Trigger.parse(row.definition) if row is not None else None
        segment = trigger.segment if trigger is not None else 0
        if (
            trigger is not None
            and state is not None
            and state.status == RunStatus.RUNNING
            and state.next_segment == segment
        ):
            signed = self._store.get_emitted_event(firing.event)
            if signed is not None:
                inputs = trigger.map_inputs(self._values.get(signed.event.data))
                self._advance(firing.trigger, firing.event, firing.run, inputs, segment)
                return
        self._store.finish_firing(firing.trigger, firing.event, FIRED, None, time.time_ns())

    def _advance(
        self, name: str, event: CID, run_id: CID, inputs: builtins.list[Any], segment: int = 0
    ) -> None:
        try:
            if segment:  # a continued run: step it only if it still waits before that segment
                state = self._store.get_run(run_id)
                if state is None or state.status != RunStatus.RUNNING or state.next_segment != segment:
                    raise RunStateError(f"run {run_id} no longer waits before segment {segment}")
            self._engine.next(run_id, inputs, cause=event)
        except RunStateError as exc:
            if segment:  # another event advanced it first: this one fed nothing
                self._store.finish_firing(name, event, FAILED, f"run {run_id}: {exc}", time.time_ns())
                return
            # a started run stepped by another node: the run went on, the firing is done
        except CatenaryError as exc:
            self._store.finish_firing(name, event, FAILED, f"run {run_id}: {exc}", time.time_ns())
            return
        self._store.finish_firing(name, event, FIRED, None, time.time_ns())
