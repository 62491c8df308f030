"""The embedded store: one SQLite file in WAL mode holding the execution DB and the values."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import cbrrr

from catenary.cid import CID, decode, encode
from catenary.errors import StoreError
from catenary.model import Event, Execution, OperationManifest, OperationVersion, Run, Status, Workflow
from catenary.model.filter import ExecutionFilter
from catenary.store.base import (
    AttestationRow, HistoryEntry, ImportBatch, Lineage, RunState, SegmentOutput, StepCommit, Store,
)
from catenary.store.filtering import where_clauses

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
    # 2: ancestor traces walk child -> parent edges; attestations index signed blocks.
    """
    CREATE INDEX execution_parents_child ON execution_parents (child);
    CREATE TABLE attestations (
        execution BLOB NOT NULL, cid BLOB NOT NULL, signer TEXT NOT NULL, role TEXT NOT NULL,
        created_at INTEGER NOT NULL, PRIMARY KEY (execution, cid)) WITHOUT ROWID;
    """,
    # 3: claims by external executors are leases (lease_until, unix ns, while in_progress);
    # execution_history keeps what the record overwrites: each claim and each lease expiry.
    """
    ALTER TABLE executions ADD COLUMN lease_until INTEGER;
    CREATE TABLE execution_history (
        execution BLOB NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, change TEXT NOT NULL,
        executor TEXT, detail TEXT, PRIMARY KEY (execution, seq)) WITHOUT ROWID;
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


# Lineage in one statement: a recursive walk over the parent edges, then the executions
# reached and (for ancestors) the events among their parents. Without a depth limit the
# walk keeps one row per execution (UNION drops repeats), so it visits each node once
# however many paths lead to it; with a limit it carries the hop count.
_WALK = {
    ("ancestors", False): """walk(id) AS (
        SELECT id FROM executions WHERE hash = :hash
        UNION SELECT x.id FROM walk w JOIN execution_parents p ON p.child = w.id
                              JOIN executions x ON x.hash = p.parent)""",
    ("ancestors", True): """walk(id, level) AS (
        SELECT id, 0 FROM executions WHERE hash = :hash
        UNION SELECT x.id, w.level + 1 FROM walk w JOIN execution_parents p ON p.child = w.id
                              JOIN executions x ON x.hash = p.parent WHERE w.level < :depth)""",
    ("descendants", False): """walk(id) AS (
        SELECT id FROM executions WHERE hash = :hash
        UNION SELECT p.child FROM walk w JOIN executions x ON x.id = w.id
                              JOIN execution_parents p ON p.parent = x.hash)""",
    ("descendants", True): """walk(id, level) AS (
        SELECT id, 0 FROM executions WHERE hash = :hash
        UNION SELECT p.child, w.level + 1 FROM walk w JOIN executions x ON x.id = w.id
                              JOIN execution_parents p ON p.parent = x.hash WHERE w.level < :depth)""",
}


def _lineage_sql(direction: str, limited: bool) -> str:
    nodes = ("SELECT id, MIN(level) AS level FROM walk GROUP BY id" if limited
             else "SELECT id, 0 AS level FROM walk")
    columns = ", ".join(f"x.{c.strip()}" for c in _COLUMNS.split(","))
    padding = ", ".join(["NULL"] * (len(_COLUMNS.split(",")) - 2))
    sql = (f"WITH RECURSIVE {_WALK[(direction, limited)]}, nodes AS MATERIALIZED ({nodes}) "
           f"SELECT 'x', {columns} FROM nodes n JOIN executions x ON x.id = n.id")
    if direction == "ancestors":
        # Events are parents of reached executions that are within the depth limit.
        within = "WHERE n.level < :depth" if limited else ""
        sql += (f" UNION ALL SELECT 'e', ev.hash, ev.data, {padding} FROM events ev "
                f"WHERE ev.hash IN (SELECT p.parent FROM nodes n JOIN execution_parents p "
                f"ON p.child = n.id {within})")
    return sql


_LINEAGE_SQL = {(d, limited): _lineage_sql(d, limited)
                for d in ("ancestors", "descendants") for limited in (False, True)}


def _trusted_row_to_execution(row: tuple[Any, ...]) -> Execution:
    """:func:`_row_to_execution` for a lineage row (its first column is the kind), decoding the
    columns this store wrote itself without re-validating each link: a deep trace decodes
    tens of thousands of CIDs, and validation was most of its time."""
    config, parents, inputs = row[8], row[9], row[10]
    return Execution(
        hash=CID(row[1]), key=CID(row[2]), workflow=CID(row[3]), run=CID(row[4]),
        segment=row[5], step=row[6], operation=CID(row[7]),
        config={} if config == _EMPTY_MAP else decode(config),
        parents=tuple(_decode_links(parents, cid_ctor=CID)),
        inputs=tuple(_decode_links(inputs, cid_ctor=CID)), status=Status(row[11]),
        output=_cid(row[12]), error=row[13], executor=row[14], cached_from=_cid(row[15]),
        created_at=row[16], started_at=row[17], finished_at=row[18], seq=row[19],
    )


_decode_links = cbrrr.decode_dag_cbor


def _levels(start: CID, executions: list[Execution], direction: str) -> dict[CID, int]:
    """Hop count of each execution from ``start``: a breadth-first walk over the edges among them."""
    if direction == "ancestors":
        following = {e.hash: list(dict.fromkeys(e.parents)) for e in executions}
    else:
        following = {e.hash: [] for e in executions}
        for e in executions:
            for parent in dict.fromkeys(e.parents):
                if parent in following:
                    following[parent].append(e.hash)
    levels = {start: 0}
    frontier = [start]
    while frontier:
        ahead = []
        for node in frontier:
            for nxt in following.get(node, ()):
                if nxt in following and nxt not in levels:
                    levels[nxt] = levels[node] + 1
                    ahead.append(nxt)
        frontier = ahead
    return levels


# Settings of every connection the store opens (after journal_mode=WAL).
# - synchronous=NORMAL in WAL mode: a commit survives the process being killed (kill -9);
#   only an OS crash or power loss may lose the last commits.
# - wal_autocheckpoint: the WAL is copied back into the DB file (with an fsync of each) once it
#   holds this many pages. Each next() dirties a few hundred index pages (hash, key, parent and
#   value-CID indexes take random keys), so SQLite's default of 1,000 pages checkpointed every
#   third or fourth step, copying mostly the same pages again; 10,000 pages (~40 MiB of WAL)
#   checkpoints ten times less often. Durability is unchanged (commits are in the WAL either way).
WAL_AUTOCHECKPOINT_PAGES = 10_000
PRAGMAS = (
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=OFF",
    f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}",
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
            for pragma in PRAGMAS:
                self._db.execute(pragma)
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

    def integrity_problems(self) -> list[str]:
        rows = self._read("PRAGMA quick_check")
        return [] if rows == [("ok",)] else [r[0] for r in rows]

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

    def get_run_for_step(self, run_id: CID, segments: Callable[[RunState], Iterable[int]]
                         ) -> RunState | None:
        """:meth:`get_run` holding only the outputs of the segments ``segments(run)`` names
        (those the run's next segment reads), so that stepping a run reads a bounded number of
        rows per step instead of every earlier segment's output (quadratic over a long run)."""
        rows = self._read(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id = ?", (run_id.cid_bytes,))
        if not rows:
            return None
        head = self._run(rows[0], {})
        wanted = sorted(set(segments(head)))
        if not wanted:
            return head
        outputs = self._read("SELECT segment, output, producer, segment_time FROM segment_outputs "
                             f"WHERE run = ? AND segment IN ({', '.join('?' * len(wanted))})",
                             (run_id.cid_bytes, *wanted))
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
        if step.attestations:
            self._insert_attestations(db, step.attestations, step.now)

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

    def list_executions(self, flt: ExecutionFilter, limit: int, before: int | None
                        ) -> tuple[list[Execution], int | None]:
        where, params = where_clauses(flt, "?")
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
        where, params = where_clauses(flt, "?")
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

    def claim(self, execution_hash: CID, executor: str, *, now: int, lease_until: int
              ) -> Execution | None:
        try:
            with self._write() as db:
                seq = db.execute("UPDATE meta SET value = value + 1 WHERE key = 'seq' "
                                 "RETURNING value").fetchone()[0]
                changed = db.execute(
                    "UPDATE executions SET status = 'in_progress', executor = ?, started_at = ?, "
                    "lease_until = ?, seq = ? WHERE hash = ? AND status = 'created'",
                    (executor, now, lease_until, seq, execution_hash.cid_bytes)).rowcount
                if changed != 1:
                    raise _Abort
                db.execute("INSERT INTO execution_history VALUES (?, ?, ?, 'claimed', ?, NULL)",
                           (execution_hash.cid_bytes, seq, now, executor))
        except _Abort:
            return None
        self._notify()
        return self.get_execution(execution_hash)

    def renew_lease(self, execution_hash: CID, executor: str, lease_until: int) -> bool:
        with self._write() as db:
            return db.execute(
                "UPDATE executions SET lease_until = ? WHERE hash = ? AND status = 'in_progress' "
                "AND executor = ?", (lease_until, execution_hash.cid_bytes, executor)).rowcount == 1

    _LAPSED = ("SELECT id, hash, executor, lease_until FROM executions WHERE status = 'in_progress' "
               "AND lease_until < ? ORDER BY id LIMIT ?")

    def expire_leases(self, now: int, limit: int = 100) -> list[Execution]:
        # A read first: the sweep runs every second or so, and most of the time finds nothing,
        # so it must not take the write lock that every commit needs.
        if not self._read(self._LAPSED, (now, 1)):
            return []
        expired = []
        with self._write() as db:
            for row_id, hash_, owner, until in db.execute(self._LAPSED, (now, limit)).fetchall():
                seq = db.execute("UPDATE meta SET value = value + 1 WHERE key = 'seq' "
                                 "RETURNING value").fetchone()[0]
                db.execute("UPDATE executions SET status = 'created', executor = NULL, "
                           "started_at = NULL, lease_until = NULL, seq = ? WHERE id = ?", (seq, row_id))
                db.execute("INSERT INTO execution_history VALUES (?, ?, ?, 'lease_expired', ?, ?)",
                           (hash_, seq, now, owner, f"lease of {owner} ended at {until}"))
                expired.append(CID(hash_))
        self._notify()
        return [e for e in map(self.get_execution, expired) if e is not None]

    def execution_history(self, execution_hash: CID) -> list[HistoryEntry]:
        rows = self._read("SELECT seq, at, change, executor, detail FROM execution_history "
                          "WHERE execution = ? ORDER BY seq", (execution_hash.cid_bytes,))
        return [HistoryEntry(execution_hash, *row) for row in rows]

    # lineage and trust ---------------------------------------------------------------
    def lineage(self, execution_hash: CID, direction: str, depth: int = 0) -> Lineage | None:
        if direction not in ("ancestors", "descendants"):
            raise ValueError(f"direction must be ancestors or descendants, not {direction!r}")
        sql = _LINEAGE_SQL[(direction, depth > 0)]
        params: dict[str, Any] = {"hash": execution_hash.cid_bytes}
        if depth > 0:
            params["depth"] = depth
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        executions = [_trusted_row_to_execution(r) for r in rows if r[0] == "x"]
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
        executions.sort(key=lambda e: levels[e.hash])  # stable: ties keep insertion order
        events.sort(key=lambda e: levels[e.hash])
        return Lineage(executions, events, levels)

    def put_attestations(self, rows: Iterable[AttestationRow], now: int) -> int:
        with self._write() as db:
            return self._insert_attestations(db, list(rows), now)

    @staticmethod
    def _insert_attestations(db: sqlite3.Connection, rows: list[AttestationRow], now: int) -> int:
        db.executemany("INSERT OR IGNORE INTO blocks VALUES (?, ?)",
                       [(a.cid.cid_bytes, a.data) for a in rows])
        before = db.total_changes
        db.executemany("INSERT OR IGNORE INTO attestations VALUES (?, ?, ?, ?, ?)",
                       [(a.execution.cid_bytes, a.cid.cid_bytes, a.signer, a.role, now) for a in rows])
        return db.total_changes - before

    def list_attestations(self, execution_hash: CID) -> list[AttestationRow]:
        rows = self._read(
            "SELECT a.cid, b.data, a.signer, a.role FROM attestations a "
            "LEFT JOIN blocks b ON b.cid = a.cid WHERE a.execution = ? ORDER BY a.created_at, a.cid",
            (execution_hash.cid_bytes,))
        return [AttestationRow(execution_hash, CID(c), d if d is not None else b"", s, r)
                for c, d, s, r in rows]

    def import_batch(self, batch: ImportBatch) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self._write() as db:
            def run(kind: str, sql: str, rows: list[tuple[Any, ...]]) -> None:
                before = db.total_changes
                db.executemany(sql, rows)
                counts[kind] = db.total_changes - before

            run("blocks", "INSERT OR IGNORE INTO blocks VALUES (?, ?)",
                [(c.cid_bytes, d) for c, d in batch.blocks])
            run("operations", "INSERT OR IGNORE INTO operations VALUES (?, ?, ?, ?, ?)",
                [(v.id.cid_bytes, m.id.cid_bytes, m.name, encode(m.data()), encode(v.data()))
                 for m, v in batch.operations])
            run("workflows", "INSERT OR IGNORE INTO workflows VALUES (?, ?, ?, ?)",
                [(w.id.cid_bytes, w.name, encode(w.data()), batch.now) for w in batch.workflows])
            run("runs", "INSERT OR IGNORE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(r.id.cid_bytes, r.workflow.cid_bytes, r.nonce, r.status, r.next_segment,
                  r.total_time, r.error, r.created_at, r.updated_at) for r in batch.runs])
            run("segment_outputs", "INSERT OR IGNORE INTO segment_outputs VALUES (?, ?, ?, ?, ?)",
                [(r.id.cid_bytes, o.segment, o.output.cid_bytes, o.producer.cid_bytes, o.segment_time)
                 for r in batch.runs for o in r.outputs.values()])
            run("events", "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?)",
                [(e.hash.cid_bytes, e.run.cid_bytes, e.segment, encode(e.data()), batch.now)
                 for e in batch.events])
            known = set()
            for chunk in range(0, len(batch.executions), 500):
                hashes = [e.hash.cid_bytes for e in batch.executions[chunk:chunk + 500]]
                known.update(r[0] for r in db.execute(
                    f"SELECT hash FROM executions WHERE hash IN ({', '.join('?' * len(hashes))})",
                    hashes))
            fresh = [e for e in batch.executions if e.hash.cid_bytes not in known]
            self._insert_executions(db, fresh)
            counts["executions"] = len(fresh)
            counts["attestations"] = self._insert_attestations(db, batch.attestations, batch.now)
        self._notify()
        return counts

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def wait_for_change(self, seq: int, timeout: float) -> None:
        # Commits of this process wake waiters at once; other processes' commits
        # are seen by the caller's next poll, at most ``timeout`` later.
        with self._changed:
            if self.max_seq() <= seq:
                self._changed.wait(timeout)
