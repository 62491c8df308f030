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
"""

from __future__ import annotations

import builtins
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from catenary.cid import CID
from catenary.engine import Engine
from catenary.errors import CatenaryError, ManifestError, NotFoundError, RunStateError
from catenary.events import sign
from catenary.events.results import result_event, result_workflow
from catenary.events.trigger import Trigger
from catenary.model import Run, RunStatus
from catenary.model.emitted import Firing, SignedEvent, TriggerRow
from catenary.sdk.value import ValueManager
from catenary.store import Store

if TYPE_CHECKING:
    from catenary.trust.identity import Identity

STARTED, FIRED, FAILED, SKIPPED = "started", "fired", "failed", "skipped"
RESULT_PAGE = 100  # completed runs read per query when emitting result events
RESULT_SETTLE_NS = 5 * 10**9  # how far back each scan looks again (see _emit_results)


class TriggerManager:
    def __init__(
        self, store: Store, engine: Engine, values: ValueManager, identity: Identity | None = None
    ) -> None:
        self._store = store
        self._engine = engine
        self._values = values
        self._identity = identity  # the node's: it signs the result events it emits
        # Per workflow, the completion time up to which its runs' results were emitted by this
        # process. Only a shortcut: result events are deterministic, so a restart that scans
        # again from each trigger's creation stores nothing twice.
        self._results_done: dict[CID, int] = {}
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
        slots = workflow.segments[0].external_slots
        if len(trigger.inputs) != slots:
            raise ManifestError(
                "$.inputs",
                f"segment 0 of workflow {workflow.name!r} takes {slots} external input(s) (-1 slots), "
                f"the mapping gives {len(trigger.inputs)}",
            )

    def get(self, name: str) -> TriggerRow:
        row = self._store.get_trigger(name)
        if row is None:
            raise NotFoundError(f"no trigger named {name!r} on this node")
        return row

    def list(self) -> list[TriggerRow]:
        return self._store.list_triggers()

    def enable(self, name: str, enabled: bool = True) -> TriggerRow:
        if not self._store.set_trigger_enabled(name, enabled):
            raise NotFoundError(f"no trigger named {name!r} on this node")
        return self.get(name)

    def delete(self, name: str) -> None:
        if not self._store.delete_trigger(name):
            raise NotFoundError(f"no trigger named {name!r} on this node")

    def history(
        self, name: str | None = None, status: str | None = None, limit: int = 100
    ) -> builtins.list[Firing]:
        return self._store.list_firings(name, status, limit)

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
        """Emit the result event of each run that completed, since the trigger's creation, of a
        workflow an enabled trigger's ``on`` names (``result.<workflow>``); each once."""
        if self._identity is None:
            return
        since: dict[CID, int] = {}
        for row in self._store.list_triggers():
            workflow = result_workflow(Trigger.parse(row.definition).on) if row.enabled else None
            if workflow is not None:
                since[workflow] = min(since.get(workflow, row.created_at), row.created_at)
        for workflow, created in since.items():
            # A run stamped earlier may commit later (runs step concurrently): each scan looks
            # again at the last seconds before the newest completion seen; what is already
            # emitted there is read, not written again.
            newest = max(created, self._results_done.get(workflow, 0))
            after = max(created, newest - RESULT_SETTLE_NS)
            while True:
                page = self._store.completed_runs(workflow, after, RESULT_PAGE)
                for updated_at, _run, final_hash in page:
                    self._emit_result(final_hash)
                    newest, after = max(newest, updated_at), updated_at
                if len(page) < RESULT_PAGE:
                    break
            self._results_done[workflow] = newest

    def _emit_result(self, final_hash: CID) -> None:
        assert self._identity is not None
        final = self._store.get_execution(final_hash)
        if final is None or final.output is None:
            return
        event = result_event(self._identity.id, final)
        if self._store.get_emitted_event(event.id) is not None:
            return
        value = self._store.get_block(final.output)
        if value is not None:
            self._store.put_emitted_event(sign(self._identity, event), (final.output, value), time.time_ns())

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
            self._engine.check_inputs(self._engine.workflow(trigger.workflow), 0, inputs)
        except CatenaryError as exc:
            self._store.claim_firing(name, event.id, FAILED, now, reason=str(exc))
            return
        run = Run(trigger.workflow, os.urandom(16))
        if self._store.claim_firing(name, event.id, STARTED, now, run=run):
            self._advance(name, event.id, run.id, inputs)

    def _resume(self, firing: Firing) -> None:
        """A started firing whose run may not have stepped (the node stopped in between)."""
        assert firing.run is not None
        state = self._store.get_run(firing.run)
        if state is not None and state.status == RunStatus.RUNNING and state.next_segment == 0:
            signed = self._store.get_emitted_event(firing.event)
            row = self._store.get_trigger(firing.trigger)
            if signed is not None and row is not None:
                inputs = Trigger.parse(row.definition).map_inputs(self._values.get(signed.event.data))
                self._advance(firing.trigger, firing.event, firing.run, inputs)
                return
        self._store.finish_firing(firing.trigger, firing.event, FIRED, None, time.time_ns())

    def _advance(self, name: str, event: CID, run_id: CID, inputs: builtins.list[Any]) -> None:
        try:
            self._engine.next(run_id, inputs, cause=event)
        except RunStateError:
            pass  # another node stepped it: the run went on, the firing is done
        except CatenaryError as exc:
            self._store.finish_firing(name, event, FAILED, f"run {run_id}: {exc}", time.time_ns())
            return
        self._store.finish_firing(name, event, FIRED, None, time.time_ns())
