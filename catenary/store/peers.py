"""The peer tables both SQL stores share (issue 18): the nodes this one follows, and where
each record it took from them came from.

A peer row keeps the follower's ``cursor``: the peer's execution ``seq`` up to which every
announcement was handled (stored or refused). It moves in the transaction that records the
outcome, so a follower killed at any point resumes at the first announcement it had not
finished, and a record stored twice is a no-op (imports skip what is present).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from catenary.cid import CID
from catenary.store.tables import SQLTables

_PEER = (
    "id, address, gateway, tls_ca, added_at, cursor, received, refused, "
    "last_error, last_error_at, last_seen_at"
)


@dataclass(frozen=True)
class PeerRow:
    """A followed node: its pinned did:key, where to reach it, and how following it went."""

    id: str  # the peer's did:key, pinned: a node answering with another id is refused
    address: str  # gRPC HOST:PORT (announcements)
    gateway: str  # base URL of its HTTP gateway (blocks and bundles)
    tls_ca: str | None  # PEM file of the CA its TLS certificate is signed by; None: plain
    added_at: int  # unix ns
    cursor: int = 0  # the peer's seq up to which announcements were handled
    received: int = 0  # executions stored from it
    refused: int = 0  # records it sent that failed a check (bad block, signature, fit, size)
    last_error: str | None = None
    last_error_at: int | None = None
    last_seen_at: int | None = None  # the last time an announcement or a block came from it


class PeerTables(SQLTables):
    """The peers and provenance (issue 18), mixed into :class:`catenary.store.sql.SQLStore`."""

    def put_peer(self, peer: PeerRow) -> bool:
        """Add a peer, or change where an existing one is reached (its cursor and counts are
        kept: the same node at a new address resumes where it was). True when it was new."""
        with self._write() as conn:
            known = conn.execute(self._sql("SELECT 1 FROM peers WHERE id = ?"), (peer.id,)).fetchone()
            if known:
                conn.execute(
                    self._sql("UPDATE peers SET address = ?, gateway = ?, tls_ca = ? WHERE id = ?"),
                    (peer.address, peer.gateway, peer.tls_ca, peer.id),
                )
                return False
            conn.execute(
                self._sql(f"INSERT INTO peers ({_PEER}) VALUES (?, ?, ?, ?, ?, 0, 0, 0, NULL, NULL, NULL)"),
                (peer.id, peer.address, peer.gateway, peer.tls_ca, peer.added_at),
            )
            return True

    def get_peer(self, peer_id: str) -> PeerRow | None:
        rows = self._read(self._sql(f"SELECT {_PEER} FROM peers WHERE id = ?"), (peer_id,))
        return PeerRow(*rows[0]) if rows else None

    def list_peers(self) -> list[PeerRow]:
        return [PeerRow(*r) for r in self._read(f"SELECT {_PEER} FROM peers ORDER BY added_at, id")]

    def delete_peer(self, peer_id: str) -> bool:
        """Forget a peer (the provenance of what it sent stays). True when it was there."""
        with self._write() as conn:
            return bool(conn.execute(self._sql("DELETE FROM peers WHERE id = ?"), (peer_id,)).rowcount)

    def peer_outcome(
        self, peer_id: str, cursor: int, now: int, stored: Iterable[CID] = (), error: str | None = None
    ) -> None:
        """Record one handled announcement in one transaction: the executions stored from the
        peer (their provenance), or the error it caused (counted), and the cursor past it."""
        stored = list(stored)
        with self._write() as conn:
            for cid in stored:
                conn.execute(
                    self._sql(
                        "INSERT INTO provenance (execution, peer, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
                    ),
                    (cid.cid_bytes, peer_id, now),
                )
            # The cursor never goes back: a slow handler cannot undo a later one's progress.
            conn.execute(
                self._sql(
                    "UPDATE peers SET cursor = CASE WHEN cursor < ? THEN ? ELSE cursor END, "
                    "received = received + ?, last_seen_at = ? WHERE id = ?"
                ),
                (cursor, cursor, len(stored), now, peer_id),
            )
            if error is not None:
                conn.execute(
                    self._sql(
                        "UPDATE peers SET refused = refused + 1, last_error = ?, last_error_at = ? "
                        "WHERE id = ?"
                    ),
                    (error, now, peer_id),
                )

    def peer_trouble(self, peer_id: str, error: str, now: int) -> None:
        """A failure that is no fault of what the peer sent (unreachable, timed out): shown as
        its last error, not counted as a refusal, cursor unchanged."""
        with self._write() as conn:
            conn.execute(
                self._sql("UPDATE peers SET last_error = ?, last_error_at = ? WHERE id = ?"),
                (error, now, peer_id),
            )

    def provenance(self, execution_hash: CID) -> tuple[str, int] | None:
        """The peer an execution was first stored from, and when; None for local work."""
        rows = self._read(
            self._sql("SELECT peer, at FROM provenance WHERE execution = ?"), (execution_hash.cid_bytes,)
        )
        return (str(rows[0][0]), int(rows[0][1])) if rows else None
