"""The shared store: the execution DB and the values in PostgreSQL, for several nodes at once.

Selected with ``--db postgresql://USER@HOST:PORT/DBNAME`` (or ``$CATENARY_DB``). It is the
same interface as :mod:`catenary.store.sqlite`, with the same tables, and the same test suite
runs on both. What differs, and why (docs/design.md, "PostgreSQL"):

- Connections come from a psycopg 3 pool; reads run in autocommit, each write in one
  transaction.
- ``seq`` is a single-row counter updated inside the writing transaction. Its row lock is taken
  last in every transaction that records or changes executions, and held until commit, so
  writers commit in seq order. A reader that sees seq N therefore sees every change numbered
  below N, and an ``Updates`` stream that resumes after N can never miss a smaller seq committed
  later (a plain sequence would allow exactly that).
- Every such commit sends ``NOTIFY catenary_changes, '<seq>'``; :meth:`wait_for_change` wakes
  on it through one ``LISTEN`` connection per store, on whichever node committed.
- Steps committed at the same time by threads of one process share one transaction (group
  commit), so that they share the counter's lock and the WAL flush.
- Migrations (:mod:`catenary.store.postgres_sql`) are applied under a transaction-level
  advisory lock, in the transaction that records them in ``schema_version``, so nodes
  starting together migrate once.
"""

from __future__ import annotations

import secrets
import select
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

import psycopg
from psycopg import sql as _sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from catenary.cid import CID, decode, encode
from catenary.errors import StoreError
from catenary.model import Event, Execution, OperationManifest, OperationVersion, Run, Status, Workflow
from catenary.model.filter import ExecutionFilter
from catenary.store.base import (
    AttestationRow, HistoryEntry, ImportBatch, Lineage, RunState, SegmentOutput, StepCommit, Store,
)
from catenary.store.filtering import where_clauses
from catenary.store.postgres_sql import (
    APPLICATION, CHANNEL, COLUMNS, INSERT_EXECUTIONS, LINEAGE_SQL, LISTEN_APPLICATION, MEMO_SQL,
    MIGRATION_LOCK, MIGRATIONS, RUN_COLUMNS,
)
from catenary.store.sqlite import _config_bytes, _levels, _links_bytes


class _Abort(Exception):
    """Roll back the write transaction: a condition checked inside it did not hold."""


# A group commit holds at most this many executions (one step more if it alone is larger).
MAX_BATCH_ROWS = 5000


class _Pending:
    """A step waiting for a group commit, and its outcome once ``finished``."""

    __slots__ = ("step", "finished", "result", "error")

    def __init__(self, step: StepCommit) -> None:
        self.step = step
        self.finished = False
        self.result = False
        self.error: BaseException | None = None


def _cid(value: bytes | None) -> CID | None:
    return None if value is None else CID(value)


def _row_to_execution(row: tuple[Any, ...]) -> Execution:
    return Execution(
        hash=CID(row[0]), key=CID(row[1]), workflow=CID(row[2]), run=CID(row[3]),
        segment=row[4], step=row[5], operation=CID(row[6]), config=decode(row[7]),
        parents=tuple(decode(row[8])), inputs=tuple(decode(row[9])), status=Status(row[10]),
        output=_cid(row[11]), error=row[12], executor=row[13], cached_from=_cid(row[14]),
        created_at=row[15], started_at=row[16], finished_at=row[17], seq=row[18],
    )


def _message(exc: BaseException) -> str:
    """A libpq error on one line (it spreads hints over several)."""
    return " ".join(str(exc).split())


def _configure(conn: psycopg.Connection) -> None:
    """Each pooled connection commits synchronously. With ``synchronous_commit = off`` a commit
    is visible before it is durable: a server crash could then take back seqs that a
    subscriber has already seen, and hand them out again for other changes it would miss."""
    if conn.execute("SHOW synchronous_commit").fetchone()[0] == "off":
        conn.execute("SET synchronous_commit = on")


def _closed_while_idle(conn: psycopg.Connection) -> bool:
    """Whether the server ended a pooled connection while it sat idle (restart, admin kill,
    idle timeout). An idle connection of ours has nothing to read unless the server ended it,
    so this is a poll of the socket, not a round trip."""
    return conn.closed or conn.broken or bool(select.select([conn.fileno()], [], [], 0)[0])


def describe(dsn: str) -> str:
    """The database a URL names, without its password: ``user@host:port/dbname``."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(an unparsable PostgreSQL URL)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', 'localhost')}{port}/{parts.get('dbname', '')}"


class PostgresStore(Store):
    """A store in one PostgreSQL database, shared by any number of nodes.

    ``dsn`` is a libpq URL or key/value string. ``pool_size`` caps the connections this
    store opens (plus one for ``LISTEN``, opened on the first :meth:`wait_for_change`).
    """

    def __init__(self, dsn: str, pool_size: int = 10, connect_timeout: float = 10.0) -> None:
        self.dsn = dsn
        self.where = describe(dsn)
        try:
            conninfo_to_dict(dsn)
        except psycopg.ProgrammingError as exc:
            raise StoreError(f"invalid PostgreSQL URL for the execution DB: {exc}") from None
        # Migrate on a connection of its own first: an unreachable server or a refused login
        # fails here at once, in libpq's words, instead of as a pool timeout.
        try:
            with psycopg.connect(dsn, autocommit=True,
                                 connect_timeout=max(2, round(connect_timeout))) as conn:
                self._migrate(conn)
        except psycopg.OperationalError as exc:
            raise StoreError(self._unreachable(_message(exc))) from None
        except psycopg.Error as exc:
            raise StoreError(f"cannot use the execution DB {self.where}: {_message(exc)}") from None
        self._pool = ConnectionPool(dsn, min_size=1, max_size=pool_size, open=True,
                                    timeout=3 * connect_timeout, configure=_configure,
                                    kwargs={"autocommit": True, "application_name": APPLICATION},
                                    name=f"catenary {self.where}")
        self._changed = threading.Condition()
        self._latest = 0  # highest seq known to be committed (from NOTIFY and own commits)
        self._listener: threading.Thread | None = None
        self._closing = threading.Event()
        # A channel of this store alone: close() notifies it to end the listener at once.
        self._wake_channel = f"catenary_wake_{secrets.token_hex(8)}"
        self._queue: list[_Pending] = []  # steps waiting for a group commit
        self._group = threading.Condition()  # guards the queue and _committing
        self._committing = False  # a thread is committing a batch

    def _unreachable(self, why: str) -> str:
        return f"cannot connect to the execution DB {self.where}: {why}"

    # plumbing -----------------------------------------------------------------------------------
    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection]:
        """A pooled connection (autocommit); a lost or refused connection becomes StoreError."""
        try:
            for _ in range(self._pool.max_size + 1):
                with self._pool.connection() as conn:
                    if _closed_while_idle(conn):
                        conn.close()  # the pool replaces a connection returned closed
                        continue
                    yield conn
                    return
            raise StoreError(self._unreachable("the server closed every pooled connection"))
        except PoolTimeout:
            raise StoreError(self._unreachable("no connection could be had from the pool")) from None
        except psycopg.OperationalError as exc:
            # Client-side failures have no SQLSTATE; class 08 and 57P0x are the server's
            # "connection exception" and "shutting down". Anything else is not about reaching it.
            state = exc.sqlstate or ""
            if not state or state.startswith("08") or state.startswith("57P0"):
                raise StoreError(self._unreachable(_message(exc))) from None
            raise

    @contextmanager
    def _write(self) -> Iterator[psycopg.Connection]:
        """One transaction. Nothing is kept when the body raises (``_Abort`` included)."""
        with self._conn() as conn:
            with conn.transaction():
                yield conn

    def _read(self, query: str, params: Iterable[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        with self._conn() as conn:
            return conn.execute(query, params if isinstance(params, dict) else tuple(params),
                                binary=True).fetchall()

    def _migrate(self, conn: psycopg.Connection) -> None:
        """Apply the missing migrations, each in the transaction that records it."""
        with conn.transaction():
            # Two nodes starting at once: the second waits here, then finds nothing to do.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version ("
                         "version integer PRIMARY KEY, applied_at bigint NOT NULL)")
            version = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise StoreError(
                    f"the execution DB {self.where} has schema version {version}, newer than "
                    f"this catenary understands ({len(MIGRATIONS)}); upgrade catenary")
            for number in range(version, len(MIGRATIONS)):
                conn.execute(MIGRATIONS[number])
                conn.execute("INSERT INTO schema_version VALUES (%s, %s)", (number + 1, time.time_ns()))

    def integrity_problems(self) -> list[str]:
        # PostgreSQL checks its own pages (checksums, amcheck are the administrator's tools);
        # what catenary can break is the seq counter falling behind the stored seqs.
        top, counter = self._read("SELECT (SELECT coalesce(max(seq), 0) FROM executions), "
                                  "(SELECT value FROM meta WHERE key = 'seq')")[0]
        if top > counter:
            return [f"the seq counter ({counter}) is below the highest stored seq ({top}): "
                    f"new changes would reuse seqs that subscribers have seen"]
        return []

    def schema_version(self) -> int:
        """The number of migrations applied to this database."""
        return self._read("SELECT coalesce(max(version), 0) FROM schema_version")[0][0]

    def close(self) -> None:
        if self._closing.is_set():
            return
        self._closing.set()
        if self._listener is not None:
            try:
                with self._pool.connection(timeout=1) as conn:
                    conn.execute(_sql.SQL("NOTIFY {}").format(_sql.Identifier(self._wake_channel)))
            except (psycopg.Error, PoolTimeout):
                pass  # the listener notices ``_closing`` within a second anyway
            self._listener.join(timeout=5)
        self._pool.close()

    # values -------------------------------------------------------------------------------------
    def put_blocks(self, blocks: Iterable[tuple[CID, bytes]]) -> None:
        rows = sorted({c.cid_bytes: d for c, d in blocks}.items())
        if rows:
            with self._write() as conn:
                self._insert_blocks(conn, rows)

    @staticmethod
    def _insert_blocks(conn: psycopg.Connection, rows: list[tuple[bytes, bytes]]) -> None:
        # Sorted by CID, so two writers inserting overlapping sets take the (uncommitted) index
        # entries in the same order and cannot deadlock.
        conn.execute("INSERT INTO blocks (cid, data) SELECT * FROM unnest(%b::bytea[], %b::bytea[]) "
                     "ON CONFLICT DO NOTHING", ([c for c, _ in rows], [d for _, d in rows]))

    def get_block(self, cid: CID) -> bytes | None:
        rows = self._read("SELECT data FROM blocks WHERE cid = %s", (cid.cid_bytes,))
        return rows[0][0] if rows else None

    # operations and workflows -------------------------------------------------------------------
    def put_operation(self, manifest: OperationManifest, version: OperationVersion) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO operations VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                         (version.id.cid_bytes, manifest.id.cid_bytes, manifest.name,
                          encode(manifest.data()), encode(version.data())))

    def get_version(self, version_id: CID) -> tuple[OperationManifest, OperationVersion] | None:
        rows = self._read("SELECT manifest, version FROM operations WHERE version_id = %s",
                          (version_id.cid_bytes,))
        return self._operation(rows[0]) if rows else None

    def list_versions(self) -> list[tuple[OperationManifest, OperationVersion]]:
        # COLLATE "C": byte order, as SQLite sorts, whatever the database's locale.
        rows = self._read('SELECT manifest, version FROM operations ORDER BY name COLLATE "C", version_id')
        return [self._operation(r) for r in rows]

    @staticmethod
    def _operation(row: tuple[bytes, bytes]) -> tuple[OperationManifest, OperationVersion]:
        version = decode(row[1])
        return (OperationManifest.from_data(decode(row[0])),
                OperationVersion(version["operation"], version["implementation"]))

    def put_workflow(self, workflow: Workflow, now: int) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO workflows VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                         (workflow.id.cid_bytes, workflow.name, encode(workflow.data()), now))

    def get_workflow(self, workflow_id: CID) -> Workflow | None:
        rows = self._read("SELECT data FROM workflows WHERE id = %s", (workflow_id.cid_bytes,))
        return Workflow.from_data(decode(rows[0][0])) if rows else None

    def list_workflows(self) -> list[tuple[CID, Workflow, int]]:
        rows = self._read("SELECT id, data, created_at FROM workflows ORDER BY created_at, id")
        return [(CID(r[0]), Workflow.from_data(decode(r[1])), r[2]) for r in rows]

    # runs ---------------------------------------------------------------------------------------
    def create_run(self, run: Run, now: int) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO runs VALUES (%s, %s, %s, 'running', 0, 0.0, NULL, %s, %s)",
                         (run.id.cid_bytes, run.workflow.cid_bytes, run.nonce, now, now))

    def get_run(self, run_id: CID) -> RunState | None:
        # One statement, so the run and its outputs come from one snapshot.
        rows = self._read(
            f"SELECT {', '.join('r.' + c.strip() for c in RUN_COLUMNS.split(','))}, "
            "o.segment, o.output, o.producer, o.segment_time "
            "FROM runs r LEFT JOIN segment_outputs o ON o.run = r.id WHERE r.id = %s",
            (run_id.cid_bytes,))
        if not rows:
            return None
        outputs = {r[9]: SegmentOutput(r[9], CID(r[10]), CID(r[11]), r[12])
                   for r in rows if r[9] is not None}
        return self._run(rows[0], outputs)

    def list_runs(self, workflow: CID | None = None, limit: int = 100) -> list[RunState]:
        if workflow is None:
            rows = self._read(f"SELECT {RUN_COLUMNS} FROM runs ORDER BY created_at DESC LIMIT %s",
                              (limit,))
        else:
            rows = self._read(f"SELECT {RUN_COLUMNS} FROM runs WHERE workflow = %s "
                              "ORDER BY created_at DESC LIMIT %s", (workflow.cid_bytes, limit))
        return [self._run(r, {}) for r in rows]

    def get_run_for_step(self, run_id: CID, segments: Callable[[RunState], Iterable[int]]
                         ) -> RunState | None:
        """:meth:`get_run` holding only the outputs of the segments ``segments(run)`` names
        (those the run's next segment reads): a bounded read per step of a long run."""
        rows = self._read(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = %s", (run_id.cid_bytes,))
        if not rows:
            return None
        wanted = sorted(set(segments(self._run(rows[0], {}))))
        if not wanted:
            return self._run(rows[0], {})
        outputs = self._read("SELECT segment, output, producer, segment_time FROM segment_outputs "
                             "WHERE run = %s AND segment = ANY(%s::bigint[])",
                             (run_id.cid_bytes, wanted))
        return self._run(rows[0], {s: SegmentOutput(s, CID(o), CID(p), t) for s, o, p, t in outputs})

    @staticmethod
    def _run(row: tuple[Any, ...], outputs: dict[int, SegmentOutput]) -> RunState:
        return RunState(CID(row[0]), CID(row[1]), row[2], row[3], row[4], row[5], row[6], row[7],
                        row[8], outputs)

    def commit_step(self, step: StepCommit) -> bool:
        # Group commit: steps committed at the same time by this process's threads (several
        # runs stepped at once, e.g. by a served node) share one transaction, so they share
        # the seq counter's lock and the WAL flush. Each caller's step is checked on its own.
        # One thread at a time commits (the leader) what the others queued meanwhile; they
        # wait for their outcome, and one whose step is still queued leads the next batch.
        pending = _Pending(step)
        with self._group:
            self._queue.append(pending)
        while True:
            with self._group:
                while self._committing and not pending.finished:
                    self._group.wait()
                if pending.finished:
                    break
                self._committing = True
            try:
                # Let the threads just woken by the previous batch queue their next steps first
                # (a yield of the GIL), so that this batch carries them instead of one step.
                time.sleep(0)
                with self._group:
                    batch = self._take_batch()
                self._commit_batch(batch)
            finally:
                with self._group:
                    self._committing = False
                    self._group.notify_all()
        if pending.error is not None:
            raise pending.error
        return pending.result

    def _take_batch(self) -> list[_Pending]:
        """The queued steps, up to a limit, at most one per run (a later step of the same run
        waits for the next batch, so that it sees this one's result). Holds ``_group``."""
        batch: list[_Pending] = []
        runs: set[bytes] = set()
        rows = 0
        rest = []
        for pending in self._queue:
            run = pending.step.run.cid_bytes
            if run in runs or (batch and rows + len(pending.step.executions) > MAX_BATCH_ROWS):
                rest.append(pending)
                continue
            runs.add(run)
            rows += len(pending.step.executions)
            batch.append(pending)
        self._queue = rest
        return batch

    def _commit_batch(self, batch: list[_Pending]) -> None:
        """Commit ``batch`` in one transaction; each step whose run moved on meanwhile is left
        out (its result is False). If the transaction fails, each step is retried alone, so
        that only the step at fault reports the error."""
        try:
            with self._conn() as conn, conn.pipeline() as pipe, conn.transaction():
                top, moved = self._write_steps(conn, pipe, batch)
        except Exception as exc:
            if len(batch) > 1:
                for pending in batch:
                    self._commit_batch([pending])
                return
            batch[0].error, batch[0].finished = exc, True
            return
        except BaseException as exc:  # interrupted: no waiter may be left without an outcome
            for pending in batch:
                pending.error, pending.finished = exc, True
            raise
        for pending in batch:
            pending.result, pending.finished = pending in moved, True
        if top:
            self._notify(top)

    def _write_steps(self, conn: psycopg.Connection, pipe: psycopg.Pipeline, batch: list[_Pending]
                     ) -> tuple[int, set[_Pending]]:
        # Runs are locked in id order, then blocks in CID order, then the seq counter: every
        # writer takes its locks in that order, so writers on any nodes never deadlock.
        batch = sorted(batch, key=lambda p: p.step.run.cid_bytes)
        # The optimistic check. Its row lock makes a concurrent step of the same run, from any
        # node, wait here and then find next_segment moved: exactly one commits.
        checks = [conn.execute(
            "UPDATE runs SET next_segment = next_segment + %s, status = %s, total_time = %s, "
            "error = %s, updated_at = %s WHERE id = %s AND next_segment = %s AND status = 'running'",
            (1 if s.output else 0, s.run_status, s.total_time, s.error, s.now, s.run.cid_bytes,
             s.segment)) for s in (p.step for p in batch)]
        pipe.sync()
        steps = [p.step for p, check in zip(batch, checks) if check.rowcount == 1]
        moved = {p for p, check in zip(batch, checks) if check.rowcount == 1}
        if not steps:
            return 0, moved
        blocks = sorted({c.cid_bytes: d for s in steps for c, d in
                         [*s.blocks, *((a.cid, a.data) for a in s.attestations)]}.items())
        if blocks:
            self._insert_blocks(conn, blocks)
        events = [(e.hash.cid_bytes, e.run.cid_bytes, e.segment, encode(e.data()), s.now)
                  for s in steps for e in s.events]
        if events:
            conn.execute("INSERT INTO events SELECT * FROM unnest(%b::bytea[], %b::bytea[], "
                         "%b::bigint[], %b::bytea[], %b::bigint[]) ON CONFLICT DO NOTHING",
                         [list(column) for column in zip(*events)])
        outputs = [(s.run.cid_bytes, s.output.segment, s.output.output.cid_bytes,
                    s.output.producer.cid_bytes, s.output.segment_time) for s in steps if s.output]
        if outputs:
            conn.execute("INSERT INTO segment_outputs SELECT * FROM unnest(%b::bytea[], %b::bigint[], "
                         "%b::bytea[], %b::bytea[], %b::float8[])",
                         [list(column) for column in zip(*outputs)])
        executions = [e for s in steps for e in s.executions]
        top, inserted = self._insert_executions(conn, executions)
        if inserted != len(executions):
            raise StoreError(f"run {steps[0].run} segment {steps[0].segment}: an execution of this "
                             f"step is already recorded")
        for s in steps:
            if s.attestations:
                self._index_attestations(conn, s.attestations, s.now)
        return top, moved

    @staticmethod
    def _insert_executions(conn: psycopg.Connection, executions: list[Execution]) -> tuple[int, int]:
        """Insert with consecutive new seqs (taking the counter lock); (top seq, rows inserted)."""
        if not executions:
            return 0, 0
        cols: dict[str, list[Any]] = {name: [] for name in (
            "hash", "key", "workflow", "run", "segment", "step", "operation", "config", "parents",
            "inputs", "status", "output", "error", "executor", "cached_from", "created_at",
            "started_at", "finished_at", "edge_parent", "edge_child")}
        for e in executions:
            h = e.hash.cid_bytes
            cols["hash"].append(h)
            cols["key"].append(e.key.cid_bytes)
            cols["workflow"].append(e.workflow.cid_bytes)
            cols["run"].append(e.run.cid_bytes)
            cols["segment"].append(e.segment)
            cols["step"].append(e.step)
            cols["operation"].append(e.operation.cid_bytes)
            cols["config"].append(_config_bytes(e.config))
            cols["parents"].append(_links_bytes(e.parents))
            cols["inputs"].append(_links_bytes(e.inputs))
            cols["status"].append(e.status.value)
            cols["output"].append(e.output.cid_bytes if e.output else None)
            cols["error"].append(e.error)
            cols["executor"].append(e.executor)
            cols["cached_from"].append(e.cached_from.cid_bytes if e.cached_from else None)
            cols["created_at"].append(e.created_at)
            cols["started_at"].append(e.started_at)
            cols["finished_at"].append(e.finished_at)
            for parent in set(e.parents):
                cols["edge_parent"].append(parent.cid_bytes)
                cols["edge_child"].append(h)
        top, inserted, _ = conn.execute(INSERT_EXECUTIONS, {"n": len(executions), **cols}).fetchone()
        return top, inserted

    def get_event(self, event_hash: CID) -> Event | None:
        rows = self._read("SELECT data FROM events WHERE hash = %s", (event_hash.cid_bytes,))
        if not rows:
            return None
        data = decode(rows[0][0])
        return Event(data["run"], data["segment"], tuple(data["inputs"]))

    # executions ---------------------------------------------------------------------------------
    def find_completed(self, key: CID) -> Execution | None:
        rows = self._read(f"SELECT {COLUMNS} FROM executions WHERE key = %s AND status = 'completed' "
                          "LIMIT 1", (key.cid_bytes,))
        return _row_to_execution(rows[0]) if rows else None

    def find_memo(self, key: CID) -> tuple[CID, CID] | None:
        """The memoization lookup without building the record: ``(output, origin)`` of a
        completed execution with this key, origin being the execution that did the work."""
        rows = self._read(MEMO_SQL, (key.cid_bytes,))
        if not rows:
            return None
        h, output, cached_from = rows[0]
        return CID(output), CID(cached_from if cached_from is not None else h)

    def get_execution(self, execution_hash: CID) -> Execution | None:
        rows = self._read(f"SELECT {COLUMNS} FROM executions WHERE hash = %s",
                          (execution_hash.cid_bytes,))
        return _row_to_execution(rows[0]) if rows else None

    def list_executions(self, flt: ExecutionFilter, limit: int, before: int | None
                        ) -> tuple[list[Execution], int | None]:
        where, params = where_clauses(flt, "%s")
        if before is not None:
            where.append("id < %s")
            params.append(before)
        query = f"SELECT {COLUMNS}, id FROM executions"
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY id DESC LIMIT %s"
        rows = self._read(query, [*params, limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        return [_row_to_execution(r) for r in rows], (rows[-1][-1] if more else None)

    def executions_since(self, flt: ExecutionFilter, seq: int, limit: int) -> list[Execution]:
        where, params = where_clauses(flt, "%s")
        where.append("seq > %s")
        params.append(seq)
        rows = self._read(f"SELECT {COLUMNS} FROM executions WHERE {' AND '.join(where)} "
                          "ORDER BY seq LIMIT %s", [*params, limit])
        return [_row_to_execution(r) for r in rows]

    def max_seq(self) -> int:
        return self._read("SELECT value FROM meta WHERE key = 'seq'")[0][0]

    # external executors -------------------------------------------------------------------------
    def insert_execution(self, execution: Execution) -> Execution | None:
        try:
            with self._write() as conn:
                top, inserted = self._insert_executions(conn, [execution])
                if inserted != 1:
                    raise _Abort  # the hash exists: roll back the counter too
        except _Abort:
            return None
        self._notify(top)
        return self.get_execution(execution.hash)

    def transition(self, execution_hash: CID, expected: Status, new: Status, *, now: int,
                   executor: str | None = None, output: tuple[CID, bytes] | None = None,
                   error: str | None = None) -> Execution | None:
        sets = ["status = %s"]
        params: list[Any] = [new.value]
        if new is Status.IN_PROGRESS:
            sets += ["executor = %s", "started_at = %s"]
            params += [executor, now]
        else:
            sets += ["finished_at = %s", "output = %s", "error = %s"]
            params += [now, output[0].cid_bytes if output else None, error]
        try:
            with self._write() as conn:
                # The conditional update is the claim: of two claimants (on any nodes) the second
                # waits for the first's row lock, then finds the status changed and matches nothing.
                row = conn.execute(
                    f"UPDATE executions SET {', '.join(sets)} WHERE hash = %s AND status = %s "
                    "RETURNING id", [*params, execution_hash.cid_bytes, expected.value]).fetchone()
                if row is None:
                    raise _Abort
                if output:
                    self._insert_blocks(conn, [(output[0].cid_bytes, output[1])])
                top = self._bump_seq(conn, [row[0]])  # the counter last, as in every writer
        except _Abort:
            return None
        self._notify(top)
        return self.get_execution(execution_hash)

    # leases of external executors ----------------------------------------------------------------
    def claim(self, execution_hash: CID, executor: str, *, now: int, lease_until: int
              ) -> Execution | None:
        try:
            with self._write() as conn:
                # The execution row first (of two claimants, the second waits here and then
                # matches nothing), the counter last, as in every writer.
                row = conn.execute(
                    "UPDATE executions SET status = 'in_progress', executor = %s, started_at = %s, "
                    "lease_until = %s WHERE hash = %s AND status = 'created' RETURNING id",
                    (executor, now, lease_until, execution_hash.cid_bytes)).fetchone()
                if row is None:
                    raise _Abort
                top = self._bump_seq(conn, [row[0]])
                conn.execute("INSERT INTO execution_history VALUES (%s, %s, %s, 'claimed', %s, NULL)",
                             (execution_hash.cid_bytes, top, now, executor))
        except _Abort:
            return None
        self._notify(top)
        return self.get_execution(execution_hash)

    def renew_lease(self, execution_hash: CID, executor: str, lease_until: int) -> bool:
        with self._write() as conn:
            return conn.execute(
                "UPDATE executions SET lease_until = %s WHERE hash = %s AND status = 'in_progress' "
                "AND executor = %s", (lease_until, execution_hash.cid_bytes, executor)).rowcount == 1

    def expire_leases(self, now: int, limit: int = 100) -> list[Execution]:
        # A read first: every node sweeps every second or so and most sweeps find nothing.
        if not self._read("SELECT 1 FROM executions WHERE status = 'in_progress' AND lease_until < %s "
                          "LIMIT 1", (now,)):
            return []
        with self._write() as conn:
            # SKIP LOCKED: two nodes sweeping at once split the lapsed claims between them, and
            # a claim being renewed or completed right now is left for the next sweep (FOR UPDATE
            # re-checks the condition on rows that changed meanwhile).
            rows = conn.execute(
                "SELECT id, hash, executor, lease_until FROM executions WHERE status = 'in_progress' "
                "AND lease_until < %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED", (now, limit)).fetchall()
            if not rows:
                return []
            top = self._bump_seq(conn, [r[0] for r in rows], status="created")
            first = top - len(rows) + 1
            for offset, (_, hash_, owner, until) in enumerate(rows):
                conn.execute("INSERT INTO execution_history VALUES (%s, %s, %s, 'lease_expired', %s, %s)",
                             (hash_, first + offset, now, owner, f"lease of {owner} ended at {until}"))
        self._notify(top)
        return [e for e in (self.get_execution(CID(r[1])) for r in rows) if e is not None]

    @staticmethod
    def _bump_seq(conn: psycopg.Connection, ids: list[int], status: str | None = None) -> int:
        """Give the executions ``ids`` new consecutive seqs (in this order) from the counter,
        taking its lock, and queue the notification; with ``status``, also return them to it
        with no owner (a lapsed lease). Returns the highest seq."""
        reset = (", status = %(status)s, executor = NULL, started_at = NULL, lease_until = NULL"
                 if status else "")
        return conn.execute(
            f"WITH c AS (UPDATE meta SET value = value + %(n)s WHERE key = 'seq' RETURNING value), "
            f"u AS (UPDATE executions x SET seq = c.value - %(n)s + v.ord{reset} "
            f"FROM c, unnest(%(ids)s::bigint[]) WITH ORDINALITY AS v(id, ord) WHERE x.id = v.id) "
            f"SELECT c.value, pg_notify('{CHANNEL}', c.value::text) FROM c",
            {"n": len(ids), "ids": ids, "status": status}).fetchone()[0]

    def execution_history(self, execution_hash: CID) -> list[HistoryEntry]:
        rows = self._read("SELECT seq, at, change, executor, detail FROM execution_history "
                          "WHERE execution = %s ORDER BY seq", (execution_hash.cid_bytes,))
        return [HistoryEntry(execution_hash, *row) for row in rows]

    # lineage and trust --------------------------------------------------------------------------
    def lineage(self, execution_hash: CID, direction: str, depth: int = 0) -> Lineage | None:
        if direction not in ("ancestors", "descendants"):
            raise ValueError(f"direction must be ancestors or descendants, not {direction!r}")
        rows = self._read(LINEAGE_SQL[(direction, depth > 0)],
                          {"hash": execution_hash.cid_bytes, "depth": depth})
        order = {CID(r[1]): r[-1] for r in rows if r[0] == "x"}  # hash -> id (insertion order)
        executions = [_row_to_execution(r[1:-1]) for r in rows if r[0] == "x"]
        if not executions:
            return None
        events = []
        for r in rows:
            if r[0] == "e":
                data = decode(r[2])
                events.append(Event(data["run"], data["segment"], tuple(data["inputs"])))
        levels = _levels(execution_hash, executions, direction)
        event_hashes = {e.hash for e in events}
        for e in executions:
            for parent in e.parents:
                if parent in event_hashes:
                    levels[parent] = min(levels.get(parent, 1 << 62), levels[e.hash] + 1)
        # Ties in hop count keep insertion order (the walk's rows come in no fixed order).
        executions.sort(key=lambda e: (levels[e.hash], order[e.hash]))
        events.sort(key=lambda e: levels[e.hash])
        return Lineage(executions, events, levels)

    def put_attestations(self, rows: Iterable[AttestationRow], now: int) -> int:
        rows = list(rows)
        if not rows:
            return 0
        with self._write() as conn:
            self._insert_blocks(conn, sorted({a.cid.cid_bytes: a.data for a in rows}.items()))
            return self._index_attestations(conn, rows, now)

    @staticmethod
    def _index_attestations(conn: psycopg.Connection, rows: list[AttestationRow], now: int) -> int:
        """Index attestation blocks (already stored) under their executions; how many were new."""
        unique = sorted({(a.execution.cid_bytes, a.cid.cid_bytes): a for a in rows}.items())
        return len(conn.execute(
            "INSERT INTO attestations (execution, cid, signer, role, created_at) "
            "SELECT e, c, s, r, %s FROM unnest(%s::bytea[], %s::bytea[], %s::text[], %s::text[]) "
            "AS v(e, c, s, r) ON CONFLICT DO NOTHING RETURNING 1",
            (now, [k[0] for k, _ in unique], [k[1] for k, _ in unique],
             [a.signer for _, a in unique], [a.role for _, a in unique])).fetchall())

    def list_attestations(self, execution_hash: CID) -> list[AttestationRow]:
        rows = self._read(
            "SELECT a.cid, b.data, a.signer, a.role FROM attestations a "
            "LEFT JOIN blocks b ON b.cid = a.cid WHERE a.execution = %s ORDER BY a.created_at, a.cid",
            (execution_hash.cid_bytes,))
        return [AttestationRow(execution_hash, CID(c), d if d is not None else b"", s, r)
                for c, d, s, r in rows]

    def import_batch(self, batch: ImportBatch) -> dict[str, int]:
        counts: dict[str, int] = {}

        def insert(conn: psycopg.Connection, kind: str, query: str, rows: list[tuple[Any, ...]]) -> None:
            # RETURNING counts the rows actually inserted (ON CONFLICT skips the known ones).
            # Sorted by key, so that two nodes importing overlapping bundles cannot deadlock.
            new = 0
            for row in sorted(rows, key=lambda r: r[:2]):
                new += conn.execute(query + " ON CONFLICT DO NOTHING RETURNING 1", row).fetchone() is not None
            counts[kind] = new

        top = 0
        with self._write() as conn:
            blocks = sorted({c.cid_bytes: d for c, d in
                             [*batch.blocks, *((a.cid, a.data) for a in batch.attestations)]}.items())
            known_blocks = {r[0] for r in conn.execute(
                "SELECT cid FROM blocks WHERE cid = ANY(%s::bytea[])",
                ([c for c, _ in blocks],)).fetchall()} if blocks else set()
            if blocks:
                self._insert_blocks(conn, blocks)
            counts["blocks"] = len({c.cid_bytes for c, _ in batch.blocks} - known_blocks)
            insert(conn, "operations", "INSERT INTO operations VALUES (%s, %s, %s, %s, %s)",
                   [(v.id.cid_bytes, m.id.cid_bytes, m.name, encode(m.data()), encode(v.data()))
                    for m, v in batch.operations])
            insert(conn, "workflows", "INSERT INTO workflows VALUES (%s, %s, %s, %s)",
                   [(w.id.cid_bytes, w.name, encode(w.data()), batch.now) for w in batch.workflows])
            insert(conn, "runs", "INSERT INTO runs VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                   [(r.id.cid_bytes, r.workflow.cid_bytes, r.nonce, r.status, r.next_segment,
                     r.total_time, r.error, r.created_at, r.updated_at) for r in batch.runs])
            insert(conn, "segment_outputs", "INSERT INTO segment_outputs VALUES (%s, %s, %s, %s, %s)",
                   [(r.id.cid_bytes, o.segment, o.output.cid_bytes, o.producer.cid_bytes,
                     o.segment_time) for r in batch.runs for o in r.outputs.values()])
            insert(conn, "events", "INSERT INTO events VALUES (%s, %s, %s, %s, %s)",
                   [(e.hash.cid_bytes, e.run.cid_bytes, e.segment, encode(e.data()), batch.now)
                    for e in batch.events])
            hashes = [e.hash.cid_bytes for e in batch.executions]
            known = {r[0] for r in conn.execute(
                "SELECT hash FROM executions WHERE hash = ANY(%s::bytea[])", (hashes,)).fetchall()
            } if hashes else set()
            fresh = [e for e in batch.executions if e.hash.cid_bytes not in known]
            # A node importing the same bundle meanwhile may still win some of these; they are
            # skipped (ON CONFLICT) and counted as known.
            top, counts["executions"] = self._insert_executions(conn, fresh)
            counts["attestations"] = (self._index_attestations(conn, batch.attestations, batch.now)
                                      if batch.attestations else 0)
        if top:
            self._notify(top)
        return counts

    # change notifications -----------------------------------------------------------------------
    def _notify(self, seq: int) -> None:
        with self._changed:
            if seq > self._latest:
                self._latest = seq
            self._changed.notify_all()

    def wait_for_change(self, seq: int, timeout: float) -> None:
        # A commit on any node sends NOTIFY with its seq; the listener thread records it and wakes
        # waiters. A notification that is missed (listener reconnecting) costs at most ``timeout``:
        # the caller polls by seq again after it.
        self._start_listener()
        with self._changed:
            if self._latest <= seq:
                self._changed.wait(timeout)

    def _start_listener(self) -> None:
        if self._listener is not None or self._closing.is_set():
            return
        with self._changed:
            if self._listener is not None:
                return
            ready = threading.Event()
            self._listener = threading.Thread(target=self._listen, args=(ready,),
                                              name="catenary-pg-listen", daemon=True)
            self._listener.start()
        ready.wait(5)  # LISTEN is active (or failed; the caller polls either way)

    def _listen(self, ready: threading.Event) -> None:
        """Keep a LISTEN connection open; record each notified seq. Reconnects on failure."""
        backoff = 0.1
        while not self._closing.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True,
                                     application_name=LISTEN_APPLICATION) as conn:
                    conn.execute(_sql.SQL("LISTEN {}").format(_sql.Identifier(CHANNEL)))
                    conn.execute(_sql.SQL("LISTEN {}").format(_sql.Identifier(self._wake_channel)))
                    # Anything committed before LISTEN took effect is covered by this read.
                    self._notify(conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0])
                    ready.set()
                    backoff = 0.1
                    while not self._closing.is_set():
                        for note in conn.notifies(timeout=1.0):
                            if note.channel == self._wake_channel:
                                return
                            try:
                                self._notify(int(note.payload))
                            except ValueError:
                                continue
            except psycopg.Error:
                if self._closing.is_set():
                    break
                ready.set()
                self._closing.wait(backoff)
                backoff = min(backoff * 2, 5.0)
