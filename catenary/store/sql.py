"""What the SQLite and PostgreSQL stores share: the row mapping, the lineage statement, the
reads, the small writes and the migration bookkeeping, over the one schema both keep
(docs/design.md, "The store").

A backend says how it talks to its driver: the placeholder (``?`` or ``%s``), a named
placeholder (``:name`` or ``%(name)s``), how to read (:meth:`SQLStore._read`) and how to
write in one transaction (:meth:`SQLStore._write`). Everything whose SQL or locking differs
between the two (step commits, claims, imports, change notifications) stays in the backend.
"""

from __future__ import annotations

import abc
from contextlib import AbstractContextManager
from typing import Any, Callable, Iterable, Sequence, cast

import cbrrr

from catenary.cid import CID, decode, encode
from catenary.errors import StoreError
from catenary.model import Event, Execution, OperationManifest, OperationVersion, Run, Status, Workflow
from catenary.model.filter import ExecutionFilter
from catenary.store.base import AttestationRow, HistoryEntry, Lineage, RunState, SegmentOutput, Store
from catenary.store.filtering import where_clauses

# The execution columns in the order every read returns them (the SPEC §4 record, then seq).
COLUMN_NAMES = ("hash", "key", "workflow", "run", "segment", "step", "operation", "config", "parents",
                "inputs", "status", "output", "error", "executor", "cached_from", "created_at",
                "started_at", "finished_at", "seq")
COLUMNS = ", ".join(COLUMN_NAMES)
RUN_COLUMNS = "id, workflow, nonce, status, next_segment, total_time, error, created_at, updated_at"
DIRECTIONS = ("ancestors", "descendants")


class Abort(Exception):
    """Roll back the write transaction: a condition checked inside it did not hold."""


# row mapping ----------------------------------------------------------------------------------
def cid_or_none(value: bytes | None) -> CID | None:
    return None if value is None else CID(value)


EMPTY_MAP = encode({})


def config_bytes(config: dict[str, str]) -> bytes:
    return EMPTY_MAP if not config else encode(config)


def links_bytes(cids: tuple[CID, ...]) -> bytes:
    """DAG-CBOR of a list of links (the parents and inputs columns). A list of CIDs has nothing
    for :func:`encode`'s value checks to find, so it is encoded directly; anything else goes
    through :func:`encode`, which names the problem."""
    links: list[Any] = list(cids)
    for item in links:
        if not isinstance(item, CID):
            return encode(links)
    return cbrrr.encode_dag_cbor(links, cid_type=CID)


def execution_row(e: Execution) -> tuple[Any, ...]:
    """An execution as the values of :data:`COLUMN_NAMES` but ``seq`` (the writer numbers it)."""
    return (e.hash.cid_bytes, e.key.cid_bytes, e.workflow.cid_bytes, e.run.cid_bytes, e.segment,
            e.step, e.operation.cid_bytes, config_bytes(e.config), links_bytes(e.parents),
            links_bytes(e.inputs), e.status.value, e.output.cid_bytes if e.output else None,
            e.error, e.executor, e.cached_from.cid_bytes if e.cached_from else None,
            e.created_at, e.started_at, e.finished_at)


def row_to_execution(row: Sequence[Any]) -> Execution:
    """An execution from the columns :data:`COLUMNS` names, validating every link."""
    return Execution(
        hash=CID(row[0]), key=CID(row[1]), workflow=CID(row[2]), run=CID(row[3]),
        segment=row[4], step=row[5], operation=CID(row[6]), config=decode(row[7]),
        parents=tuple(cast("list[CID]", decode(row[8]))), inputs=tuple(cast("list[CID]", decode(row[9]))),
        status=Status(row[10]),
        output=cid_or_none(row[11]), error=row[12], executor=row[13], cached_from=cid_or_none(row[14]),
        created_at=row[15], started_at=row[16], finished_at=row[17], seq=row[18],
    )


_decode_links = cbrrr.decode_dag_cbor


def trusted_row_to_execution(row: Sequence[Any]) -> Execution:
    """:func:`row_to_execution` for columns this store wrote itself, without re-validating each
    link: a deep trace decodes tens of thousands of CIDs, and validation was most of its time."""
    config, parents, inputs = row[7], row[8], row[9]
    return Execution(
        hash=CID(row[0]), key=CID(row[1]), workflow=CID(row[2]), run=CID(row[3]),
        segment=row[4], step=row[5], operation=CID(row[6]),
        config={} if config == EMPTY_MAP else decode(config),
        parents=tuple(cast("list[CID]", _decode_links(parents, cid_ctor=CID))),
        inputs=tuple(cast("list[CID]", _decode_links(inputs, cid_ctor=CID))), status=Status(row[10]),
        output=cid_or_none(row[11]), error=row[12], executor=row[13], cached_from=cid_or_none(row[14]),
        created_at=row[15], started_at=row[16], finished_at=row[17], seq=row[18],
    )


def event_from_block(data: bytes) -> Event:
    fields = decode(data)
    return Event(fields["run"], fields["segment"], tuple(fields["inputs"]))


def operation_from_row(row: Sequence[bytes]) -> tuple[OperationManifest, OperationVersion]:
    version = decode(row[1])
    return (OperationManifest.from_data(decode(row[0])),
            OperationVersion(version["operation"], version["implementation"]))


def run_from_row(row: Sequence[Any], outputs: dict[int, SegmentOutput]) -> RunState:
    return RunState(CID(row[0]), CID(row[1]), row[2], row[3], row[4], row[5], row[6], row[7],
                    row[8], outputs)


# lineage ----------------------------------------------------------------------------------------
# Lineage in one statement: a recursive walk over the parent edges, then the executions
# reached and (for ancestors) the events among their parents. Without a depth limit the
# walk keeps one row per execution (UNION drops repeats), so it visits each node once
# however many paths lead to it; with a limit it carries the hop count.
# One hop of the walk in each direction: the execution reached, and the joins that reach it.
_HOP = {
    "ancestors": ("x.id", "JOIN execution_parents p ON p.child = w.id JOIN executions x ON x.hash = p.parent"),
    "descendants": ("p.child", "JOIN executions x ON x.id = w.id JOIN execution_parents p ON p.parent = x.hash"),
}


def _walk(direction: str, limited: bool, hash_mark: str, depth_mark: str) -> str:
    reached, joins = _HOP[direction]
    if limited:
        return (f"walk(id, level) AS (SELECT id, 0 FROM executions WHERE hash = {hash_mark} "
                f"UNION SELECT {reached}, w.level + 1 FROM walk w {joins} WHERE w.level < {depth_mark})")
    return (f"walk(id) AS (SELECT id FROM executions WHERE hash = {hash_mark} "
            f"UNION SELECT {reached} FROM walk w {joins})")


def lineage_sql(direction: str, limited: bool, named: Callable[[str], str]) -> str:
    """The lineage statement. Each row is ``'x'``, the :data:`COLUMNS` of an execution and its
    ``id``; or ``'e'``, an event's hash and block, padded with NULLs."""
    nodes = ("SELECT id, min(level) AS level FROM walk GROUP BY id" if limited
             else "SELECT id, 0 AS level FROM walk")
    columns = ", ".join(f"x.{c}" for c in COLUMN_NAMES)
    padding = ", ".join(["NULL"] * (len(COLUMN_NAMES) - 1))
    query = (f"WITH RECURSIVE {_walk(direction, limited, named('hash'), named('depth'))}, "
             f"nodes AS MATERIALIZED ({nodes}) "
             f"SELECT 'x', {columns}, x.id FROM nodes n JOIN executions x ON x.id = n.id")
    if direction == "ancestors":
        # Events are parents of reached executions that are within the depth limit.
        within = f"WHERE n.level < {named('depth')}" if limited else ""
        query += (f" UNION ALL SELECT 'e', ev.hash, ev.data, {padding} FROM events ev "
                  f"WHERE ev.hash IN (SELECT p.parent FROM nodes n JOIN execution_parents p "
                  f"ON p.child = n.id {within})")
    return query


def lineage_statements(named: Callable[[str], str]) -> dict[tuple[str, bool], str]:
    """:func:`lineage_sql` for each direction, with and without a depth limit."""
    return {(d, limited): lineage_sql(d, limited, named) for d in DIRECTIONS for limited in (False, True)}


def hop_counts(start: CID, executions: list[Execution], direction: str) -> dict[CID, int]:
    """Hop count of each execution from ``start``: a breadth-first walk over the edges among them."""
    following: dict[CID, list[CID]]
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


def lineage_from_rows(start: CID, rows: list[tuple[Any, ...]], direction: str) -> Lineage | None:
    """A :class:`Lineage` from the rows of :func:`lineage_sql`, in breadth-first order; ties in
    hop count keep insertion order (``id``: the walk's rows come in no fixed order)."""
    order: dict[CID, int] = {}
    executions = []
    events = []
    for r in rows:
        if r[0] == "x":
            e = trusted_row_to_execution(r[1:-1])
            order[e.hash] = r[-1]
            executions.append(e)
        else:
            events.append(event_from_block(r[2]))
    if not executions:
        return None
    levels = hop_counts(start, executions, direction)
    event_hashes = {e.hash for e in events}
    for e in executions:
        for parent in e.parents:
            if parent in event_hashes:
                levels[parent] = min(levels.get(parent, 1 << 62), levels[e.hash] + 1)
    executions.sort(key=lambda e: (levels[e.hash], order[e.hash]))
    events.sort(key=lambda e: levels[e.hash])
    return Lineage(executions, events, levels)


# migrations -------------------------------------------------------------------------------------
def apply_migrations(migrations: Sequence[str], version: int, where: str,
                     apply: Callable[[int, str], None]) -> None:
    """Apply the migrations after ``version`` in order, ``apply(number, sql)`` each (numbered
    from 1), inside the caller's transaction. ``where`` names the database in the refusal of
    a schema newer than this catenary."""
    if version > len(migrations):
        raise StoreError(f"{where} has schema version {version}, newer than this catenary "
                         f"understands ({len(migrations)}); upgrade catenary")
    for number in range(version, len(migrations)):
        apply(number + 1, migrations[number])


# the shared store -------------------------------------------------------------------------------
class SQLStore(Store):
    """The reads and small writes both SQL stores make the same way; see the module docstring."""

    MARK: str  # the driver's positional placeholder
    LINEAGE_SQL: dict[tuple[str, bool], str]  # lineage_statements() in the driver's named style
    BYTE_ORDER = ""  # what makes ORDER BY on text compare bytes (SQLite's default already does)

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
            conn.execute(self._sql("INSERT INTO operations VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"),
                         (version.id.cid_bytes, manifest.id.cid_bytes, manifest.name,
                          encode(manifest.data()), encode(version.data())))

    def get_version(self, version_id: CID) -> tuple[OperationManifest, OperationVersion] | None:
        rows = self._read(self._sql("SELECT manifest, version FROM operations WHERE version_id = ?"),
                          (version_id.cid_bytes,))
        return operation_from_row(rows[0]) if rows else None

    def list_versions(self) -> list[tuple[OperationManifest, OperationVersion]]:
        rows = self._read(f"SELECT manifest, version FROM operations ORDER BY name{self.BYTE_ORDER}, "
                          "version_id")
        return [operation_from_row(r) for r in rows]

    def put_workflow(self, workflow: Workflow, now: int) -> None:
        with self._write() as conn:
            conn.execute(self._sql("INSERT INTO workflows VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"),
                         (workflow.id.cid_bytes, workflow.name, encode(workflow.data()), now))

    def get_workflow(self, workflow_id: CID) -> Workflow | None:
        rows = self._read(self._sql("SELECT data FROM workflows WHERE id = ?"), (workflow_id.cid_bytes,))
        return Workflow.from_data(decode(rows[0][0])) if rows else None

    def list_workflows(self) -> list[tuple[CID, Workflow, int]]:
        rows = self._read("SELECT id, data, created_at FROM workflows ORDER BY created_at, id")
        return [(CID(r[0]), Workflow.from_data(decode(r[1])), r[2]) for r in rows]

    # runs -------------------------------------------------------------------------------------
    def create_run(self, run: Run, now: int) -> None:
        with self._write() as conn:
            conn.execute(self._sql("INSERT INTO runs VALUES (?, ?, ?, 'running', 0, 0.0, NULL, ?, ?)"),
                         (run.id.cid_bytes, run.workflow.cid_bytes, run.nonce, now, now))

    def get_run(self, run_id: CID) -> RunState | None:
        # One statement, so the run and its outputs come from one snapshot.
        rows = self._read(self._sql(
            f"SELECT {', '.join('r.' + c.strip() for c in RUN_COLUMNS.split(','))}, "
            "o.segment, o.output, o.producer, o.segment_time "
            "FROM runs r LEFT JOIN segment_outputs o ON o.run = r.id WHERE r.id = ?"),
            (run_id.cid_bytes,))
        if not rows:
            return None
        outputs = {r[9]: SegmentOutput(r[9], CID(r[10]), CID(r[11]), r[12])
                   for r in rows if r[9] is not None}
        return run_from_row(rows[0], outputs)

    def get_run_for_step(self, run_id: CID, segments: Callable[[RunState], Iterable[int]]
                         ) -> RunState | None:
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
        outputs = self._read(self._sql("SELECT segment, output, producer, segment_time FROM segment_outputs "
                                       f"WHERE run = ? AND segment IN ({self._marks(len(wanted))})"),
                             (run_id.cid_bytes, *wanted))
        return run_from_row(rows[0], {s: SegmentOutput(s, CID(o), CID(p), t) for s, o, p, t in outputs})

    def list_runs(self, workflow: CID | None = None, limit: int = 100) -> list[RunState]:
        if workflow is None:
            rows = self._read(self._sql(f"SELECT {RUN_COLUMNS} FROM runs ORDER BY created_at DESC LIMIT ?"),
                              (limit,))
        else:
            rows = self._read(self._sql(f"SELECT {RUN_COLUMNS} FROM runs WHERE workflow = ? "
                                        "ORDER BY created_at DESC LIMIT ?"), (workflow.cid_bytes, limit))
        return [run_from_row(r, {}) for r in rows]

    def get_event(self, event_hash: CID) -> Event | None:
        rows = self._read(self._sql("SELECT data FROM events WHERE hash = ?"), (event_hash.cid_bytes,))
        return event_from_block(rows[0][0]) if rows else None

    # executions -------------------------------------------------------------------------------
    def find_completed(self, key: CID) -> Execution | None:
        rows = self._read(self._sql(f"SELECT {COLUMNS} FROM executions WHERE key = ? "
                                    "AND status = 'completed' LIMIT 1"), (key.cid_bytes,))
        return row_to_execution(rows[0]) if rows else None

    def find_memo(self, key: CID) -> tuple[CID, CID] | None:
        """The memoization lookup without building the record: ``(output, origin)`` of a
        completed execution with this key (the same one :meth:`find_completed` finds), where
        origin is the execution that did the work (its ``cached_from``, or itself)."""
        rows = self._read(self._sql("SELECT hash, output, cached_from FROM executions "
                                    "WHERE key = ? AND status = 'completed' LIMIT 1"), (key.cid_bytes,))
        if not rows:
            return None
        h, output, cached_from = rows[0]
        return CID(output), CID(cached_from if cached_from is not None else h)

    def get_execution(self, execution_hash: CID) -> Execution | None:
        rows = self._read(self._sql(f"SELECT {COLUMNS} FROM executions WHERE hash = ?"),
                          (execution_hash.cid_bytes,))
        return row_to_execution(rows[0]) if rows else None

    def list_executions(self, flt: ExecutionFilter, limit: int, before: int | None
                        ) -> tuple[list[Execution], int | None]:
        where, params = where_clauses(flt, self.MARK)
        if before is not None:
            where.append(f"id < {self.MARK}")
            params.append(before)
        query = f"SELECT {COLUMNS}, id FROM executions"
        if where:
            query += " WHERE " + " AND ".join(where)
        query += f" ORDER BY id DESC LIMIT {self.MARK}"
        rows = self._read(query, [*params, limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        return [row_to_execution(r) for r in rows], (rows[-1][-1] if more else None)

    def executions_since(self, flt: ExecutionFilter, seq: int, limit: int) -> list[Execution]:
        where, params = where_clauses(flt, self.MARK)
        where.append(f"seq > {self.MARK}")
        params.append(seq)
        rows = self._read(f"SELECT {COLUMNS} FROM executions WHERE {' AND '.join(where)} "
                          f"ORDER BY seq LIMIT {self.MARK}", [*params, limit])
        return [row_to_execution(r) for r in rows]

    def max_seq(self) -> int:
        return int(self._read("SELECT value FROM meta WHERE key = 'seq'")[0][0])

    def _transition_sets(self, new: Status, now: int, executor: str | None,
                         output: tuple[CID, bytes] | None, error: str | None
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

    # leases -----------------------------------------------------------------------------------
    def renew_lease(self, execution_hash: CID, executor: str, lease_until: int) -> bool:
        with self._write() as conn:
            changed: int = conn.execute(
                self._sql("UPDATE executions SET lease_until = ? WHERE hash = ? "
                          "AND status = 'in_progress' AND executor = ?"),
                (lease_until, execution_hash.cid_bytes, executor)).rowcount
        return changed == 1

    def execution_history(self, execution_hash: CID) -> list[HistoryEntry]:
        rows = self._read(self._sql("SELECT seq, at, change, executor, detail FROM execution_history "
                                    "WHERE execution = ? ORDER BY seq"), (execution_hash.cid_bytes,))
        return [HistoryEntry(execution_hash, *row) for row in rows]

    # lineage and trust ------------------------------------------------------------------------
    def lineage(self, execution_hash: CID, direction: str, depth: int = 0) -> Lineage | None:
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be ancestors or descendants, not {direction!r}")
        rows = self._read(self.LINEAGE_SQL[(direction, depth > 0)],
                          {"hash": execution_hash.cid_bytes, "depth": depth})
        return lineage_from_rows(execution_hash, rows, direction)

    def list_attestations(self, execution_hash: CID) -> list[AttestationRow]:
        rows = self._read(self._sql(
            "SELECT a.cid, b.data, a.signer, a.role FROM attestations a "
            "LEFT JOIN blocks b ON b.cid = a.cid WHERE a.execution = ? ORDER BY a.created_at, a.cid"),
            (execution_hash.cid_bytes,))
        return [AttestationRow(execution_hash, CID(c), d if d is not None else b"", s, r)
                for c, d, s, r in rows]
