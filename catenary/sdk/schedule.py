"""Schedules manager: ``node.schedules`` adds, lists and removes schedules, and fires their due
ticks (docs/events.md). :class:`Scheduler` is the thread ``catenary serve`` runs.

A tick's event is emitted and signed by this node, its data ``{schedule, tick, time, data}``.
It is stored with the (schedule, tick) row and the schedule's new last tick in one transaction
(:meth:`catenary.store.base.Store.fire_tick`): a crash never fires a tick twice, and of several
nodes on one PostgreSQL only one fires each tick.
"""

from __future__ import annotations

import builtins
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from catenary.cid import decode, encode
from catenary.errors import NotFoundError, ValueTooLargeError
from catenary.events import MAX_DATA_SIZE, new_event, sign
from catenary.events.schedule import Schedule, tick_data
from catenary.model.emitted import ScheduleRow, SignedEvent
from catenary.sdk.value import ValueManager
from catenary.store import Store
from catenary.trust.identity import Identity

_log = logging.getLogger(__name__)


class ScheduleManager:
    def __init__(
        self,
        store: Store,
        values: ValueManager,
        identity: Identity,
        on_stored: Callable[[], object] | None = None,
    ) -> None:
        self._store = store
        self._values = values
        self._identity = identity  # a tick's emitter
        self._on_stored = on_stored  # the node's trigger dispatch

    def add(
        self,
        name: str,
        cron: str,
        key: str,
        data: Any = None,
        catch_up: str = "once",
        start: int | None = None,
    ) -> ScheduleRow:
        """Check and store a schedule; its ticks after ``start`` (unix s, default now) are due.
        Nothing is stored when a field is refused."""
        schedule = Schedule.parse(name, cron, key, catch_up)
        size = len(self._values.encode(tick_data(name, 0, data))[1])
        if size > MAX_DATA_SIZE:
            raise ValueTooLargeError(
                f"--data: a tick's data would be {size} bytes, over the event data cap of {MAX_DATA_SIZE}"
            )
        now = time.time_ns()
        row = ScheduleRow(
            schedule.name,
            schedule.cron,
            schedule.key,
            encode(data),
            schedule.catch_up,
            now // 1_000_000_000 if start is None else start,
            now,
        )
        return self._store.put_schedule(row)

    def get(self, name: str) -> ScheduleRow:
        row = self._store.get_schedule(name)
        if row is None:
            raise NotFoundError(f"no schedule named {name!r} on this node")
        return row

    def list(self) -> builtins.list[ScheduleRow]:
        return self._store.list_schedules()

    def remove(self, name: str) -> None:
        if not self._store.delete_schedule(name):
            raise NotFoundError(f"no schedule named {name!r} on this node")

    def ticks(self, name: str, limit: int = 100) -> builtins.list[tuple[int, Any]]:
        """(tick, event id) of the ticks the schedule fired, newest first."""
        self.get(name)
        return self._store.list_ticks(name, limit)

    def run_due(self, now: int | None = None) -> builtins.list[SignedEvent]:
        """Fire every schedule's due tick (at most one each) as of ``now`` (unix s); returns the
        events stored. A tick another node fired first is left to it."""
        now = int(time.time()) if now is None else now
        fired = []
        for row in self._store.list_schedules():
            schedule = Schedule(row.name, row.cron, row.key, row.catch_up)
            tick, last = schedule.due(row.last_tick, now)
            if tick is None:
                if last > row.last_tick:
                    self._store.pass_ticks(row.name, last)
                continue
            value = self._values.encode(tick_data(row.name, tick, decode(row.data)))
            signed = sign(self._identity, new_event(self._identity.id, row.key, value[0], time=tick * 10**9))
            stored = self._store.fire_tick(row.name, tick, signed, value, time.time_ns())
            if stored is not None:
                fired.append(stored)
        if fired and self._on_stored is not None:
            self._on_stored()  # after the events are durable, as node.events does
        return fired


class Scheduler:
    """Fires due ticks until stopped: ``catenary serve`` runs one beside its servers."""

    def __init__(self, schedules: ScheduleManager, interval: float = 0.25) -> None:
        self._schedules = schedules
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="catenary-scheduler", daemon=True)

    def start(self) -> Scheduler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        last_problem = ""
        while not self._stop.is_set():
            try:
                self._schedules.run_due()
                last_problem = ""
            except Exception as exc:  # noqa: BLE001 - a store hiccup must not end the schedules
                # Nothing was half-written (one transaction per tick): the tick is due again next
                # pass. Said once per new problem, not four times a second.
                if str(exc) != last_problem:
                    _log.warning("schedules: %s; retrying", exc)
                    last_problem = str(exc)
            self._stop.wait(self._interval)
