"""The PostgreSQL store itself: its write path (each writer's locks in one order; new
executions committed without a seq and numbered after by the sequencer) on top of the reads it
shares with SQLite (:mod:`catenary.store.sql`)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from catenary.cid import CID, encode
from catenary.errors import StoreError, StoreUnavailableError
from catenary.model import Execution, Status
from catenary.model.queues import DEFAULT_QUEUE
from catenary.store.base import AttestationRow, ImportBatch, StepCommit
from catenary.store.failures import classify
from catenary.store.lineage import lineage_statements
from catenary.store.postgres import schema
from catenary.store.postgres.group_commit import GroupCommit
from catenary.store.postgres.listen import ChangeListener
from catenary.store.postgres.pool import Connections, describe, message, unreachable
from catenary.store.postgres.schema import CHANNEL, INSERT_NUMBERED, INSERT_UNNUMBERED, SCHEMA_VERSION
from catenary.store.postgres.sequencer import Sequencer
from catenary.store.rows import COLUMN_NAMES, INSERT_ATTEMPT, attempt_row, execution_row, import_rows
from catenary.store.sql import Abort, SQLStore


class PostgresStore(SQLStore):
    """A store in one PostgreSQL database, shared by any number of nodes.

    ``dsn`` is a libpq URL or key/value string. ``pool_size`` caps the connections this
    store opens (plus one for ``LISTEN``, opened on the first :meth:`wait_for_change`).
    """

    MARK = "%s"
    FOR_UPDATE = " FOR UPDATE"
    BYTE_ORDER = ' COLLATE "C"'  # byte order, as SQLite sorts, whatever the database's locale
    LINEAGE_SQL = lineage_statements(lambda name: f"%({name})s")
    EVENT_ORDER_LOCK = "SELECT pg_advisory_xact_lock(7308613719182107681)"  # "emitted!" as an int64
    # The server's clock, whichever node asks (clock_timestamp: now, not the transaction's start).
    NOW_NS = "(extract(epoch FROM clock_timestamp()) * 1000000000)::bigint"

    def __init__(self, dsn: str, pool_size: int = 10, connect_timeout: float = 10.0) -> None:
        self.dsn = dsn
        self.where = describe(dsn)
        try:
            given = conninfo_to_dict(dsn).get("connect_timeout")
        except psycopg.ProgrammingError as exc:
            raise StoreError(f"invalid PostgreSQL URL for the execution DB: {exc}") from None
        if given and str(given).isdigit() and int(given) > 0:
            # The URL's own ?connect_timeout= also bounds the wait for a pooled connection, so
            # that a server gone is reported in seconds, not after the default 30 s.
            connect_timeout = float(given)
        # Migrate on a connection of its own first: an unreachable server or a refused login
        # fails here at once, in libpq's words, instead of as a pool timeout.
        try:
            with psycopg.connect(
                dsn, autocommit=True, connect_timeout=max(2, round(connect_timeout))
            ) as conn:
                schema.migrate(conn, self.where)
        except psycopg.OperationalError as exc:
            raise StoreUnavailableError(unreachable(self.where, message(exc))) from None
        except psycopg.Error as exc:
            failure = classify(exc, f"the execution DB {self.where}", "open")
            raise failure or StoreError(f"cannot use the execution DB {self.where}: {message(exc)}") from None
        self._pool = Connections(dsn, self.where, pool_size, 3 * connect_timeout)
        self._changed = threading.Condition()
        self._latest = 0  # highest seq known to be committed (from NOTIFY and own commits)
        self._sequencer = Sequencer(self._write, self._read, self._notify, self._pause)
        self._listener = ChangeListener(dsn, self._notify, self._sequencer.stamp_left_over)
        self._closed = False
        self._steps = GroupCommit(self._commit_steps)
        # What a writer that died between its commit and its stamp left without a seq.
        self._sequencer.stamp_left_over()

    # plumbing -----------------------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[psycopg.Connection]:
        """One transaction. Nothing is kept when the body raises (``Abort`` included)."""
        with self._pool.connection() as conn:
            with conn.transaction():
                yield conn

    def _read(self, query: str, params: Iterable[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        with self._pool.connection() as conn:
            return conn.execute(
                query, params if isinstance(params, dict) else tuple(params), binary=True
            ).fetchall()

    def integrity_problems(self) -> list[str]:
        # PostgreSQL checks its own pages (checksums, amcheck are the administrator's tools);
        # what catenary can break is the seq counter falling behind the stored seqs.
        top, counter = self._read(
            "SELECT (SELECT coalesce(max(seq), 0) FROM executions), "
            "(SELECT value FROM meta WHERE key = 'seq')"
        )[0]
        if top > counter:
            return [
                f"the seq counter ({counter}) is below the highest stored seq ({top}): "
                f"new changes would reuse seqs that subscribers have seen"
            ]
        return []

    def schema_version(self) -> int:
        """The number of migrations applied to this database."""
        return int(self._read(SCHEMA_VERSION)[0][0])

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._listener.stop(self._pool.notify)
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
        conn.execute(
            "INSERT INTO blocks (cid, data) SELECT * FROM unnest(%b::bytea[], %b::bytea[]) "
            "ON CONFLICT DO NOTHING",
            ([c for c, _ in rows], [d for _, d in rows]),
        )

    # step commits -------------------------------------------------------------------------------
    def commit_step(self, step: StepCommit) -> bool:
        return self._steps.commit(step)

    def _commit_steps(self, steps: list[StepCommit]) -> list[bool]:
        """Record ``steps`` in one transaction (a group commit); for each, whether it was
        recorded (False: its run moved on meanwhile, and nothing of it was written)."""
        with self._pool.connection() as conn, conn.pipeline() as pipe, conn.transaction():
            numbering, moved = self._write_steps(conn, pipe, steps)
        self._after_commit(*numbering)
        return moved

    def _write_steps(
        self, conn: psycopg.Connection, pipe: psycopg.Pipeline, batch: list[StepCommit]
    ) -> tuple[tuple[int, int], list[bool]]:
        # Runs are locked in id order, then blocks in CID order: every writer takes its locks in
        # that order, so writers on any nodes never deadlock. No lock is shared by all writers:
        # the executions go in without a seq (numbered after the commit: .sequencer).
        ordered = sorted(batch, key=lambda s: s.run.cid_bytes)
        # The optimistic check. Its row lock makes a concurrent step of the same run, from any
        # node, wait here and then find next_segment moved: exactly one commits.
        checks = [
            conn.execute(
                "UPDATE runs SET next_segment = next_segment + %s, status = %s, total_time = %s, "
                "error = %s, updated_at = %s WHERE id = %s AND next_segment = %s AND status = 'running'",
                (
                    1 if s.output else 0,
                    s.run_status,
                    s.total_time,
                    s.error,
                    s.now,
                    s.run.cid_bytes,
                    s.segment,
                ),
            )
            for s in ordered
        ]
        pipe.sync()
        steps = [s for s, check in zip(ordered, checks) if check.rowcount == 1]
        recorded = {id(s) for s in steps}
        moved = [id(s) in recorded for s in batch]
        if not steps:
            return (0, 0), moved
        blocks = sorted(
            {
                c.cid_bytes: d
                for s in steps
                for c, d in [*s.blocks, *((a.cid, a.data) for a in s.attestations)]
            }.items()
        )
        if blocks:
            self._insert_blocks(conn, blocks)
        events = [
            (e.hash.cid_bytes, e.run.cid_bytes, e.segment, encode(e.data()), s.now)
            for s in steps
            for e in s.events
        ]
        if events:
            conn.execute(
                "INSERT INTO events SELECT * FROM unnest(%b::bytea[], %b::bytea[], "
                "%b::bigint[], %b::bytea[], %b::bigint[]) ON CONFLICT DO NOTHING",
                [list(column) for column in zip(*events)],
            )
        outputs = [
            (
                s.run.cid_bytes,
                s.output.segment,
                s.output.output.cid_bytes,
                s.output.producer.cid_bytes,
                s.output.segment_time,
            )
            for s in steps
            if s.output
        ]
        if outputs:
            conn.execute(
                "INSERT INTO segment_outputs SELECT * FROM unnest(%b::bytea[], %b::bigint[], "
                "%b::bytea[], %b::bytea[], %b::float8[])",
                [list(column) for column in zip(*outputs)],
            )
        executions = [e for s in steps for e in s.executions]
        inserted, numbering = self._insert_executions(conn, executions)
        if inserted != len(executions):
            raise StoreError(
                f"run {steps[0].run} segment {steps[0].segment}: an execution of this "
                f"step is already recorded"
            )
        for s in steps:
            if s.attestations:
                self._index_attestations(conn, s.attestations, s.now)
        attempts = [attempt_row(a) for s in steps for a in s.attempts]
        if attempts:
            with conn.cursor() as cursor:
                cursor.executemany(INSERT_ATTEMPT.replace("?", "%s"), attempts)
        return numbering, moved

    @staticmethod
    def _insert_executions(
        conn: psycopg.Connection, executions: list[Execution]
    ) -> tuple[int, tuple[int, int]]:
        """Insert ``executions`` with their edges; (rows new, what :meth:`_after_commit` needs
        once committed: (the top seq to announce, 0) or (0, the last id to wait for)).

        If the sequencer's lock is free (the usual case), this transaction takes it, numbers
        what others left without a seq, and then its own rows from the counter: one flush, as
        before the sequencer. If another transaction holds it, the rows go in without a seq,
        and the caller waits after its commit until a stamp numbers them (see .sequencer)."""
        if not executions:
            return 0, (0, 0)
        params = PostgresStore._execution_params(executions)
        numbering = Sequencer.stamp_in(conn) is not None
        row = conn.execute(INSERT_NUMBERED if numbering else INSERT_UNNUMBERED, params).fetchone()
        assert row is not None  # count(*) always returns a row
        inserted, last_id, top = int(row[0]), int(row[1]), int(row[2])
        return inserted, ((top, 0) if numbering else (0, last_id))

    @staticmethod
    def _execution_params(executions: list[Execution]) -> dict[str, Any]:
        """The parameters of INSERT_NUMBERED / INSERT_UNNUMBERED: one array per column (all
        but seq), the parent and input edges, and the count."""
        columns = zip(*map(execution_row, executions))
        params: dict[str, Any] = {name: list(values) for name, values in zip(COLUMN_NAMES, columns)}
        edges = [(p.cid_bytes, e.hash.cid_bytes) for e in executions for p in set(e.parents)]
        params["edge_parent"] = [p for p, _ in edges]
        params["edge_child"] = [c for _, c in edges]
        inputs = [(v.cid_bytes, e.hash.cid_bytes) for e in executions for v in set(e.inputs)]
        params["edge_input"] = [v for v, _ in inputs]
        params["edge_input_child"] = [c for _, c in inputs]
        params["n"] = len(executions)
        return params

    def _after_commit(self, top: int, waiting: int) -> None:
        """Announce the seqs a commit handed out, or wait until a stamp numbers its rows."""
        if top:
            self._notify(top)
        if waiting:
            self._sequencer.wait_stamped(waiting)

    # external executors -------------------------------------------------------------------------
    def insert_execution(self, execution: Execution) -> Execution | None:
        queue = self._queue_of(execution) if execution.status is Status.CREATED else DEFAULT_QUEUE
        try:
            with self._write() as conn:
                inserted, numbering = self._insert_executions(conn, [execution])
                if inserted != 1:
                    raise Abort  # the hash exists
                if queue != DEFAULT_QUEUE:
                    conn.execute(
                        "UPDATE executions SET queue = %s WHERE hash = %s", (queue, execution.hash.cid_bytes)
                    )
        except Abort:
            return None
        self._after_commit(*numbering)  # the execution returned has its seq
        return self.get_execution(execution.hash)

    # Store.transition's signature, as an override must; the locking below is PostgreSQL's.
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
        try:
            with self._write() as conn:
                # The conditional update is the claim: of two claimants (on any nodes) the second
                # waits for the first's row lock, then finds the status changed and matches nothing.
                row = conn.execute(
                    f"UPDATE executions SET {', '.join(sets)} WHERE hash = %s AND status = %s RETURNING id",
                    [*params, execution_hash.cid_bytes, expected.value],
                ).fetchone()
                if row is None:
                    raise Abort
                if output:
                    self._insert_blocks(conn, [(output[0].cid_bytes, output[1])])
                top = self._bump_seq(conn, [row[0]])  # the counter last, as in every writer
        except Abort:
            return None
        self._notify(top)
        return self.get_execution(execution_hash)

    # leases of external executors ----------------------------------------------------------------
    def claim(self, execution_hash: CID, executor: str, *, lease: int) -> Execution | None:
        try:
            with self._write() as conn:
                # The execution row first (of two claimants, the second waits here and then
                # matches nothing), the counter last, as in every writer.
                row = conn.execute(
                    "UPDATE executions SET status = 'in_progress', executor = %s, "
                    f"started_at = {self.NOW_NS}, "
                    f"lease_until = {self.NOW_NS} + %s WHERE hash = %s AND status = 'created' "
                    "RETURNING id, started_at",
                    (executor, lease, execution_hash.cid_bytes),
                ).fetchone()
                if row is None:
                    raise Abort
                top = self._bump_seq(conn, [row[0]])
                conn.execute(
                    "INSERT INTO execution_history VALUES (%s, %s, %s, 'claimed', %s, NULL)",
                    (execution_hash.cid_bytes, top, row[1], executor),
                )
        except Abort:
            return None
        self._notify(top)
        return self.get_execution(execution_hash)

    def claim_next(
        self, executor: str, queue: str, operations: Sequence[CID], limit: int, lease: int
    ) -> list[Execution]:
        where = "status = 'created' AND queue = %(queue)s"
        if operations:
            where += " AND operation = ANY(%(operations)s::bytea[])"
        params = {
            "queue": queue,
            "operations": [op.cid_bytes for op in operations],
            "limit": limit,
            "executor": executor,
            "lease": lease,
        }
        # A read first: claimants on every node wake on every commit and most find nothing.
        if not self._read(f"SELECT 1 FROM executions WHERE {where} LIMIT 1", params):
            return []
        with self._write() as conn:
            # SKIP LOCKED: claimants on any nodes each lock different rows and never wait for
            # one another's; FOR UPDATE re-checks the status of a row that changed meanwhile,
            # so each execution has one winner.
            rows = conn.execute(
                f"WITH picked AS (SELECT id FROM executions WHERE {where} ORDER BY id "
                f"LIMIT %(limit)s FOR UPDATE SKIP LOCKED) "
                f"UPDATE executions x SET status = 'in_progress', executor = %(executor)s, "
                f"started_at = {self.NOW_NS}, lease_until = {self.NOW_NS} + %(lease)s "
                f"FROM picked WHERE x.id = picked.id RETURNING x.id, x.hash, x.started_at",
                params,
            ).fetchall()
            if not rows:
                return []
            rows.sort(key=lambda r: r[0])
            top = self._bump_seq(conn, [r[0] for r in rows])  # the counter last, as in every writer
            first = top - len(rows) + 1
            conn.cursor().executemany(
                "INSERT INTO execution_history VALUES (%s, %s, %s, 'claimed', %s, NULL)",
                [(hash_, first + i, at, executor) for i, (_, hash_, at) in enumerate(rows)],
            )
        self._notify(top)
        return [e for e in (self.get_execution(CID(r[1])) for r in rows) if e is not None]

    def expire_leases(self, now: int | None = None, limit: int = 100) -> list[Execution]:
        lapsed = f"status = 'in_progress' AND lease_until < coalesce(%s::bigint, {self.NOW_NS})"
        # A read first: every node sweeps every second or so and most sweeps find nothing.
        if not self._read(f"SELECT 1 FROM executions WHERE {lapsed} LIMIT 1", (now,)):
            return []
        with self._write() as conn:
            # SKIP LOCKED: two nodes sweeping at once split the lapsed claims between them, and
            # a claim being renewed or completed right now is left for the next sweep (FOR UPDATE
            # re-checks the condition on rows that changed meanwhile).
            rows = conn.execute(
                f"SELECT id, hash, executor, lease_until, coalesce(%s::bigint, {self.NOW_NS}) "
                f"FROM executions WHERE {lapsed} ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                (now, now, limit),
            ).fetchall()
            if not rows:
                return []
            top = self._bump_seq(conn, [r[0] for r in rows], status="created")
            first = top - len(rows) + 1
            for offset, (_, hash_, owner, until, at) in enumerate(rows):
                conn.execute(
                    "INSERT INTO execution_history VALUES (%s, %s, %s, 'lease_expired', %s, %s)",
                    (hash_, first + offset, at, owner, f"lease of {owner} ended at {until}"),
                )
        self._notify(top)
        return [e for e in (self.get_execution(CID(r[1])) for r in rows) if e is not None]

    @staticmethod
    def _bump_seq(conn: psycopg.Connection, ids: list[int], status: str | None = None) -> int:
        """Give the executions ``ids`` new consecutive seqs (in this order) from the counter,
        taking its lock, and queue the notification; with ``status``, also return them to it
        with no owner (a lapsed lease). Returns the highest seq."""
        reset = (
            ", status = %(status)s, executor = NULL, started_at = NULL, lease_until = NULL" if status else ""
        )
        row = conn.execute(
            f"WITH c AS (UPDATE meta SET value = value + %(n)s WHERE key = 'seq' RETURNING value), "
            f"u AS (UPDATE executions x SET seq = c.value - %(n)s + v.ord{reset} "
            f"FROM c, unnest(%(ids)s::bigint[]) WITH ORDINALITY AS v(id, ord) WHERE x.id = v.id) "
            f"SELECT c.value, pg_notify('{CHANNEL}', c.value::text) FROM c",
            {"n": len(ids), "ids": ids, "status": status},
        ).fetchone()
        assert row is not None  # the statement always returns the counter's row
        return int(row[0])

    # trust --------------------------------------------------------------------------------------
    def put_attestations(self, rows: Iterable[AttestationRow], now: int) -> int:
        listed = list(rows)
        if not listed:
            return 0
        with self._write() as conn:
            self._insert_blocks(conn, sorted({a.cid.cid_bytes: a.data for a in listed}.items()))
            return self._index_attestations(conn, listed, now)

    @staticmethod
    def _index_attestations(conn: psycopg.Connection, rows: list[AttestationRow], now: int) -> int:
        """Index attestation blocks (already stored) under their executions; how many were new."""
        unique = sorted({(a.execution.cid_bytes, a.cid.cid_bytes): a for a in rows}.items())
        return len(
            conn.execute(
                "INSERT INTO attestations (execution, cid, signer, role, created_at) "
                "SELECT e, c, s, r, %s FROM unnest(%s::bytea[], %s::bytea[], %s::text[], %s::text[]) "
                "AS v(e, c, s, r) ON CONFLICT DO NOTHING RETURNING 1",
                (
                    now,
                    [k[0] for k, _ in unique],
                    [k[1] for k, _ in unique],
                    [a.signer for _, a in unique],
                    [a.role for _, a in unique],
                ),
            ).fetchall()
        )

    def import_batch(self, batch: ImportBatch) -> dict[str, int]:
        counts: dict[str, int] = {}

        def insert(conn: psycopg.Connection, kind: str, query: str, rows: list[tuple[Any, ...]]) -> None:
            # RETURNING counts the rows actually inserted (ON CONFLICT skips the known ones).
            # Sorted by key, so that two nodes importing overlapping bundles cannot deadlock.
            new = 0
            for row in sorted(rows, key=lambda r: r[:2]):
                new += conn.execute(query + " ON CONFLICT DO NOTHING RETURNING 1", row).fetchone() is not None
            counts[kind] = new

        with self._write() as conn:
            blocks = sorted(
                {
                    c.cid_bytes: d for c, d in [*batch.blocks, *((a.cid, a.data) for a in batch.attestations)]
                }.items()
            )
            known_blocks = (
                {
                    r[0]
                    for r in conn.execute(
                        "SELECT cid FROM blocks WHERE cid = ANY(%s::bytea[])", ([c for c, _ in blocks],)
                    ).fetchall()
                }
                if blocks
                else set()
            )
            if blocks:
                self._insert_blocks(conn, blocks)
            counts["blocks"] = len({c.cid_bytes for c, _ in batch.blocks} - known_blocks)
            for table, width, rows in import_rows(batch):
                insert(conn, table, f"INSERT INTO {table} VALUES ({self._marks(width)})", rows)
            hashes = [e.hash.cid_bytes for e in batch.executions]
            known = (
                {
                    r[0]
                    for r in conn.execute(
                        "SELECT hash FROM executions WHERE hash = ANY(%s::bytea[])", (hashes,)
                    ).fetchall()
                }
                if hashes
                else set()
            )
            fresh = [e for e in batch.executions if e.hash.cid_bytes not in known]
            # A node importing the same bundle meanwhile may still win some of these; they are
            # skipped (ON CONFLICT) and counted as known.
            counts["executions"], numbering = self._insert_executions(conn, fresh)
            counts["attestations"] = (
                self._index_attestations(conn, batch.attestations, batch.now) if batch.attestations else 0
            )
            if batch.emitted:  # a bundle with emitted events (issue 17)
                counts["emitted"] = self._import_emitted(conn, batch.emitted, batch.now)
        self._after_commit(*numbering)
        return counts

    # change notifications -----------------------------------------------------------------------
    def _notify(self, seq: int) -> None:
        with self._changed:
            if seq > self._latest:
                self._latest = seq
            self._changed.notify_all()

    def _pause(self) -> None:
        """Wait briefly for the next NOTIFY (a stamp on any node): what a writer whose rows
        await a stamp does between looks."""
        self.wait_for_change(self._latest, 0.005)

    def wait_for_change(self, seq: int, timeout: float) -> None:
        # A commit on any node sends NOTIFY with its seq; the listener thread records it and wakes
        # waiters. A notification that is missed (listener reconnecting) costs at most ``timeout``:
        # the caller polls by seq again after it.
        self._start_listener()
        with self._changed:
            if self._latest <= seq:
                self._changed.wait(timeout)

    def _start_listener(self) -> None:
        if not self._closed:
            self._listener.start()
