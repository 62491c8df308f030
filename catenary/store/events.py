"""The event tables both SQL stores share (issue 17): emitted events, triggers and firings.

A firing row per (trigger, event) is unique: :meth:`EventTables.claim_firing` inserts it in
the transaction that creates the triggered run, so a pair fires once whichever node or
restart gets there first; the loser's transaction writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from catenary.cid import CID
from catenary.errors import AlreadyExistsError
from catenary.model import Run
from catenary.model.emitted import EmittedEvent, Firing, SignedEvent, TriggerRow
from catenary.store.filtering import equal_clauses

_EVENT = "position, emitter, key, data, time, nonce, signature, received_at"
_EVENT_E = ", ".join(f"e.{c.strip()}" for c in _EVENT.split(","))
_FIRING = "trigger, event, status, run, reason, at"


class EventTables:
    """Mixed into :class:`catenary.store.sql.SQLStore`, which provides these four."""

    def _read(self, query: str, params: Iterable[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _sql(self, query: str) -> str:
        raise NotImplementedError

    # emitted events ---------------------------------------------------------------------------
    def put_emitted_event(self, signed: SignedEvent, value: tuple[CID, bytes], now: int) -> SignedEvent:
        """Store an emitted event and its data value in one transaction (so an acknowledged event
        is whole); an event already here is left as it was and returned as stored."""
        e = signed.event
        with self._write() as conn:
            conn.execute(
                self._sql("INSERT INTO blocks VALUES (?, ?) ON CONFLICT DO NOTHING"),
                (value[0].cid_bytes, value[1]),
            )
            conn.execute(
                self._sql(
                    "INSERT INTO emitted_events (id, emitter, key, data, time, nonce, signature, "
                    "received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                (e.id.cid_bytes, e.emitter, e.key, e.data.cid_bytes, e.time, e.nonce, signed.signature, now),
            )
            row = conn.execute(
                self._sql(f"SELECT {_EVENT} FROM emitted_events WHERE id = ?"), (e.id.cid_bytes,)
            ).fetchone()
        return _signed_event(row)

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
    ) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                self._sql("INSERT INTO trigger_firings VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"),
                (trigger, event.cid_bytes, status, run.id.cid_bytes if run else None, reason, now),
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
        self, trigger: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[Firing]:
        where, params = equal_clauses("?", {"trigger": trigger, "status": status})
        rows = self._read(
            self._sql(
                f"SELECT {_FIRING} FROM trigger_firings WHERE {' AND '.join(['1 = 1', *where])} "
                "ORDER BY at, trigger LIMIT ?"
            ),
            (*params, limit),
        )
        return [_firing(r) for r in rows]

    def firing_for_run(self, run_id: CID) -> Firing | None:
        rows = self._read(
            self._sql(f"SELECT {_FIRING} FROM trigger_firings WHERE run = ?"), (run_id.cid_bytes,)
        )
        return _firing(rows[0]) if rows else None


def _signed_event(row: Sequence[Any]) -> SignedEvent:
    position, emitter, key, data, time, nonce, signature, received_at = row
    event = EmittedEvent(emitter, key, CID(bytes(data)), time, bytes(nonce))
    return SignedEvent(event, bytes(signature), position, received_at)


def _trigger(row: Sequence[Any]) -> TriggerRow:
    return TriggerRow(row[0], json.loads(row[1]), bool(row[2]), row[3], row[4])


def _firing(row: Sequence[Any]) -> Firing:
    return Firing(row[0], CID(bytes(row[1])), row[2], CID(bytes(row[3])) if row[3] else None, row[4], row[5])
