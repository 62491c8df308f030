"""The event tables both SQL stores share (issue 17): emitted events, triggers and firings.

A firing row per (trigger, event) is unique: :meth:`EventTables.claim_firing` inserts it in
the transaction that creates the triggered run, so a pair fires once whichever node or
restart gets there first; the loser's transaction writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from catenary.cid import CID
from catenary.errors import AlreadyExistsError
from catenary.model import Run
from catenary.model.emitted import EmittedEvent, Firing, ScheduleRow, SignedEvent, TriggerRow
from catenary.store.filtering import equal_clauses
from catenary.store.tables import SQLTables

_EVENT = "position, emitter, key, data, time, nonce, signature, received_at, source"
_EVENT_E = ", ".join(f"e.{c.strip()}" for c in _EVENT.split(","))
_FIRING = "trigger, event, status, run, reason, at"
_SCHEDULE = "name, cron, key, data, catch_up, last_tick, created_at"


class EventTables(SQLTables):
    """Emitted events, triggers and their firings, mixed into :class:`catenary.store.sql.SQLStore`."""

    # Taken before an event's insert, held to commit, where writers can run concurrently
    # (PostgreSQL): positions then commit in order, so a reader past position p never sees
    # an earlier one appear later (Event.Updates resumes by position, as executions by seq).
    EVENT_ORDER_LOCK = ""

    # emitted events ---------------------------------------------------------------------------
    def put_emitted_event(self, signed: SignedEvent, value: tuple[CID, bytes], now: int) -> SignedEvent:
        """Store an emitted event and its data value in one transaction (so an acknowledged event
        is whole); an event already here is left as it was and returned as stored."""
        with self._write() as conn:
            return self._insert_event(conn, signed, value, now)

    def _insert_event(
        self, conn: Any, signed: SignedEvent, value: tuple[CID, bytes], now: int
    ) -> SignedEvent:
        """The event and its value, inside the caller's transaction; the row as stored."""
        e = signed.event
        if self.EVENT_ORDER_LOCK:
            conn.execute(self.EVENT_ORDER_LOCK)
        conn.execute(
            self._sql("INSERT INTO blocks VALUES (?, ?) ON CONFLICT DO NOTHING"),
            (value[0].cid_bytes, value[1]),
        )
        conn.execute(
            self._sql(
                "INSERT INTO emitted_events (id, emitter, key, data, time, nonce, signature, "
                "received_at, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
            ),
            (
                e.id.cid_bytes,
                e.emitter,
                e.key,
                e.data.cid_bytes,
                e.time,
                e.nonce,
                signed.signature,
                now,
                e.source.cid_bytes if e.source is not None else None,
            ),
        )
        row = conn.execute(
            self._sql(f"SELECT {_EVENT} FROM emitted_events WHERE id = ?"), (e.id.cid_bytes,)
        ).fetchone()
        return _signed_event(row)

    def _import_emitted(self, conn: Any, events: Sequence[tuple[SignedEvent, bytes]], now: int) -> int:
        """Emitted events of an imported bundle, with their data, inside its transaction;
        returns how many were new."""
        new = 0
        for signed, data in events:
            known = conn.execute(
                self._sql("SELECT 1 FROM emitted_events WHERE id = ?"), (signed.id.cid_bytes,)
            ).fetchone()
            if known is None:
                self._insert_event(conn, signed, (signed.event.data, data), now)
                new += 1
        return new

    # A point read, shaped like SQLStore.get_execution's: each table has its own query and row.
    def get_emitted_event(self, event_id: CID) -> SignedEvent | None:
        rows = self._read(
            self._sql(f"SELECT {_EVENT} FROM emitted_events WHERE id = ?"), (event_id.cid_bytes,)
        )
        return _signed_event(rows[0]) if rows else None

    def list_emitted_events(
        self, key: str | None = None, emitter: str | None = None, after: int = 0, limit: int = 100
    ) -> list[SignedEvent]:
        """Events after position ``after``, oldest first (``after`` = the last position seen
        resumes a listing with no gap and no repeat)."""
        where, params = equal_clauses("?", {"key": key, "emitter": emitter})
        rows = self._read(
            self._sql(
                f"SELECT {_EVENT} FROM emitted_events WHERE {' AND '.join(['position > ?', *where])} "
                "ORDER BY position LIMIT ?"
            ),
            (after, *params, limit),
        )
        return [_signed_event(r) for r in rows]

    def emitted_events_before(self, before: int | None, limit: int) -> list[SignedEvent]:
        """Newest first: the events at positions below ``before`` (None: from the latest)."""
        rows = self._read(
            self._sql(
                f"SELECT {_EVENT} FROM emitted_events WHERE position < ? ORDER BY position DESC LIMIT ?"
            ),
            (2**63 - 1 if before is None else before, limit),
        )
        return [_signed_event(r) for r in rows]

    def last_event_position(self) -> int:
        top: int = self._read("SELECT coalesce(max(position), 0) FROM emitted_events")[0][0]
        return top

    # triggers ---------------------------------------------------------------------------------
    def put_trigger(self, name: str, on_key: str, definition: dict[str, Any], now: int) -> TriggerRow:
        """Store a new, enabled trigger; it fires on events stored from now on."""
        with self._write() as conn:
            top = conn.execute("SELECT coalesce(max(position), 0) FROM emitted_events").fetchone()[0]
            cur = conn.execute(
                self._sql("INSERT INTO triggers VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT DO NOTHING"),
                (name, on_key, json.dumps(definition, sort_keys=True), top, now),
            )
            if cur.rowcount == 0:
                raise AlreadyExistsError(
                    f"a trigger named {name!r} exists; delete it first or pick another name"
                )
        return TriggerRow(name, definition, True, top, now)

    def get_trigger(self, name: str) -> TriggerRow | None:
        rows = self._read(
            self._sql(
                "SELECT name, definition, enabled, from_position, created_at FROM triggers WHERE name = ?"
            ),
            (name,),
        )
        return _trigger(rows[0]) if rows else None

    def list_triggers(self) -> list[TriggerRow]:
        rows = self._read(
            "SELECT name, definition, enabled, from_position, created_at FROM triggers ORDER BY name"
        )
        return [_trigger(r) for r in rows]

    def set_trigger_enabled(self, name: str, enabled: bool) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                self._sql("UPDATE triggers SET enabled = ? WHERE name = ?"), (1 if enabled else 0, name)
            )
            changed: bool = cur.rowcount > 0
            return changed

    def delete_trigger(self, name: str) -> bool:
        """Delete a trigger; its firings stay, as the history of what it did."""
        with self._write() as conn:
            deleted: bool = (
                conn.execute(self._sql("DELETE FROM triggers WHERE name = ?"), (name,)).rowcount > 0
            )
            return deleted

    # firings ----------------------------------------------------------------------------------
    def pending_firings(self, limit: int = 100) -> list[tuple[str, SignedEvent]]:
        """(trigger, event) pairs of enabled triggers with no firing row yet, oldest event first."""
        rows = self._read(
            self._sql(
                f"SELECT t.name, {_EVENT_E} FROM triggers t JOIN emitted_events e "
                "ON e.key = t.on_key AND e.position > t.from_position WHERE t.enabled = 1 AND NOT EXISTS "
                "(SELECT 1 FROM trigger_firings f WHERE f.trigger = t.name AND f.event = e.id) "
                "ORDER BY e.position, t.name LIMIT ?"
            ),
            (limit,),
        )
        return [(r[0], _signed_event(r[1:])) for r in rows]

    # Store.claim_firing's signature, as an override must; store/base.py documents it.
    def claim_firing(
        self,
        trigger: str,
        event: CID,
        status: str,
        now: int,
        run: Run | None = None,
        reason: str | None = None,
        continues: CID | None = None,
    ) -> bool:
        run_id = run.id if run else continues
        with self._write() as conn:
            cur = conn.execute(
                self._sql("INSERT INTO trigger_firings VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"),
                (trigger, event.cid_bytes, status, run_id.cid_bytes if run_id else None, reason, now),
            )
            if cur.rowcount == 0:
                return False
            if run is not None:
                conn.execute(
                    self._sql("INSERT INTO runs VALUES (?, ?, ?, 'running', 0, 0.0, NULL, ?, ?)"),
                    (run.id.cid_bytes, run.workflow.cid_bytes, run.nonce, now, now),
                )
        return True

    def finish_firing(self, trigger: str, event: CID, status: str, reason: str | None, now: int) -> None:
        with self._write() as conn:
            conn.execute(
                self._sql(
                    "UPDATE trigger_firings SET status = ?, reason = ?, at = ? "
                    "WHERE trigger = ? AND event = ?"
                ),
                (status, reason, now, trigger, event.cid_bytes),
            )

    def list_firings(
        self,
        trigger: str | None = None,
        status: str | None = None,
        limit: int = 100,
        event: CID | None = None,
    ) -> list[Firing]:
        where, params = equal_clauses(
            "?", {"trigger": trigger, "status": status, "event": event.cid_bytes if event else None}
        )
        rows = self._read(
            self._sql(
                f"SELECT {_FIRING} FROM trigger_firings WHERE {' AND '.join(['1 = 1', *where])} "
                "ORDER BY at, trigger LIMIT ?"
            ),
            (*params, limit),
        )
        return [_firing(r) for r in rows]

    def waiting_runs(self, workflow: CID, segment: int) -> list[tuple[CID, CID]]:
        """Running runs of ``workflow`` paused before ``segment`` that a trigger started, each
        with the data of its starting event: the first (by position) of the events whose
        firings name the run, since a run's later firings continue it."""
        rows = self._read(
            self._sql(
                "SELECT r.id, e.data FROM runs r JOIN trigger_firings f ON f.run = r.id "
                "JOIN emitted_events e ON e.id = f.event "
                "WHERE r.workflow = ? AND r.status = 'running' AND r.next_segment = ? "
                "AND e.position = (SELECT min(e2.position) FROM trigger_firings f2 "
                "JOIN emitted_events e2 ON e2.id = f2.event WHERE f2.run = r.id) "
                "ORDER BY r.created_at"
            ),
            (workflow.cid_bytes, segment),
        )
        return [(CID(bytes(r)), CID(bytes(d))) for r, d in rows]

    def firing_for_run(self, run_id: CID) -> Firing | None:
        rows = self._read(
            self._sql(f"SELECT {_FIRING} FROM trigger_firings WHERE run = ?"), (run_id.cid_bytes,)
        )
        return _firing(rows[0]) if rows else None

    # results as sources ----------------------------------------------------------------------
    def completed_runs(self, workflow: CID, after: int, limit: int = 100) -> list[tuple[int, CID, CID]]:
        """Runs of ``workflow`` that completed (their last update) after unix ns ``after``,
        oldest first: (updated_at, run, final execution), the producer of the last segment."""
        rows = self._read(
            self._sql(
                "SELECT r.updated_at, r.id, o.producer FROM runs r JOIN segment_outputs o "
                "ON o.run = r.id AND o.segment = r.next_segment - 1 "
                "WHERE r.workflow = ? AND r.status = 'completed' AND r.updated_at > ? "
                "ORDER BY r.updated_at LIMIT ?"
            ),
            (workflow.cid_bytes, after, limit),
        )
        return [(int(t), CID(bytes(r)), CID(bytes(p))) for t, r, p in rows]

    # schedules --------------------------------------------------------------------------------
    def put_schedule(self, row: ScheduleRow) -> ScheduleRow:
        """Store a new schedule; its ticks after ``row.last_tick`` are due."""
        with self._write() as conn:
            cur = conn.execute(
                self._sql(
                    f"INSERT INTO schedules ({_SCHEDULE}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                (row.name, row.cron, row.key, row.data, row.catch_up, row.last_tick, row.created_at),
            )
            if cur.rowcount == 0:
                raise AlreadyExistsError(
                    f"a schedule named {row.name!r} exists; remove it first or pick another name"
                )
        return row

    def get_schedule(self, name: str) -> ScheduleRow | None:
        rows = self._read(self._sql(f"SELECT {_SCHEDULE} FROM schedules WHERE name = ?"), (name,))
        return _schedule(rows[0]) if rows else None

    def list_schedules(self) -> list[ScheduleRow]:
        return [_schedule(r) for r in self._read(f"SELECT {_SCHEDULE} FROM schedules ORDER BY name")]

    def delete_schedule(self, name: str) -> bool:
        """Delete a schedule; the events its ticks emitted stay."""
        with self._write() as conn:
            deleted: bool = (
                conn.execute(self._sql("DELETE FROM schedules WHERE name = ?"), (name,)).rowcount > 0
            )
            return deleted

    def fire_tick(
        self, name: str, tick: int, signed: SignedEvent, value: tuple[CID, bytes], now: int
    ) -> SignedEvent | None:
        """Store a tick's event, the (schedule, tick) row and the schedule's new last tick in one
        transaction. None, and nothing written, when the tick is not after the last one any more
        or was fired already (by another node on this database, or before a restart)."""
        from catenary.store.sql import Abort

        try:
            with self._write() as conn:
                # The row lock of this UPDATE orders two nodes firing the same schedule; the
                # (schedule, tick) key then lets only the first one's tick in.
                moved = conn.execute(
                    self._sql("UPDATE schedules SET last_tick = ? WHERE name = ? AND last_tick < ?"),
                    (tick, name, tick),
                ).rowcount
                if moved != 1:
                    raise Abort
                added = conn.execute(
                    self._sql("INSERT INTO schedule_ticks VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"),
                    (name, tick, signed.id.cid_bytes, now),
                ).rowcount
                if added != 1:
                    raise Abort
                return self._insert_event(conn, signed, value, now)
        except Abort:
            return None

    def pass_ticks(self, name: str, tick: int) -> bool:
        """Move a schedule's last tick to ``tick`` without firing (the ticks skipped)."""
        with self._write() as conn:
            moved: bool = (
                conn.execute(
                    self._sql("UPDATE schedules SET last_tick = ? WHERE name = ? AND last_tick < ?"),
                    (tick, name, tick),
                ).rowcount
                == 1
            )
            return moved

    def list_ticks(self, name: str, limit: int = 100) -> list[tuple[int, CID]]:
        """The ticks a schedule fired, newest first, with their events."""
        rows = self._read(
            self._sql("SELECT tick, event FROM schedule_ticks WHERE schedule = ? ORDER BY tick DESC LIMIT ?"),
            (name, limit),
        )
        return [(int(t), CID(bytes(e))) for t, e in rows]


def _signed_event(row: Sequence[Any]) -> SignedEvent:
    position, emitter, key, data, time, nonce, signature, received_at, source = row
    event = EmittedEvent(
        emitter, key, CID(bytes(data)), time, bytes(nonce), CID(bytes(source)) if source else None
    )
    return SignedEvent(event, bytes(signature), position, received_at)


def _trigger(row: Sequence[Any]) -> TriggerRow:
    return TriggerRow(row[0], json.loads(row[1]), bool(row[2]), row[3], row[4])


def _firing(row: Sequence[Any]) -> Firing:
    return Firing(row[0], CID(bytes(row[1])), row[2], CID(bytes(row[3])) if row[3] else None, row[4], row[5])


def _schedule(row: Sequence[Any]) -> ScheduleRow:
    name, cron, key, data, catch_up, last_tick, created_at = row
    return ScheduleRow(name, cron, key, bytes(data), catch_up, int(last_tick), int(created_at))
