"""The run lease table both SQL stores share (issue 15, docs/design.md "Runs owned by nodes").

A node that drives a run holds the run's row in ``run_leases``: ``holder`` is its node id and
``expires`` (unix ns) when the lease lapses unless renewed. Every time in this table is set
and compared by the database's clock (:attr:`RunLeaseTables.NOW_NS`, in SQL), never by a
node's: nodes with skewed clocks still agree on who holds what.

Taking a lease is one conditional ``UPDATE`` (held by me, or lapsed): under PostgreSQL's row
lock a second taker re-reads the row after the first commits and finds it held, so exactly
one node drives a run. The row also keeps what the run was submitted with (``orders``: the
inputs by segment, DAG-CBOR) so that whoever takes it over can feed them, and ``cancel``:
why someone asked the holder to stop it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from catenary.cid import CID
from catenary.model import Run, RunStatus
from catenary.store.tables import SQLTables

_LEASE = "l.run, l.holder, l.expires, l.orders, l.cancel, l.submitted_at"


@dataclass(frozen=True)
class RunLease:
    """A run's lease row; ``live``: ``expires`` is ahead of the database's clock now."""

    run: CID
    holder: str | None  # None: nobody drives it
    expires: int  # unix ns, database clock
    orders: bytes  # DAG-CBOR: what the run was submitted with (catenary.runs.orders)
    cancel: str | None  # why a cancel was asked of the holder, None if none was
    submitted_at: int
    live: bool
    status: str  # the run's status


class RunLeaseTables(SQLTables):
    """The run leases (issue 15), mixed into :class:`catenary.store.sql.SQLStore`."""

    # Lock the run row read in a transaction (PostgreSQL); SQLite's write lock covers it.
    FOR_UPDATE = ""

    def submit_run(
        self,
        run: Run,
        now: int,
        orders: bytes,
        blocks: Iterable[tuple[CID, bytes]],
        holder: str,
        lease_ns: int,
    ) -> None:
        """Create a run held by ``holder`` for ``lease_ns``, with its submitted inputs' values
        and ``orders``, in one transaction."""
        with self._write() as conn:
            for cid, data in blocks:
                conn.execute(
                    self._sql("INSERT INTO blocks VALUES (?, ?) ON CONFLICT DO NOTHING"),
                    (cid.cid_bytes, data),
                )
            conn.execute(
                self._sql("INSERT INTO runs VALUES (?, ?, ?, 'running', 0, 0.0, NULL, ?, ?)"),
                (run.id.cid_bytes, run.workflow.cid_bytes, run.nonce, now, now),
            )
            conn.execute(
                self._sql(f"INSERT INTO run_leases VALUES (?, ?, {self.NOW_NS} + ?, ?, NULL, ?)"),
                (run.id.cid_bytes, holder, lease_ns, orders, now),
            )

    def take_run_lease(self, run: CID, holder: str, lease_ns: int) -> bool:
        """Hold a running run's lease for ``lease_ns`` from now: True when ``holder`` held it
        already or it had lapsed; False when another node holds it, or nobody drives it."""
        with self._write() as conn:
            changed: int = conn.execute(
                self._sql(
                    f"UPDATE run_leases SET holder = ?, expires = {self.NOW_NS} + ? WHERE run = ? "
                    f"AND holder IS NOT NULL AND (holder = ? OR expires < {self.NOW_NS}) "
                    "AND EXISTS (SELECT 1 FROM runs r WHERE r.id = run_leases.run AND r.status = 'running')"
                ),
                (holder, lease_ns, run.cid_bytes, holder),
            ).rowcount
        return changed == 1

    def renew_run_leases(self, runs: Iterable[CID], holder: str, lease_ns: int) -> set[CID]:
        """Move the leases ``holder`` holds on ``runs`` to ``lease_ns`` from now; the runs it
        still holds (a lease another node took over is lost, and not renewed)."""
        wanted = [r.cid_bytes for r in runs]
        if not wanted:
            return set()
        marks = ", ".join(["?"] * len(wanted))
        with self._write() as conn:
            rows = conn.execute(
                self._sql(
                    f"UPDATE run_leases SET expires = {self.NOW_NS} + ? "
                    f"WHERE holder = ? AND run IN ({marks}) RETURNING run"
                ),
                (lease_ns, holder, *wanted),
            ).fetchall()
        return {CID(bytes(r[0])) for r in rows}

    def end_run_lease(self, run: CID, holder: str | None = None) -> bool:
        """Drop a run's lease row (the run ended): only ``holder``'s, when given."""
        query = "DELETE FROM run_leases WHERE run = ?"
        params: list[Any] = [run.cid_bytes]
        if holder is not None:
            query += " AND holder = ?"
            params.append(holder)
        with self._write() as conn:
            deleted: int = conn.execute(self._sql(query), params).rowcount
        return deleted == 1

    def hand_off_run_leases(self, runs: Iterable[CID], holder: str) -> int:
        """Let ``holder``'s leases on ``runs`` lapse now (a node shutting down), so that another
        node takes them over at its next look rather than after the lease."""
        wanted = [r.cid_bytes for r in runs]
        if not wanted:
            return 0
        marks = ", ".join(["?"] * len(wanted))
        with self._write() as conn:
            changed: int = conn.execute(
                self._sql(f"UPDATE run_leases SET expires = 0 WHERE holder = ? AND run IN ({marks})"),
                (holder, *wanted),
            ).rowcount
        return changed

    def get_run_lease(self, run: CID) -> RunLease | None:
        rows = self._read(
            self._sql(
                f"SELECT {_LEASE}, l.expires >= {self.NOW_NS}, r.status FROM run_leases l "
                "JOIN runs r ON r.id = l.run WHERE l.run = ?"
            ),
            (run.cid_bytes,),
        )
        return _lease(rows[0]) if rows else None

    def lapsed_run_leases(self, limit: int = 100) -> list[RunLease]:
        """Leases whose holder stopped renewing them (by the database's clock), oldest first:
        of running runs (nothing drives them) and of ended ones (their row outlived them)."""
        rows = self._read(
            self._sql(
                f"SELECT {_LEASE}, 0 = 1, r.status FROM run_leases l JOIN runs r ON r.id = l.run "
                f"WHERE l.holder IS NOT NULL AND l.expires < {self.NOW_NS} ORDER BY l.expires LIMIT ?"
            ),
            (limit,),
        )
        return [_lease(r) for r in rows]

    def cancel_run(self, run: CID, reason: str, now: int) -> str | None:
        """Cancel a run in one transaction: when a node holds its live lease, ask it (it stops
        at its next step boundary; ``requested``); else end it ``cancelled`` now (``ended``).
        Returns ``requested``, ``ended``, the run's status when it is not running, or None
        when the run is unknown."""
        with self._write() as conn:
            found = conn.execute(
                self._sql(f"SELECT status FROM runs WHERE id = ?{self.FOR_UPDATE}"), (run.cid_bytes,)
            ).fetchall()
            if not found:
                return None
            if found[0][0] != RunStatus.RUNNING:
                return str(found[0][0])
            asked: int = conn.execute(
                self._sql(
                    f"UPDATE run_leases SET cancel = ? WHERE run = ? AND holder IS NOT NULL "
                    f"AND expires >= {self.NOW_NS}"
                ),
                (reason, run.cid_bytes),
            ).rowcount
            if asked == 1:
                return "requested"
            self._end_cancelled(conn, run, reason, now)
            return "ended"

    def finish_cancel(self, run: CID, reason: str, now: int) -> bool:
        """End a running run ``cancelled`` now and drop its lease (its driver, at a step
        boundary); False when the run was not running any more."""
        with self._write() as conn:
            return self._end_cancelled(conn, run, reason, now)

    def _end_cancelled(self, conn: Any, run: CID, reason: str, now: int) -> bool:
        moved: int = conn.execute(
            self._sql(
                "UPDATE runs SET status = 'cancelled', error = ?, updated_at = ? "
                "WHERE id = ? AND status = 'running'"
            ),
            (reason, now, run.cid_bytes),
        ).rowcount
        conn.execute(self._sql("DELETE FROM run_leases WHERE run = ?"), (run.cid_bytes,))
        return moved == 1


def _lease(row: tuple[Any, ...]) -> RunLease:
    run, holder, expires, orders, cancel, submitted, live, status = row
    return RunLease(CID(bytes(run)), holder, expires, bytes(orders), cancel, submitted, bool(live), status)
