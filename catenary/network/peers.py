"""The peers a node follows: ``catenary peer add / list / remove`` (docs/network.md).

A peer is pinned by its did:key: the follower's calls are signed for that id (a call token's
audience), and a node that answers with another id is refused before anything is read from
it. The address is its gRPC ``HOST:PORT`` (announcements); the gateway is the base URL of its
``serve --http`` (blocks and bundles). ``tls_ca`` names the PEM of the CA that signs the
peer's certificate, for both; without it both are plain (loopback and closed networks).
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

from catenary.errors import BadInputError, NotFoundError
from catenary.store import Store
from catenary.store.peers import PeerRow
from catenary.trust.identity import public_key_from_did


class PeerBook:
    """Add, list and remove the peers of a store."""

    def __init__(self, store: Store, node_id: str) -> None:
        self._store = store
        self._node_id = node_id

    def add(
        self, address: str, peer_id: str, gateway: str, tls_ca: Path | None = None
    ) -> tuple[PeerRow, bool]:
        """Pin ``peer_id`` at ``address`` / ``gateway``; returns the row and whether it is new.
        Everything is checked first: a bad argument stores nothing (BadInputError naming it)."""
        public_key_from_did(peer_id)  # BadInputError: not a did:key
        if peer_id == self._node_id:
            raise BadInputError(f"--id {peer_id} is this node itself: a node does not follow itself")
        host, sep, port = address.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) <= 65535:
            raise BadInputError(
                f"ADDRESS: expected the peer's gRPC HOST:PORT (e.g. 10.0.0.2:50051), got {address!r}"
            )
        parts = urlsplit(gateway)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise BadInputError(
                "--gateway: expected the peer's HTTP base URL (http[s]://HOST:PORT, its serve --http), "
                f"got {gateway!r}"
            )
        if tls_ca is not None and not Path(tls_ca).is_file():
            raise BadInputError(f"--tls-ca {tls_ca}: no such file")
        if tls_ca is None and parts.scheme == "https":
            raise BadInputError("--gateway is https: give --tls-ca, the CA that signs the peer's certificate")
        row = PeerRow(
            peer_id,
            address,
            gateway.rstrip("/"),
            str(Path(tls_ca).resolve()) if tls_ca else None,
            time.time_ns(),
        )
        new = self._store.put_peer(row)
        return NotFoundError.require(self._store.get_peer(peer_id), "peer {} vanished", peer_id), new

    def list(self) -> list[PeerRow]:
        return self._store.list_peers()

    def get(self, peer_id: str) -> PeerRow:
        return NotFoundError.require(
            self._store.get_peer(peer_id), "no peer {} (see `catenary peer list`)", peer_id
        )

    def remove(self, peer_id: str) -> None:
        """Stop following a peer (what it sent stays, with its provenance)."""
        if not self._store.delete_peer(peer_id):
            raise NotFoundError(f"no peer {peer_id} (see `catenary peer list`)")
