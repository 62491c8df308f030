"""The embedded store: one SQLite file in WAL mode holding the execution DB and the values."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from catenary.cid import CID, encode
from catenary.errors import StoreError, StoreReadOnlyError
from catenary.model import Execution, Status
from catenary.model.queues import DEFAULT_QUEUE
from catenary.store import spans
from catenary.store.base import AttestationRow, ImportBatch, StepCommit
from catenary.store.failures import classify, read_only_fs
from catenary.store.lineage import lineage_statements
from catenary.store.rows import COLUMNS, INSERT_ATTEMPT, attempt_row, execution_row, import_rows, input_edges
from catenary.store.sql import Abort, SQLStore, apply_migrations

# Each migration runs once, in order, in the transaction that records it. PostgreSQL's
# (catenary.store.postgres.schema) spell the same tables in its own types; the lines both
# dialects write alike repeat here on purpose, as each migration stays as it shipped.
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
    # 4: emitted events (issue 17), signed by their emitter; position orders the event log.
    # A firing row per (trigger, event), unique: what makes each pair fire once.
    """
    CREATE TABLE emitted_events (
        position INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, emitter TEXT NOT NULL,
        key TEXT NOT NULL, data BLOB NOT NULL, time INTEGER NOT NULL, nonce BLOB NOT NULL,
        signature BLOB NOT NULL, received_at INTEGER NOT NULL);
    CREATE INDEX emitted_events_key ON emitted_events (key, position);
    CREATE INDEX emitted_events_emitter ON emitted_events (emitter, position);
    CREATE TABLE triggers (
        name TEXT PRIMARY KEY, on_key TEXT NOT NULL, definition TEXT NOT NULL, enabled INTEGER NOT NULL,
        from_position INTEGER NOT NULL, created_at INTEGER NOT NULL);
    CREATE TABLE trigger_firings (
        trigger TEXT NOT NULL, event BLOB NOT NULL, status TEXT NOT NULL, run BLOB, reason TEXT,
        at INTEGER NOT NULL, PRIMARY KEY (trigger, event));
    CREATE INDEX trigger_firings_status ON trigger_firings (status);
    """,
    # 5: executions a re-execution disagreed with (verify mismatch); never reused.
    """
    CREATE TABLE disputes (
        execution BLOB PRIMARY KEY, at INTEGER NOT NULL, detail TEXT NOT NULL) WITHOUT ROWID;
    """,
    # 6: executions `doctor --repair` took out of service (they do not fit their workflow);
    # the record stays, but no read that could serve it (memo, lists, updates) returns it.
    """
    CREATE TABLE quarantine (
        execution BLOB PRIMARY KEY, at INTEGER NOT NULL, reason TEXT NOT NULL) WITHOUT ROWID;
    """,
    # 7: schedules (issue 17): a cron expression whose ticks the serving node emits as events.
    # last_tick (unix s) is where the next tick is looked for; a row per (schedule, tick) fired,
    # unique, written with the tick's event: a tick is emitted once, by one node.
    """
    CREATE TABLE schedules (
        name TEXT PRIMARY KEY, cron TEXT NOT NULL, key TEXT NOT NULL, data BLOB NOT NULL,
        catch_up TEXT NOT NULL, last_tick INTEGER NOT NULL, created_at INTEGER NOT NULL);
    CREATE TABLE schedule_ticks (
        schedule TEXT NOT NULL, tick INTEGER NOT NULL, event BLOB NOT NULL, at INTEGER NOT NULL,
        PRIMARY KEY (schedule, tick));
    """,
    # 8: find by value (issue 17): the executions that produced a value. (Executions that took
    # it as an input are found by scanning the inputs lists; see catenary.store.filtering.)
    # And the firings of one event, for the explorer's event page (the runs it started).
    """
    CREATE INDEX executions_output ON executions (output, id);
    CREATE INDEX trigger_firings_event ON trigger_firings (event);
    """,
    # 9: result events (issue 17): the execution whose output an event's data is, hashed in
    # the record when present (docs/hashing.md), so lineage crosses from a run to its source.
    """
    ALTER TABLE emitted_events ADD COLUMN source BLOB;
    """,
    # 10: peers (issue 18, docs/network.md): the nodes this one follows, with the cursor
    # (their seq) it resumes from, and the peer each synced execution came from.
    """
    CREATE TABLE peers (
        id TEXT PRIMARY KEY, address TEXT NOT NULL, gateway TEXT NOT NULL, tls_ca TEXT,
        added_at INTEGER NOT NULL, cursor INTEGER NOT NULL, received INTEGER NOT NULL,
        refused INTEGER NOT NULL, last_error TEXT, last_error_at INTEGER, last_seen_at INTEGER);
    CREATE TABLE provenance (
        execution BLOB PRIMARY KEY, peer TEXT NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;
    """,
    # 11: task queues (issue 15): the queue a created execution is offered on, a partial index
    # that executors claim from (only what waits, oldest first), and each run's routes.
    """
    ALTER TABLE executions ADD COLUMN queue TEXT NOT NULL DEFAULT 'default';
    CREATE INDEX executions_claimable ON executions (queue, id) WHERE status = 'created';
    CREATE TABLE run_queues (
        run BLOB NOT NULL, selector TEXT NOT NULL, queue TEXT NOT NULL,
        PRIMARY KEY (run, selector)) WITHOUT ROWID;
    """,
    # 12: the attempts of an execution tried under a retry policy (issue 15); the record keeps
    # the last attempt's outcome, these rows every attempt (error NULL: the one that completed).
    """
    CREATE TABLE execution_attempts (
        execution BLOB NOT NULL, attempt INTEGER NOT NULL, started_at INTEGER NOT NULL,
        finished_at INTEGER NOT NULL, error TEXT, PRIMARY KEY (execution, attempt)) WITHOUT ROWID;
    """,
    # 13: runs owned by nodes (issue 15): the node driving a run holds its lease until
    # ``expires`` (unix ns by the database's clock); the row keeps what the run was submitted
    # with (its inputs by segment, fresh), so that another node can take it over, and a
    # cancel asked of the holder. holder NULL: nobody drives it (waiting for a hand step).
    """
    CREATE TABLE run_leases (
        run BLOB PRIMARY KEY, holder TEXT, expires INTEGER NOT NULL, orders BLOB NOT NULL,
        cancel TEXT, submitted_at INTEGER NOT NULL) WITHOUT ROWID;
    CREATE INDEX run_leases_expires ON run_leases (expires);
    """,
    # 14: an index for each filter List offers (issue 15): segment, and the inputs as edges
    # (value, execution), filled for the rows already stored by INPUT_EDGES_MIGRATION's
    # backfill. A List by input was a scan of every row's inputs list.
    """
    CREATE INDEX executions_segment ON executions (segment, id);
    CREATE TABLE execution_inputs (input BLOB NOT NULL, child INTEGER NOT NULL,
        PRIMARY KEY (input, child)) WITHOUT ROWID;
    """,
    # 15: List by created_before and by workflow with a status (issue 15 item 7): the least
    # created_at of each span of ids (catenary.store.spans), filled from the rows already
    # stored, and the index the explorer's "workflow + status" filter walks.
    f"""
    CREATE TABLE created_spans (span INTEGER PRIMARY KEY, least_created INTEGER NOT NULL);
    {spans.BACKFILL};
    CREATE INDEX executions_workflow_status ON executions (workflow, status, id);
    """,
]
# The migration that creates execution_inputs: after it, the edges of the executions stored
# before are filled in from their inputs lists (Python decodes them), in the same transaction.
INPUT_EDGES_MIGRATION = 14
BACKFILL_BATCH = 10_000

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


class SQLiteStore(SQLStore):
    """A store in one SQLite file (WAL). Safe to share between threads of one process and
    between processes on one machine (writers wait on SQLite's lock with a busy timeout)."""

    MARK = "?"
    LINEAGE_SQL = lineage_statements(lambda name: f":{name}")
    # SQLite's clock ('now' is fixed for the length of a statement), to the microsecond or so.
    NOW_NS = "CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER)"

    def __init__(self, path: str | Path, busy_timeout_ms: int = 60_000) -> None:
        self.path = Path(path)
        self._timeout = busy_timeout_ms / 1000
        self._lock = threading.RLock()  # the writer connection (self._db)
        self._writer: int | None = None  # the thread in a write transaction, if any
        # Idle connections for reads outside a write: in WAL mode readers never wait for the
        # writer, so reads no longer queue on the lock every commit holds (one per concurrent read).
        self._readers: list[sqlite3.Connection] = []
        self._target: tuple[str, bool] = (str(self.path), False)  # what readers connect to
        self._closed = False
        self._changed = threading.Condition()
        self._commits = 0  # this process's commits so far (wait_for_change: did one come?)
        self.read_only = False
        try:
            self._db = self._connect(str(self.path))
            self._db.execute("PRAGMA journal_mode=WAL")
            for pragma in PRAGMAS:
                self._db.execute(pragma)
            self._migrate()
        except sqlite3.DatabaseError as exc:
            failure = classify(exc, str(self.path), "open the execution DB")
            if not isinstance(failure, StoreReadOnlyError) or not self.path.exists():
                raise failure or StoreError(f"cannot open the execution DB {self.path}: {exc}") from None
            self._open_read_only(failure)

    def _connect(self, target: str, uri: bool = False) -> sqlite3.Connection:
        return sqlite3.connect(
            target, isolation_level=None, check_same_thread=False, timeout=self._timeout, uri=uri
        )

    def _open_read_only(self, failure: StoreError) -> None:
        """A data dir that cannot be written still answers reads: ``mode=ro`` (which needs the
        WAL's -shm file to exist or be creatable), else, on a read-only file system or in a
        directory this process may not write, whose WAL is empty, ``immutable`` (nothing is in
        the WAL; a writer would first have to create it there, which the read-only mount or
        the directory's permissions stop)."""
        if hasattr(self, "_db"):
            self._db.close()
        attempts = ["mode=ro"]
        wal = self.path.with_name(self.path.name + "-wal")
        parent = str(self.path.parent)
        locked = read_only_fs(parent) or not os.access(parent, os.W_OK)
        if locked and (not wal.exists() or wal.stat().st_size == 0):
            attempts.append("immutable=1")  # all of the DB is in its main file: nothing to miss
        for flags in attempts:
            try:
                self._target = (f"file:{self.path}?{flags}", True)
                self._db = self._connect(*self._target)
                version = self._db.execute("PRAGMA user_version").fetchone()[0]
                break
            except sqlite3.DatabaseError:
                self._db.close()
        else:
            raise failure
        if version != len(MIGRATIONS):  # an upgrade is a write: say so rather than read a stale schema
            raise failure
        self.read_only = True

    # plumbing -----------------------------------------------------------------
    @contextmanager
    def _failures(self, doing: str) -> Iterator[None]:
        """A sqlite3 error met while ``doing`` raised as the store error it means, if any."""
        try:
            yield
        except sqlite3.Error as exc:
            failure = classify(exc, str(self.path), doing)
            if failure is None:
                raise
            raise failure from None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self.read_only:
                raise StoreReadOnlyError(
                    f"cannot write to the execution DB {self.path}: the data dir is read-only; "
                    f"nothing was changed; commands that only read still work"
                )
            with self._failures("write to the execution DB"):
                self._db.execute("BEGIN IMMEDIATE")
                self._writer = threading.get_ident()
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise
                finally:
                    self._writer = None

    def _rollback(self) -> None:
        # A failed COMMIT (disk full) leaves the transaction open; a failed statement may have
        # ended it already. Either way nothing of it is kept.
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def _read(self, query: str, params: Iterable[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        args = params if isinstance(params, dict) else tuple(params)
        if self._closed or self._writer == threading.get_ident():  # inside a write: see it
            with self._lock, self._failures("read the execution DB"):
                return self._db.execute(query, args).fetchall()
        with self._failures("read the execution DB"):
            try:
                db = self._readers.pop()  # atomic: each idle connection goes to one thread
            except IndexError:
                db = self._connect(*self._target)
            try:
                return db.execute(query, args).fetchall()
            finally:
                if self._closed:
                    db.close()
                else:
                    self._readers.append(db)

    def _migrate(self) -> None:
        db = self._db

        def apply(number: int, migration: str) -> None:
            for statement in migration.split(";"):
                if statement.strip():
                    db.execute(statement)
            if number == INPUT_EDGES_MIGRATION:
                self._backfill_input_edges()
            db.execute(f"PRAGMA user_version = {number}")

        # Only a DB that needs it is written to: an up-to-date one opens on a read-only disk.
        if self._db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS):
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            apply_migrations(MIGRATIONS, version, str(self.path), apply)
            self._db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _backfill_input_edges(self) -> None:
        """execution_inputs rows for the executions stored before the table existed."""
        last = 0
        while True:
            rows = self._db.execute(
                "SELECT id, inputs FROM executions WHERE id > ? ORDER BY id LIMIT ?", (last, BACKFILL_BATCH)
            ).fetchall()
            if not rows:
                return
            self._db.executemany("INSERT OR IGNORE INTO execution_inputs VALUES (?, ?)", input_edges(rows))
            last = rows[-1][0]

    def integrity_problems(self) -> list[str]:
        rows = self._read("PRAGMA quick_check")
        return [] if rows == [("ok",)] else [r[0] for r in rows]

    def schema_version(self) -> int:
        return int(self._read("PRAGMA user_version")[0][0])

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._db.close()
            while self._readers:
                self._readers.pop().close()

    # values ------------------------------------------------------------------
    def put_blocks(self, blocks: Iterable[tuple[CID, bytes]]) -> None:
        with self._write() as db:
            db.executemany(
                "INSERT OR IGNORE INTO blocks VALUES (?, ?)", [(c.cid_bytes, d) for c, d in blocks]
            )

    # runs --------------------------------------------------------------------
    def commit_step(self, step: StepCommit) -> bool:
        try:
            with self._write() as db:
                self._commit_step(db, step)
        except Abort:
            return False
        self._notify()
        return True

    def _commit_step(self, db: sqlite3.Connection, step: StepCommit) -> None:
        moved = db.execute(
            "UPDATE runs SET next_segment = next_segment + ?, status = ?, total_time = ?, "
            "error = ?, updated_at = ? WHERE id = ? AND next_segment = ? AND status = 'running'",
            (
                1 if step.output else 0,
                step.run_status,
                step.total_time,
                step.error,
                step.now,
                step.run.cid_bytes,
                step.segment,
            ),
        ).rowcount
        if moved != 1:
            raise Abort
        db.executemany(
            "INSERT OR IGNORE INTO blocks VALUES (?, ?)", [(c.cid_bytes, d) for c, d in step.blocks]
        )
        db.executemany(
            "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?)",
            [(e.hash.cid_bytes, e.run.cid_bytes, e.segment, encode(e.data()), step.now) for e in step.events],
        )
        if step.output:
            out = step.output
            db.execute(
                "INSERT INTO segment_outputs VALUES (?, ?, ?, ?, ?)",
                (
                    step.run.cid_bytes,
                    out.segment,
                    out.output.cid_bytes,
                    out.producer.cid_bytes,
                    out.segment_time,
                ),
            )
        self._insert_executions(db, step.executions)
        if step.attestations:
            self._insert_attestations(db, step.attestations, step.now)
        if step.attempts:
            db.executemany(INSERT_ATTEMPT, [attempt_row(a) for a in step.attempts])

    def _insert_executions(self, db: sqlite3.Connection, executions: list[Execution]) -> None:
        if not executions:
            return
        top = db.execute(
            "UPDATE meta SET value = value + ? WHERE key = 'seq' RETURNING value", (len(executions),)
        ).fetchone()[0]
        first_seq = top - len(executions) + 1
        rows = [(*execution_row(e), first_seq + offset) for offset, e in enumerate(executions)]
        db.executemany(f"INSERT INTO executions ({COLUMNS}) VALUES ({self._marks(len(rows[0]))})", rows)
        # rowids are consecutive within one INSERT batch in a write transaction
        last = db.execute("SELECT last_insert_rowid()").fetchone()[0]
        first_id = last - len(executions) + 1
        db.executemany(
            "INSERT OR IGNORE INTO execution_parents VALUES (?, ?)",
            [(p.cid_bytes, first_id + i) for i, e in enumerate(executions) for p in set(e.parents)],
        )
        db.executemany(
            "INSERT OR IGNORE INTO execution_inputs VALUES (?, ?)",
            [(v.cid_bytes, first_id + i) for i, e in enumerate(executions) for v in set(e.inputs)],
        )
        db.execute(spans.SQLITE_FOLD, (first_id, last))

    # external executors ------------------------------------------------------------
    def insert_execution(self, execution: Execution) -> Execution | None:
        queue = self._queue_of(execution) if execution.status is Status.CREATED else DEFAULT_QUEUE
        try:
            with self._write() as db:
                if db.execute(
                    "SELECT 1 FROM executions WHERE hash = ?", (execution.hash.cid_bytes,)
                ).fetchone():
                    raise Abort
                self._insert_executions(db, [execution])
                if queue != DEFAULT_QUEUE:
                    db.execute(
                        "UPDATE executions SET queue = ? WHERE hash = ?", (queue, execution.hash.cid_bytes)
                    )
        except Abort:
            return None
        self._notify()
        return self.get_execution(execution.hash)

    # Store.transition's signature, as an override must; the locking below is SQLite's.
    def transition(
        self,
        execution_hash: CID,
        expected: Status,
        new: Status,
        *,
        now: int,
        executor: str | None = None,
        output: tuple[CID, bytes] | None = None,
        error: str | None = None,
    ) -> Execution | None:
        sets, params = self._transition_sets(new, now, executor, output, error)
        sets.append("seq = (SELECT value FROM meta WHERE key = 'seq')")
        try:
            with self._write() as db:
                db.execute("UPDATE meta SET value = value + 1 WHERE key = 'seq'")
                changed = db.execute(
                    f"UPDATE executions SET {', '.join(sets)} WHERE hash = ? AND status = ?",
                    [*params, execution_hash.cid_bytes, expected.value],
                ).rowcount
                if changed != 1:
                    raise Abort
                if output:
                    db.execute("INSERT OR IGNORE INTO blocks VALUES (?, ?)", (output[0].cid_bytes, output[1]))
        except Abort:
            return None
        self._notify()
        return self.get_execution(execution_hash)

    def claim(self, execution_hash: CID, executor: str, *, lease: int) -> Execution | None:
        try:
            with self._write() as db:
                seq = db.execute(
                    "UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value"
                ).fetchone()[0]
                row = db.execute(
                    "UPDATE executions SET status = 'in_progress', executor = ?, "
                    f"started_at = {self.NOW_NS}, "
                    f"lease_until = {self.NOW_NS} + ?, seq = ? WHERE hash = ? AND status = 'created' "
                    "RETURNING started_at",
                    (executor, lease, seq, execution_hash.cid_bytes),
                ).fetchone()
                if row is None:
                    raise Abort
                db.execute(
                    "INSERT INTO execution_history VALUES (?, ?, ?, 'claimed', ?, NULL)",
                    (execution_hash.cid_bytes, seq, row[0], executor),
                )
        except Abort:
            return None
        self._notify()
        return self.get_execution(execution_hash)

    def claim_next(
        self, executor: str, queue: str, operations: Sequence[CID], limit: int, lease: int
    ) -> list[Execution]:
        where = "status = 'created' AND queue = ?"
        params: list[Any] = [queue]
        if operations:
            where += f" AND operation IN ({self._marks(len(operations))})"
            params += [op.cid_bytes for op in operations]
        # A read first: claimants wake on every commit and most find nothing for them, so the
        # write lock that every commit needs is taken only when there is something to claim.
        if not self._read(f"SELECT 1 FROM executions WHERE {where} LIMIT 1", params):
            return []
        claimed: list[tuple[bytes, int, int]] = []
        with self._write() as db:
            # One UPDATE ... RETURNING in the write transaction: SQLite has one writer at a time,
            # so whatever it picks is claimed once; the picked rows take the next seqs in id order.
            top = db.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0]
            claimed = db.execute(
                f"WITH picked AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM executions "
                f"WHERE {where} ORDER BY id LIMIT ?) "
                "UPDATE executions SET status = 'in_progress', executor = ?, "
                f"started_at = {self.NOW_NS}, "
                f"lease_until = {self.NOW_NS} + ?, seq = ? + picked.n FROM picked "
                f"WHERE executions.id = picked.id RETURNING hash, seq, started_at",
                [*params, limit, executor, lease, top],
            ).fetchall()
            if claimed:
                db.execute("UPDATE meta SET value = value + ? WHERE key = 'seq'", (len(claimed),))
                db.executemany(
                    "INSERT INTO execution_history VALUES (?, ?, ?, 'claimed', ?, NULL)",
                    [(hash_, seq, at, executor) for hash_, seq, at in claimed],
                )
        if not claimed:
            return []
        self._notify()
        claimed.sort(key=lambda row: row[1])
        return [e for e in (self.get_execution(CID(row[0])) for row in claimed) if e is not None]

    _LAPSED = (
        "SELECT id, hash, executor, lease_until FROM executions WHERE status = 'in_progress' "
        "AND lease_until < coalesce(?, {now}) ORDER BY id LIMIT ?"
    )

    def expire_leases(self, now: int | None = None, limit: int = 100) -> list[Execution]:
        lapsed = self._LAPSED.format(now=self.NOW_NS)
        # A read first: the sweep runs every second or so, and most of the time finds nothing,
        # so it must not take the write lock that every commit needs.
        if not self._read(lapsed, (now, 1)):
            return []
        expired = []
        with self._write() as db:
            at = now if now is not None else db.execute(f"SELECT {self.NOW_NS}").fetchone()[0]
            for row_id, hash_, owner, until in db.execute(lapsed, (now, limit)).fetchall():
                seq = db.execute(
                    "UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value"
                ).fetchone()[0]
                db.execute(
                    "UPDATE executions SET status = 'created', executor = NULL, "
                    "started_at = NULL, lease_until = NULL, seq = ? WHERE id = ?",
                    (seq, row_id),
                )
                db.execute(
                    "INSERT INTO execution_history VALUES (?, ?, ?, 'lease_expired', ?, ?)",
                    (hash_, seq, at, owner, f"lease of {owner} ended at {until}"),
                )
                expired.append(CID(hash_))
        self._notify()
        return [e for e in map(self.get_execution, expired) if e is not None]

    # trust ---------------------------------------------------------------------------
    def put_attestations(self, rows: Iterable[AttestationRow], now: int) -> int:
        listed = list(rows)
        with self._write() as db:
            new = self._insert_attestations(db, listed, now)
            if new:
                # A later attestation is a change of its (completed) execution: a new seq
                # announces it again to Updates, and so to the peers that follow this node.
                hashes = sorted({a.execution.cid_bytes for a in listed})
                completed = [
                    r[0]
                    for r in db.execute(
                        f"SELECT hash FROM executions WHERE hash IN ({self._marks(len(hashes))}) "
                        "AND status = 'completed' ORDER BY id",
                        hashes,
                    )
                ]
                for hash_ in completed:
                    db.execute("UPDATE meta SET value = value + 1 WHERE key = 'seq'")
                    db.execute(
                        "UPDATE executions SET seq = (SELECT value FROM meta WHERE key = 'seq') "
                        "WHERE hash = ?",
                        (hash_,),
                    )
        if new:
            self._notify()
        return new

    @staticmethod
    def _insert_attestations(db: sqlite3.Connection, rows: list[AttestationRow], now: int) -> int:
        db.executemany(
            "INSERT OR IGNORE INTO blocks VALUES (?, ?)", [(a.cid.cid_bytes, a.data) for a in rows]
        )
        before = db.total_changes
        db.executemany(
            "INSERT OR IGNORE INTO attestations VALUES (?, ?, ?, ?, ?)",
            [(a.execution.cid_bytes, a.cid.cid_bytes, a.signer, a.role, now) for a in rows],
        )
        return db.total_changes - before

    def import_batch(self, batch: ImportBatch) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self._write() as db:

            def run(kind: str, sql: str, rows: list[tuple[Any, ...]]) -> None:
                before = db.total_changes
                db.executemany(sql, rows)
                counts[kind] = db.total_changes - before

            run(
                "blocks",
                "INSERT OR IGNORE INTO blocks VALUES (?, ?)",
                [(c.cid_bytes, d) for c, d in batch.blocks],
            )
            for table, width, rows in import_rows(batch):
                run(table, f"INSERT OR IGNORE INTO {table} VALUES ({self._marks(width)})", rows)
            known: set[bytes] = set()
            for chunk in range(0, len(batch.executions), 500):
                hashes = [e.hash.cid_bytes for e in batch.executions[chunk : chunk + 500]]
                known.update(
                    r[0]
                    for r in db.execute(
                        f"SELECT hash FROM executions WHERE hash IN ({', '.join('?' * len(hashes))})", hashes
                    )
                )
            fresh = [e for e in batch.executions if e.hash.cid_bytes not in known]
            self._insert_executions(db, fresh)
            counts["executions"] = len(fresh)
            counts["attestations"] = self._insert_attestations(db, batch.attestations, batch.now)
            if batch.emitted:  # a bundle with emitted events (issue 17)
                counts["emitted"] = self._import_emitted(db, batch.emitted, batch.now)
        self._notify()
        return counts

    def _notify(self) -> None:
        with self._changed:
            self._commits += 1
            self._changed.notify_all()

    def wait_for_change(self, seq: int, timeout: float) -> None:
        # Commits of this process wake waiters at once; other processes' commits
        # are seen by the caller's next poll, at most ``timeout`` later. The database is read
        # outside the condition's lock: every commit's _notify takes that lock, and must not
        # queue behind a waiter's read. The commit count says whether one came meanwhile.
        with self._changed:
            commits = self._commits
        if self.max_seq() > seq:
            return
        with self._changed:
            if self._commits == commits:
                self._changed.wait(timeout)
