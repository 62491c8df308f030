"""What the SQLite and PostgreSQL stores share: the reads, the small writes and the migration
bookkeeping, over the one schema both keep (docs/design.md, "The store"), with the row mapping
of :mod:`catenary.store.rows` and the lineage statement of :mod:`catenary.store.lineage`.

A backend says how it talks to its driver: the placeholder (``?`` or ``%s``), the lineage
statements in its named placeholders (``:name`` or ``%(name)s``), how to read
(:meth:`SQLStore._read`) and how to write in one transaction (:meth:`SQLStore._write`).
Everything whose SQL or locking differs between the two (step commits, claims, imports,
change notifications) stays in the backend.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from catenary.cid import CID, decode, encode
from catenary.errors import StoreError
from catenary.model import Event, Execution, OperationManifest, OperationVersion, Run, Status, Workflow
from catenary.model.filter import ExecutionFilter
from catenary.model.queues import DEFAULT_QUEUE, route
from catenary.model.results import Attempt
from catenary.store.base import (
    AttestationRow,
    Dispute,
    HistoryEntry,
    Lineage,
    MemoCandidate,
    Quarantined,
    RunState,
    SegmentOutput,
    Store,
)
from catenary.store.events import EventTables
from catenary.store.filtering import where_clauses
from catenary.store.leases import RunLeaseTables
from catenary.store.lineage import DIRECTIONS, lineage_from_rows
from catenary.store.peers import PeerTables
from catenary.store.rows import (
    COLUMNS,
    RUN_COLUMNS,
    event_from_block,
    operation_from_row,
    row_to_execution,
    run_from_row,
    trusted_row_to_execution,
)

# meta keys: "memo_floor" (every operation) and "memo_floor:<version id>" hold the last
# execution id that `catenary cache clear` made ineligible for reuse.
MEMO_FLOOR = "memo_floor"

# The condition that keeps quarantined executions (doctor --repair) out of a read of
# ``executions``: every read that could serve one as a result applies it.
E_COLUMNS = ", ".join(f"e.{c}" for c in COLUMNS.split(", "))  # COLUMNS of `executions e`
NOT_QUARANTINED = "NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.execution = executions.hash)"

# What a shortened CID may name, and where those ids are (match_ids).
ID_COLUMNS = {
    "execution": ("executions", "hash"),
    "run": ("runs", "id"),
    "workflow": ("workflows", "id"),
    "value": ("blocks", "cid"),
    "operation version": ("operations", "version_id"),
}


class Abort(Exception):
    """Roll back the write transaction: a condition checked inside it did not hold."""


# migrations -------------------------------------------------------------------------------------
def apply_migrations(
    migrations: Sequence[str], version: int, where: str, apply: Callable[[int, str], None]
) -> None:
    """Apply the migrations after ``version`` in order, ``apply(number, sql)`` each (numbered
    from 1), inside the caller's transaction. ``where`` names the database in the refusal of
    a schema newer than this catenary."""
    if version > len(migrations):
        raise StoreError(
            f"{where} has schema version {version}, newer than this catenary "
            f"understands ({len(migrations)}); upgrade catenary"
        )
    for number in range(version, len(migrations)):
        apply(number + 1, migrations[number])


# the shared store -------------------------------------------------------------------------------
class SQLStore(RunLeaseTables, EventTables, PeerTables, Store):
    """The reads and small writes both SQL stores make the same way; see the module docstring."""

    MARK: str  # the driver's positional placeholder
    LINEAGE_SQL: dict[tuple[str, bool], str]  # lineage_statements() in the driver's named style
    BYTE_ORDER = ""  # what makes ORDER BY on text compare bytes (SQLite's default already does)
    NOW_NS: str  # the database's clock in unix ns, as SQL: leases are set and checked by it

    @abc.abstractmethod
    def _read(self, query: str, params: Iterable[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement."""

    @abc.abstractmethod
    def _write(self) -> AbstractContextManager[Any]:
        """One write transaction (a connection); nothing is kept when the body raises."""

    def _marks(self, n: int) -> str:
        return ", ".join([self.MARK] * n)

    def _sql(self, query: str) -> str:
        """``query`` written with ``?`` placeholders, in this driver's (the shared statements
        hold no other ``?``, nor a ``%`` that psycopg would read as one)."""
        return query.replace("?", self.MARK)

    # values -----------------------------------------------------------------------------------
    def get_block(self, cid: CID) -> bytes | None:
        rows = self._read(self._sql("SELECT data FROM blocks WHERE cid = ?"), (cid.cid_bytes,))
        return rows[0][0] if rows else None

    # operations and workflows -----------------------------------------------------------------
    def put_operation(self, manifest: OperationManifest, version: OperationVersion) -> None:
        with self._write() as conn:
            conn.execute(
                self._sql("INSERT INTO operations VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"),
                (
                    version.id.cid_bytes,
                    manifest.id.cid_bytes,
                    manifest.name,
                    encode(manifest.data()),
                    encode(version.data()),
                ),
            )

    def get_version(self, version_id: CID) -> tuple[OperationManifest, OperationVersion] | None:
        rows = self._read(
            self._sql("SELECT manifest, version FROM operations WHERE version_id = ?"),
            (version_id.cid_bytes,),
        )
        return operation_from_row(rows[0]) if rows else None

    def list_versions(self) -> list[tuple[OperationManifest, OperationVersion]]:
        rows = self._read(
            f"SELECT manifest, version FROM operations ORDER BY name{self.BYTE_ORDER}, version_id"
        )
        return [operation_from_row(r) for r in rows]

    def put_workflow(self, workflow: Workflow, now: int) -> None:
        with self._write() as conn:
            conn.execute(
                self._sql("INSERT INTO workflows VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"),
                (workflow.id.cid_bytes, workflow.name, encode(workflow.data()), now),
            )

    def get_workflow(self, workflow_id: CID) -> Workflow | None:
        rows = self._read(self._sql("SELECT data FROM workflows WHERE id = ?"), (workflow_id.cid_bytes,))
        return Workflow.from_data(decode(rows[0][0])) if rows else None

    def list_workflows(self) -> list[tuple[CID, Workflow, int]]:
        rows = self._read("SELECT id, data, created_at FROM workflows ORDER BY created_at, id")
        return [(CID(r[0]), Workflow.from_data(decode(r[1])), r[2]) for r in rows]

    # runs -------------------------------------------------------------------------------------
    def create_run(self, run: Run, now: int) -> None:
        with self._write() as conn:
            conn.execute(
                self._sql("INSERT INTO runs VALUES (?, ?, ?, 'running', 0, 0.0, NULL, ?, ?)"),
                (run.id.cid_bytes, run.workflow.cid_bytes, run.nonce, now, now),
            )

    def get_run(self, run_id: CID) -> RunState | None:
        # One statement, so the run and its outputs come from one snapshot.
        rows = self._read(
            self._sql(
                f"SELECT {', '.join('r.' + c.strip() for c in RUN_COLUMNS.split(','))}, "
                "o.segment, o.output, o.producer, o.segment_time "
                "FROM runs r LEFT JOIN segment_outputs o ON o.run = r.id WHERE r.id = ?"
            ),
            (run_id.cid_bytes,),
        )
        if not rows:
            return None
        outputs = {r[9]: SegmentOutput(r[9], CID(r[10]), CID(r[11]), r[12]) for r in rows if r[9] is not None}
        return run_from_row(rows[0], outputs)

    def get_run_for_step(self, run_id: CID, segments: Callable[[RunState], Iterable[int]]) -> RunState | None:
        """:meth:`get_run` holding only the outputs of the segments ``segments(run)`` names
        (those the run's next segment reads), so that stepping a run reads a bounded number of
        rows per step instead of every earlier segment's output (quadratic over a long run)."""
        rows = self._read(self._sql(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?"), (run_id.cid_bytes,))
        if not rows:
            return None
        head = run_from_row(rows[0], {})
        wanted = sorted(set(segments(head)))
        if not wanted:
            return head
        outputs = self._read(
            self._sql(
                "SELECT segment, output, producer, segment_time FROM segment_outputs "
                f"WHERE run = ? AND segment IN ({self._marks(len(wanted))})"
            ),
            (run_id.cid_bytes, *wanted),
        )
        return run_from_row(rows[0], {s: SegmentOutput(s, CID(o), CID(p), t) for s, o, p, t in outputs})

    def list_runs(self, workflow: CID | None = None, limit: int = 100) -> list[RunState]:
        if workflow is None:
            rows = self._read(
                self._sql(f"SELECT {RUN_COLUMNS} FROM runs ORDER BY created_at DESC LIMIT ?"), (limit,)
            )
        else:
            rows = self._read(
                self._sql(
                    f"SELECT {RUN_COLUMNS} FROM runs WHERE workflow = ? ORDER BY created_at DESC LIMIT ?"
                ),
                (workflow.cid_bytes, limit),
            )
        return [run_from_row(r, {}) for r in rows]

    def get_event(self, event_hash: CID) -> Event | None:
        rows = self._read(self._sql("SELECT data FROM events WHERE hash = ?"), (event_hash.cid_bytes,))
        return event_from_block(rows[0][0]) if rows else None

    def run_events(self, run_id: CID) -> list[Event]:
        rows = self._read(
            self._sql("SELECT data FROM events WHERE run = ? ORDER BY segment"), (run_id.cid_bytes,)
        )
        return [event_from_block(row[0]) for row in rows]

    # executions -------------------------------------------------------------------------------
    def find_completed(self, key: CID) -> Execution | None:
        rows = self._read(
            self._sql(
                f"SELECT {COLUMNS} FROM executions WHERE key = ? AND status = 'completed' "
                f"AND {NOT_QUARANTINED} LIMIT 1"
            ),
            (key.cid_bytes,),
        )
        return row_to_execution(rows[0]) if rows else None

    def memo_candidates(self, key: CID) -> list[MemoCandidate]:
        # Only executions that did the work (cached_from IS NULL) carry the attestations that
        # decide reuse; a cache hit's origin is one of them. The executions_key index serves it.
        rows = self._read(
            self._sql(
                "SELECT e.hash, e.output, a.signer, e.id, e.operation FROM executions e "
                "LEFT JOIN attestations a ON a.execution = e.hash AND a.role <> 'dissent' "
                "WHERE e.key = ? AND e.status = 'completed' AND e.cached_from IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM disputes d WHERE d.execution = e.hash) "
                "AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.execution = e.hash) "
                "ORDER BY e.id"
            ),
            (key.cid_bytes,),
        )
        # Executions recorded before a clear_memo that covers their operation are not reused.
        # A key range, not LIKE: psycopg would read its % as a placeholder.
        floors = dict(
            self._read(f"SELECT key, value FROM meta WHERE key >= '{MEMO_FLOOR}' AND key < '{MEMO_FLOOR};'")
        )
        found: dict[bytes, tuple[bytes, set[str]]] = {}
        for h, output, signer, row_id, operation in rows:
            if floors and row_id <= max(
                int(floors.get(MEMO_FLOOR, 0)), int(floors.get(f"{MEMO_FLOOR}:{CID(operation)}", 0))
            ):
                continue
            entry = found.setdefault(bytes(h), (bytes(output), set()))
            if signer is not None:
                entry[1].add(signer)
        return [MemoCandidate(CID(o), CID(h), frozenset(s)) for h, (o, s) in found.items()]

    def put_disputes(self, disputes: Iterable[Dispute]) -> int:
        added = 0
        with self._write() as conn:
            for d in disputes:
                cursor = conn.execute(
                    self._sql("INSERT INTO disputes VALUES (?, ?, ?) ON CONFLICT DO NOTHING"),
                    (d.execution.cid_bytes, d.at, d.detail),
                )
                added += max(cursor.rowcount, 0)
        return added

    def get_dispute(self, execution_hash: CID) -> Dispute | None:
        rows = self._read(
            self._sql("SELECT at, detail FROM disputes WHERE execution = ?"), (execution_hash.cid_bytes,)
        )
        return Dispute(execution_hash, rows[0][0], rows[0][1]) if rows else None

    def quarantine(self, entries: Iterable[Quarantined]) -> int:
        added = 0
        with self._write() as conn:
            for q in entries:
                cursor = conn.execute(
                    self._sql("INSERT INTO quarantine VALUES (?, ?, ?) ON CONFLICT DO NOTHING"),
                    (q.execution.cid_bytes, q.at, q.reason),
                )
                added += max(cursor.rowcount, 0)
        return added

    def list_quarantined(self) -> list[Quarantined]:
        rows = self._read("SELECT execution, at, reason FROM quarantine ORDER BY at, execution")
        return [Quarantined(CID(h), at, reason) for h, at, reason in rows]

    def match_ids(self, kind: str, fragment: str, limit: int = 10) -> list[CID]:
        """Stored ids of ``kind`` (see :data:`ID_COLUMNS`) whose text starts or ends with
        ``fragment``: what the CLI resolves a shortened CID with. It scans the ids, so it is
        for people typing, not for programs; at most ``limit`` matches."""
        table, column = ID_COLUMNS[kind]
        found = []
        for (raw,) in self._read(f"SELECT {column} FROM {table}"):
            text = str(CID(raw))
            if text.startswith(fragment) or text.endswith(fragment):
                found.append(CID(raw))
                if len(found) >= limit:
                    break
        return found

    def clear_memo(self, versions: Iterable[CID] | None = None) -> int:
        """Stop reusing the executions recorded so far (of these operation versions, or of all):
        later steps recompute. Nothing is deleted. Returns the floor (the last execution id)."""
        with self._write() as conn:
            floor = conn.execute("SELECT coalesce(max(id), 0) FROM executions").fetchone()[0]
            keys = [MEMO_FLOOR] if versions is None else [f"{MEMO_FLOOR}:{v}" for v in versions]
            for key in keys:
                conn.execute(
                    self._sql(
                        "INSERT INTO meta VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                    ),
                    (key, floor),
                )
        return int(floor)

    def get_execution(self, execution_hash: CID) -> Execution | None:
        rows = self._read(
            self._sql(f"SELECT {COLUMNS} FROM executions WHERE hash = ?"), (execution_hash.cid_bytes,)
        )
        return row_to_execution(rows[0]) if rows else None

    def list_query(self, flt: ExecutionFilter, limit: int, before: int | None) -> tuple[str, list[Any]]:
        """The statement of a :meth:`list_executions` page (one more row than ``limit``: whether
        another page follows), and its parameters."""
        where, params = where_clauses(flt, self.MARK)
        where.append(NOT_QUARANTINED)
        if before is not None:
            where.append(f"id < {self.MARK}")
            params.append(before)
        query = f"SELECT {COLUMNS}, id FROM executions WHERE {' AND '.join(where)}"
        return f"{query} ORDER BY id DESC LIMIT {self.MARK}", [*params, limit + 1]

    def list_executions(
        self, flt: ExecutionFilter, limit: int, before: int | None
    ) -> tuple[list[Execution], int | None]:
        rows = self._read(*self.list_query(flt, limit, before))
        more = len(rows) > limit
        rows = rows[:limit]
        return [row_to_execution(r) for r in rows], (rows[-1][-1] if more else None)

    def executions_since(self, flt: ExecutionFilter, seq: int, limit: int) -> list[Execution]:
        where, params = where_clauses(flt, self.MARK)
        where += [NOT_QUARANTINED, f"seq > {self.MARK}"]
        params.append(seq)
        rows = self._read(
            f"SELECT {COLUMNS} FROM executions WHERE {' AND '.join(where)} ORDER BY seq LIMIT {self.MARK}",
            [*params, limit],
        )
        # Rows this store wrote (Updates replays them by the thousand): links not re-validated.
        return [trusted_row_to_execution(r) for r in rows]

    def max_seq(self) -> int:
        return int(self._read("SELECT value FROM meta WHERE key = 'seq'")[0][0])

    def _transition_sets(
        self, new: Status, now: int, executor: str | None, output: tuple[CID, bytes] | None, error: str | None
    ) -> tuple[list[str], list[Any]]:
        """The columns a move to ``new`` sets, and their values (for :meth:`transition`)."""
        sets = [f"status = {self.MARK}"]
        params: list[Any] = [new.value]
        if new is Status.IN_PROGRESS:
            sets += [f"executor = {self.MARK}", f"started_at = {self.MARK}"]
            params += [executor, now]
        else:
            sets += [f"finished_at = {self.MARK}", f"output = {self.MARK}", f"error = {self.MARK}"]
            params += [now, output[0].cid_bytes if output else None, error]
        return sets, params

    # leases and task queues (docs/design.md, "Task queues") -----------------------------------
    def renew_lease(self, execution_hash: CID, executor: str, lease: int) -> bool:
        with self._write() as conn:
            changed: int = conn.execute(
                self._sql(
                    f"UPDATE executions SET lease_until = {self.NOW_NS} + ? WHERE hash = ? "
                    "AND status = 'in_progress' AND executor = ?"
                ),
                (lease, execution_hash.cid_bytes, executor),
            ).rowcount
        return changed == 1

    def set_run_queues(self, run_id: CID, routes: Mapping[str, str]) -> None:
        if not routes:
            return
        with self._write() as conn:
            for selector, queue in routes.items():  # a few rows, once per run
                conn.execute(
                    self._sql("INSERT INTO run_queues VALUES (?, ?, ?)"), (run_id.cid_bytes, selector, queue)
                )

    def run_queues(self, run_id: CID) -> dict[str, str]:
        rows = self._read(
            self._sql("SELECT selector, queue FROM run_queues WHERE run = ?"), (run_id.cid_bytes,)
        )
        return {selector: queue for selector, queue in rows}

    def _queue_of(self, execution: Execution) -> str:
        """The queue a ``created`` execution is offered on, by its run's routes."""
        routes = self.run_queues(execution.run)
        if not routes:
            return DEFAULT_QUEUE
        names = self._read(
            self._sql("SELECT name FROM operations WHERE version_id = ?"), (execution.operation.cid_bytes,)
        )
        return route(routes, execution.segment, execution.step, names[0][0] if names else None)

    # Reads of one shape (query, then rows to values), each its own query.
    def execution_history(self, execution_hash: CID) -> list[HistoryEntry]:
        rows = self._read(
            self._sql(
                "SELECT seq, at, change, executor, detail FROM execution_history "
                "WHERE execution = ? ORDER BY seq"
            ),
            (execution_hash.cid_bytes,),
        )
        return [HistoryEntry(execution_hash, *row) for row in rows]

    def execution_attempts(self, execution_hash: CID) -> list[Attempt]:
        rows = self._read(
            self._sql(
                "SELECT attempt, started_at, finished_at, error FROM execution_attempts "
                "WHERE execution = ? ORDER BY attempt"
            ),
            (execution_hash.cid_bytes,),
        )
        return [Attempt(execution_hash, *row) for row in rows]

    # lineage and trust ------------------------------------------------------------------------
    def lineage(self, execution_hash: CID, direction: str, depth: int = 0) -> Lineage | None:
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be ancestors or descendants, not {direction!r}")
        rows = self._read(
            self.LINEAGE_SQL[(direction, depth > 0)], {"hash": execution_hash.cid_bytes, "depth": depth}
        )
        return lineage_from_rows(execution_hash, rows, direction)

    # Reads of one shape (query, then rows to values), each its own query.
    def key_attestations(self, key: CID) -> list[tuple[Execution, AttestationRow]]:
        rows = self._read(
            self._sql(
                f"SELECT {E_COLUMNS}, a.cid, b.data, a.signer, a.role FROM executions e "
                "JOIN attestations a ON a.execution = e.hash LEFT JOIN blocks b ON b.cid = a.cid "
                "WHERE e.key = ? AND e.status = 'completed' ORDER BY e.id, a.created_at, a.cid"
            ),
            (key.cid_bytes,),
        )
        found = []
        for row in rows:
            e = row_to_execution(row[:-4])
            c, d, s, r = row[-4:]
            found.append((e, AttestationRow(e.hash, CID(c), d if d is not None else b"", s, r)))
        return found

    def list_attestations(self, execution_hash: CID) -> list[AttestationRow]:
        rows = self._read(
            self._sql(
                "SELECT a.cid, b.data, a.signer, a.role FROM attestations a "
                "LEFT JOIN blocks b ON b.cid = a.cid WHERE a.execution = ? ORDER BY a.created_at, a.cid"
            ),
            (execution_hash.cid_bytes,),
        )
        return [
            AttestationRow(execution_hash, CID(c), d if d is not None else b"", s, r) for c, d, s, r in rows
        ]
