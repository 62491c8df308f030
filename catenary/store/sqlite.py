"""The embedded store: one SQLite file in WAL mode holding the execution DB and the values."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

import cbrrr

from catenary.cid import CID, decode, encode
from catenary.errors import StoreError
from catenary.model import Event, Execution, OperationManifest, OperationVersion, Run, Status, Workflow
from catenary.model.filter import ExecutionFilter
from catenary.store.base import RunState, SegmentOutput, StepCommit, Store

# Each migration runs once, in order, in the transaction that records it.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO meta VALUES ('seq', 0);
    CREATE TABLE blocks (cid BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
    CREATE TABLE operations (
        version_id BLOB PRIMARY KEY, operation_id BLOB NOT NULL, name TEXT NOT NULL,
        manifest BLOB NOT NULL, version BLOB NOT NULL);
    CREATE TABLE workflows (id BLOB PRIMARY KEY, name TEXT NOT NULL, data BLOB NOT NULL,
        created_at INTEGER NOT NULL);
    CREATE TABLE runs (
        id BLOB PRIMARY KEY, workflow BLOB NOT NULL, nonce BLOB NOT NULL, status TEXT NOT NULL,
        next_segment INTEGER NOT NULL, total_time REAL NOT NULL, error TEXT,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
    CREATE INDEX runs_workflow ON runs (workflow, created_at);
    CREATE INDEX runs_created ON runs (created_at);
    CREATE TABLE segment_outputs (
        run BLOB NOT NULL, segment INTEGER NOT NULL, output BLOB NOT NULL, producer BLOB NOT NULL,
        segment_time REAL NOT NULL, PRIMARY KEY (run, segment)) WITHOUT ROWID;
    CREATE TABLE events (hash BLOB PRIMARY KEY, run BLOB NOT NULL, segment INTEGER NOT NULL,
        data BLOB NOT NULL, created_at INTEGER NOT NULL);
    CREATE INDEX events_run ON events (run);
    CREATE TABLE executions (
        id INTEGER PRIMARY KEY,
        hash BLOB NOT NULL UNIQUE, key BLOB NOT NULL, workflow BLOB NOT NULL, run BLOB NOT NULL,
        segment INTEGER NOT NULL, step INTEGER NOT NULL, operation BLOB NOT NULL,
        config BLOB NOT NULL, parents BLOB NOT NULL, inputs BLOB NOT NULL,
        status TEXT NOT NULL, output BLOB, error TEXT, executor TEXT, cached_from BLOB,
        created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER,
        seq INTEGER NOT NULL UNIQUE);
    CREATE INDEX executions_key ON executions (key, status);
    CREATE INDEX executions_workflow ON executions (workflow, id);
    CREATE INDEX executions_run ON executions (run, id);
    CREATE INDEX executions_operation ON executions (operation, id);
    CREATE INDEX executions_status ON executions (status, id);
    CREATE INDEX executions_created ON executions (created_at);
    CREATE TABLE execution_parents (parent BLOB NOT NULL, child INTEGER NOT NULL,
        PRIMARY KEY (parent, child)) WITHOUT ROWID;
    """,
]

_COLUMNS = ("hash, key, workflow, run, segment, step, operation, config, parents, inputs, status, "
            "output, error, executor, cached_from, created_at, started_at, finished_at, seq")


class _Abort(Exception):
    """Roll back the write transaction: a condition checked inside it did not hold."""


def _cid(value: bytes | None) -> CID | None:
    return None if value is None else CID(value)


_EMPTY_MAP = encode({})


def _config_bytes(config: dict[str, str]) -> bytes:
    return _EMPTY_MAP if not config else encode(config)


def _links_bytes(cids: tuple[CID, ...]) -> bytes:
    """DAG-CBOR of a list of links (the parents and inputs columns). A list of CIDs has nothing
    for :func:`encode`'s value checks to find, so it is encoded directly; anything else goes
    through :func:`encode`, which names the problem."""
    links = list(cids)
    for item in links:
        if not isinstance(item, CID):
            return encode(links)
    return cbrrr.encode_dag_cbor(links, cid_type=CID)


_MEMO_SQL = "SELECT hash, output, cached_from FROM executions WHERE key = ? AND status = 'completed' LIMIT 1"


def _row_to_execution(row: tuple[Any, ...]) -> Execution:
    return Execution(
        hash=CID(row[0]), key=CID(row[1]), workflow=CID(row[2]), run=CID(row[3]),
        segment=row[4], step=row[5], operation=CID(row[6]), config=decode(row[7]),
        parents=tuple(decode(row[8])), inputs=tuple(decode(row[9])), status=Status(row[10]),
        output=_cid(row[11]), error=row[12], executor=row[13], cached_from=_cid(row[14]),
        created_at=row[15], started_at=row[16], finished_at=row[17], seq=row[18],
    )


class SQLiteStore(Store):
    """A store in one SQLite file (WAL). Safe to share between threads of one process and
    between processes on one machine (writers wait on SQLite's lock with a busy timeout)."""

    def __init__(self, path: str | Path, busy_timeout_ms: int = 60_000) -> None:
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False,
                                       timeout=busy_timeout_ms / 1000)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit survives the process being killed (kill -9);
            # only an OS crash or power loss may lose the last commits.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=OFF")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the execution DB {self.path}: {exc}") from None
        self._lock = threading.RLock()
        self._changed = threading.Condition()
        self._migrate()

    # plumbing -----------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    def _migrate(self) -> None:
        try:
            with self._write() as db:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version > len(MIGRATIONS):
                    raise StoreError(
                        f"{self.path} has schema version {version}, newer than this catenary "
                        f"understands ({len(MIGRATIONS)}); upgrade catenary")
                for number in range(version, len(MIGRATIONS)):
                    for statement in MIGRATIONS[number].split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute(f"PRAGMA user_version = {number + 1}")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot use the execution DB {self.path}: {exc}") from None

    def schema_version(self) -> int:
        return self._read("PRAGMA user_version")[0][0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # values ------------------------------------------------------------------
    def put_blocks(self, blocks: Iterable[tuple[CID, bytes]]) -> None:
        with self._write() as db:
            db.executemany("INSERT OR IGNORE INTO blocks VALUES (?, ?)",
                           [(c.cid_bytes, d) for c, d in blocks])

    def get_block(self, cid: CID) -> bytes | None:
        rows = self._read("SELECT data FROM blocks WHERE cid = ?", (cid.cid_bytes,))
        return rows[0][0] if rows else None

    # operations and workflows -------------------------------------------------
    def put_operation(self, manifest: OperationManifest, version: OperationVersion) -> None:
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO operations VALUES (?, ?, ?, ?, ?)",
                       (version.id.cid_bytes, manifest.id.cid_bytes, manifest.name,
                        encode(manifest.data()), encode(version.data())))

    def get_version(self, version_id: CID) -> tuple[OperationManifest, OperationVersion] | None:
        rows = self._read("SELECT manifest, version FROM operations WHERE version_id = ?",
                          (version_id.cid_bytes,))
        return self._operation(rows[0]) if rows else None

    def list_versions(self) -> list[tuple[OperationManifest, OperationVersion]]:
        rows = self._read("SELECT manifest, version FROM operations ORDER BY name, version_id")
        return [self._operation(r) for r in rows]

    @staticmethod
    def _operation(row: tuple[bytes, bytes]) -> tuple[OperationManifest, OperationVersion]:
        version = decode(row[1])
        return (OperationManifest.from_data(decode(row[0])),
                OperationVersion(version["operation"], version["implementation"]))

    def put_workflow(self, workflow: Workflow, now: int) -> None:
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO workflows VALUES (?, ?, ?, ?)",
                       (workflow.id.cid_bytes, workflow.name, encode(workflow.data()), now))

    def get_workflow(self, workflow_id: CID) -> Workflow | None:
        rows = self._read("SELECT data FROM workflows WHERE id = ?", (workflow_id.cid_bytes,))
        return Workflow.from_data(decode(rows[0][0])) if rows else None

    def list_workflows(self) -> list[tuple[CID, Workflow, int]]:
        rows = self._read("SELECT id, data, created_at FROM workflows ORDER BY created_at, id")
        return [(CID(r[0]), Workflow.from_data(decode(r[1])), r[2]) for r in rows]

    # runs --------------------------------------------------------------------
    def create_run(self, run: Run, now: int) -> None:
        with self._write() as db:
            db.execute("INSERT INTO runs VALUES (?, ?, ?, 'running', 0, 0.0, NULL, ?, ?)",
                       (run.id.cid_bytes, run.workflow.cid_bytes, run.nonce, now, now))

    _RUN_COLUMNS = "id, workflow, nonce, status, next_segment, total_time, error, created_at, updated_at"

    def get_run(self, run_id: CID) -> RunState | None:
        rows = self._read(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id = ?", (run_id.cid_bytes,))
        if not rows:
            return None
        outputs = self._read("SELECT segment, output, producer, segment_time FROM segment_outputs "
                             "WHERE run = ?", (run_id.cid_bytes,))
        return self._run(rows[0], {s: SegmentOutput(s, CID(o), CID(p), t) for s, o, p, t in outputs})

    def list_runs(self, workflow: CID | None = None, limit: int = 100) -> list[RunState]:
        if workflow is None:
            rows = self._read(f"SELECT {self._RUN_COLUMNS} FROM runs ORDER BY created_at DESC LIMIT ?",
                              (limit,))
        else:
            rows = self._read(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE workflow = ? "
                              "ORDER BY created_at DESC LIMIT ?", (workflow.cid_bytes, limit))
        return [self._run(r, {}) for r in rows]

    @staticmethod
    def _run(row: tuple[Any, ...], outputs: dict[int, SegmentOutput]) -> RunState:
        return RunState(CID(row[0]), CID(row[1]), row[2], row[3], row[4], row[5], row[6], row[7],
                        row[8], outputs)

    def commit_step(self, step: StepCommit) -> bool:
        try:
            with self._write() as db:
                self._commit_step(db, step)
        except _Abort:
            return False
        self._notify()
        return True

    def _commit_step(self, db: sqlite3.Connection, step: StepCommit) -> None:
        moved = db.execute(
            "UPDATE runs SET next_segment = next_segment + ?, status = ?, total_time = ?, "
            "error = ?, updated_at = ? WHERE id = ? AND next_segment = ? AND status = 'running'",
            (1 if step.output else 0, step.run_status, step.total_time, step.error, step.now,
             step.run.cid_bytes, step.segment)).rowcount
        if moved != 1:
            raise _Abort
        db.executemany("INSERT OR IGNORE INTO blocks VALUES (?, ?)",
                       [(c.cid_bytes, d) for c, d in step.blocks])
        db.executemany("INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?)",
                       [(e.hash.cid_bytes, e.run.cid_bytes, e.segment, encode(e.data()), step.now)
                        for e in step.events])
        if step.output:
            out = step.output
            db.execute("INSERT INTO segment_outputs VALUES (?, ?, ?, ?, ?)",
                       (step.run.cid_bytes, out.segment, out.output.cid_bytes,
                        out.producer.cid_bytes, out.segment_time))
        self._insert_executions(db, step.executions)

    def _insert_executions(self, db: sqlite3.Connection, executions: list[Execution]) -> None:
        if not executions:
            return
        top = db.execute("UPDATE meta SET value = value + ? WHERE key = 'seq' RETURNING value",
                         (len(executions),)).fetchone()[0]
        first_seq = top - len(executions) + 1
        rows = []
        for offset, e in enumerate(executions):
            rows.append((
                e.hash.cid_bytes, e.key.cid_bytes, e.workflow.cid_bytes, e.run.cid_bytes, e.segment,
                e.step, e.operation.cid_bytes, _config_bytes(e.config), _links_bytes(e.parents),
                _links_bytes(e.inputs), e.status.value, e.output.cid_bytes if e.output else None,
                e.error, e.executor, e.cached_from.cid_bytes if e.cached_from else None,
                e.created_at, e.started_at, e.finished_at, first_seq + offset))
        db.executemany(f"INSERT INTO executions ({_COLUMNS}) VALUES "
                       f"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        # rowids are consecutive within one INSERT batch in a write transaction
        last = db.execute("SELECT last_insert_rowid()").fetchone()[0]
        first_id = last - len(executions) + 1
        db.executemany("INSERT OR IGNORE INTO execution_parents VALUES (?, ?)",
                       [(p.cid_bytes, first_id + i) for i, e in enumerate(executions)
                        for p in set(e.parents)])

    def get_event(self, event_hash: CID) -> Event | None:
        rows = self._read("SELECT data FROM events WHERE hash = ?", (event_hash.cid_bytes,))
        if not rows:
            return None
        data = decode(rows[0][0])
        return Event(data["run"], data["segment"], tuple(data["inputs"]))

    # executions ------------------------------------------------------------------
    def find_completed(self, key: CID) -> Execution | None:
        rows = self._read(f"SELECT {_COLUMNS} FROM executions WHERE key = ? AND status = 'completed' "
                          "LIMIT 1", (key.cid_bytes,))
        return _row_to_execution(rows[0]) if rows else None

    def find_memo(self, key: CID) -> tuple[CID, CID] | None:
        """The memoization lookup without building the record: ``(output, origin)`` of a
        completed execution with this key (the same one :meth:`find_completed` finds), where
        origin is the execution that did the work (its ``cached_from``, or itself)."""
        with self._lock:
            row = self._db.execute(_MEMO_SQL, (key.cid_bytes,)).fetchone()
        if row is None:
            return None
        return CID(row[1]), CID(row[2] if row[2] is not None else row[0])

    def get_execution(self, execution_hash: CID) -> Execution | None:
        rows = self._read(f"SELECT {_COLUMNS} FROM executions WHERE hash = ?",
                          (execution_hash.cid_bytes,))
        return _row_to_execution(rows[0]) if rows else None

    @staticmethod
    def _where(flt: ExecutionFilter) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        if flt.statuses:
            where.append(f"status IN ({', '.join('?' * len(flt.statuses))})")
            params.extend(s.value for s in flt.statuses)
        for column in ("workflow", "run", "operation", "key"):
            value = getattr(flt, column)
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value.cid_bytes)
        if flt.segment is not None:
            where.append("segment = ?")
            params.append(flt.segment)
        if flt.parent is not None:
            where.append("id IN (SELECT child FROM execution_parents WHERE parent = ?)")
            params.append(flt.parent.cid_bytes)
        if flt.created_after is not None:
            where.append("created_at > ?")
            params.append(flt.created_after)
        if flt.created_before is not None:
            where.append("created_at < ?")
            params.append(flt.created_before)
        return where, params

    def list_executions(self, flt: ExecutionFilter, limit: int, before: int | None
                        ) -> tuple[list[Execution], int | None]:
        where, params = self._where(flt)
        if before is not None:
            where.append("id < ?")
            params.append(before)
        sql = f"SELECT {_COLUMNS}, id FROM executions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        rows = self._read(sql, [*params, limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        return [_row_to_execution(r) for r in rows], (rows[-1][-1] if more else None)

    def executions_since(self, flt: ExecutionFilter, seq: int, limit: int) -> list[Execution]:
        where, params = self._where(flt)
        where.append("seq > ?")
        params.append(seq)
        rows = self._read(f"SELECT {_COLUMNS} FROM executions WHERE {' AND '.join(where)} "
                          "ORDER BY seq LIMIT ?", [*params, limit])
        return [_row_to_execution(r) for r in rows]

    def max_seq(self) -> int:
        return self._read("SELECT value FROM meta WHERE key = 'seq'")[0][0]

    # external executors ------------------------------------------------------------
    def insert_execution(self, execution: Execution) -> Execution | None:
        try:
            with self._write() as db:
                if db.execute("SELECT 1 FROM executions WHERE hash = ?",
                              (execution.hash.cid_bytes,)).fetchone():
                    raise _Abort
                self._insert_executions(db, [execution])
        except _Abort:
            return None
        self._notify()
        return self.get_execution(execution.hash)

    def transition(self, execution_hash: CID, expected: Status, new: Status, *, now: int,
                   executor: str | None = None, output: tuple[CID, bytes] | None = None,
                   error: str | None = None) -> Execution | None:
        sets = ["status = ?", "seq = (SELECT value FROM meta WHERE key = 'seq')"]
        params: list[Any] = [new.value]
        if new is Status.IN_PROGRESS:
            sets += ["executor = ?", "started_at = ?"]
            params += [executor, now]
        else:
            sets += ["finished_at = ?", "output = ?", "error = ?"]
            params += [now, output[0].cid_bytes if output else None, error]
        try:
            with self._write() as db:
                db.execute("UPDATE meta SET value = value + 1 WHERE key = 'seq'")
                changed = db.execute(
                    f"UPDATE executions SET {', '.join(sets)} WHERE hash = ? AND status = ?",
                    [*params, execution_hash.cid_bytes, expected.value]).rowcount
                if changed != 1:
                    raise _Abort
                if output:
                    db.execute("INSERT OR IGNORE INTO blocks VALUES (?, ?)",
                               (output[0].cid_bytes, output[1]))
        except _Abort:
            return None
        self._notify()
        return self.get_execution(execution_hash)

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def wait_for_change(self, seq: int, timeout: float) -> None:
        # Commits of this process wake waiters at once; other processes' commits
        # are seen by the caller's next poll, at most ``timeout`` later.
        with self._changed:
            if self.max_seq() <= seq:
                self._changed.wait(timeout)
