"""Following peers: their announcements, a bundle per new execution, and nothing stored
unless all of it verifies (docs/network.md).

For each peer a :class:`Follower` thread subscribes to the peer's ``Execution.Updates``
stream of completed executions from the cursor this node keeps for it (the peer's ``seq``,
in the ``peers`` table), so it resumes after either side restarts with no gap. For each
announced execution this node does not hold, it fetches the execution's proof bundle from
the peer's gateway (``GET /api/executions/{hash}/bundle``, a size cap and a deadline on the
body), checks it as ``catenary import`` does (every block's CID, every record's hash and
key, every link, every signature, the fit of each execution to its workflow, and each
output by re-execution), and stores it through the one import path,
:meth:`catenary.sdk.trust.TrustManager.import_verified` (catenary.trust.bundle.load), with
the peer recorded as where the new executions came from.

An execution this node holds is announced again when the peer stores a later attestation
on it (a validator's vote or dissent gives it a new ``seq``): the follower then fetches only
the attestations it lacks, each block by CID from the gateway, and stores each through
``node.attestations.add``. With ``[sync] reexecute = false`` in the policy, bundles are
checked without re-execution and stored pending the quorum.

An announcement is handled once: stored, or refused with the reason (logged, counted in
``peer list``), and the cursor moves past it in the same transaction as the outcome. A peer
that cannot be reached is no refusal: the follower retries from its cursor, backing off.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from catenary.cid import CID, block_cid, decode
from catenary.cid.car import read_car
from catenary.errors import AuthenticationError, BadInputError, CatenaryError, VerificationError
from catenary.limits import PEER_FETCH_SECONDS, PEER_RETRY_SECONDS, peer_bundle_cap
from catenary.model import Execution, Status
from catenary.model.filter import ExecutionFilter
from catenary.network import fetch
from catenary.network.gateway import CAR_TYPE, RAW_TYPE
from catenary.store.peers import PeerRow

if TYPE_CHECKING:
    from catenary.client import Client
    from catenary.sdk import Node

log = logging.getLogger("catenary.network")
GATEWAY_METHOD = "/ipfs"  # the mth of the tokens the gateway takes (catenary.web.gateway.METHOD)
RESCAN_SECONDS = 2.0  # how often the peers table is read again (peer add/remove in another process)


@dataclass(frozen=True)
class Outcome:
    """What handling one announcement did."""

    execution: CID
    stored: tuple[CID, ...] = ()  # executions new on this node
    refused: str | None = None
    attestations: tuple[CID, ...] = ()  # attestations new on this node (on a held execution)


class Follower:
    """Follows one peer until ``stop`` is set (one thread)."""

    def __init__(self, node: Node, peer: PeerRow, stop: threading.Event) -> None:
        self._node = node
        self.peer = peer
        self._stop = stop
        self._cap = peer_bundle_cap(node.values.max_size)
        self._client: Client | None = None  # the peer's, while following it

    def run(self) -> None:
        delay = PEER_RETRY_SECONDS[0]
        while not self._stop.is_set():
            try:
                self._follow()
                delay = PEER_RETRY_SECONDS[0]
            except (CatenaryError, OSError) as exc:
                if self._stop.is_set():
                    return
                self._node.store.peer_trouble(self.peer.id, str(exc), time.time_ns())
                log.warning(
                    "peer %s (%s): %s; retrying in %.1f s", self.peer.id, self.peer.address, exc, delay
                )
            self._stop.wait(delay)
            delay = min(delay * 2, PEER_RETRY_SECONDS[1])

    def _follow(self) -> None:
        from catenary.client import Client
        from catenary.client.auth import ClientTLS, NodeId, open_channel

        peer = self.peer
        tls = ClientTLS(ca=Path(peer.tls_ca)) if peer.tls_ca else None
        with open_channel(peer.address, [], tls=tls) as channel:
            said = NodeId(channel)()  # the health check, which needs no token
        if said != peer.id:
            raise AuthenticationError(
                f"the node at {peer.address} says it is {said}, not the pinned {peer.id}; not following it"
            )
        with Client(peer.address, key=self._node.identity, tls=tls, audience=peer.id) as client:
            row = self._node.store.get_peer(peer.id)
            cursor = row.cursor if row else peer.cursor
            flt = ExecutionFilter(statuses=(Status.COMPLETED,))
            self._client = client
            try:
                for e in client.executions.updates(flt, since_seq=cursor, stop=self._stop):
                    if self._stop.is_set():
                        return
                    self.handle(e)
            finally:
                self._client = None

    def handle(self, announced: Execution) -> Outcome:
        """Store what verifies of one announcement, or refuse it; record the outcome and the cursor."""
        outcome = self._check_and_store(announced)
        now = time.time_ns()
        self._node.store.peer_outcome(self.peer.id, announced.seq, now, outcome.stored, outcome.refused)
        if outcome.refused:
            log.warning("peer %s: refused execution %s: %s", self.peer.id, announced.hash, outcome.refused)
        elif outcome.stored:
            log.info(
                "peer %s: stored %d execution(s) with %s", self.peer.id, len(outcome.stored), announced.hash
            )
        if outcome.attestations:
            log.info(
                "peer %s: stored %d attestation(s) on %s",
                self.peer.id,
                len(outcome.attestations),
                announced.hash,
            )
        return outcome

    def _check_and_store(self, announced: Execution) -> Outcome:
        store = self._node.store
        held = store.get_execution(announced.hash)
        if held is not None and held.status is Status.COMPLETED:
            stored: tuple[CID, ...] = ()
            if held.executor != self._node.id and store.provenance(held.hash) is None:
                # stored from this peer by a follower killed before it recorded the outcome
                stored = (held.hash,)
            try:  # announced again: held here, it may carry attestations added since (a vote)
                return Outcome(announced.hash, stored=stored, attestations=self._attestations(held.hash))
            except (VerificationError, BadInputError) as exc:
                return Outcome(announced.hash, stored=stored, refused=str(exc))
        try:
            data = self._bundle(announced.hash)
            return self._verify_and_load(announced.hash, data)
        except (VerificationError, BadInputError) as exc:  # the peer's data is at fault
            return Outcome(announced.hash, refused=str(exc))

    def _attestations(self, execution: CID) -> tuple[CID, ...]:
        """Fetch, check and store the attestations the peer holds on ``execution`` that this
        node lacks. Each block comes by CID from the peer's gateway, is checked against its
        CID, and is stored through ``node.attestations.add`` (its signature, that it names
        this execution and key, its role); the first bad one refuses the announcement."""
        if self._client is None:
            return ()
        have = {a.cid for a in self._node.store.list_attestations(execution)}
        listed = [a.cid for a in self._client.attestations.list(execution) if a.valid]
        new: list[CID] = []
        for cid in listed:
            if cid in have or cid in new:
                continue
            data = self._block(cid)
            if block_cid(data) != cid:
                raise VerificationError(f"attestation {cid}: the bytes sent hash to {block_cid(data)}")
            try:
                value = decode(data)
            except CatenaryError as exc:
                raise VerificationError(f"attestation {cid}: not DAG-CBOR: {exc}") from None
            named = value.get("execution") if isinstance(value, dict) else None
            if named != execution:
                raise VerificationError(
                    f"attestation {cid}: listed on execution {execution}, but names {named}"
                )
            self._node.attestations.add(data)  # VerificationError: a bad signature, key or role
            new.append(cid)
        return tuple(new)

    def _block(self, cid: CID) -> bytes:
        from catenary.trust.token import issue

        token = issue(self._node.identity, self.peer.id, GATEWAY_METHOD)
        return fetch.get(
            f"{self.peer.gateway}/ipfs/{cid}?format=raw",
            accept=RAW_TYPE,
            cap=self._node.values.max_size,
            seconds=PEER_FETCH_SECONDS,
            token=token,
            ca=self.peer.tls_ca,
        )

    def _bundle(self, execution: CID) -> bytes:
        from catenary.trust.token import issue

        token = issue(self._node.identity, self.peer.id, GATEWAY_METHOD)
        return fetch.get(
            f"{self.peer.gateway}/api/executions/{execution}/bundle",
            accept=CAR_TYPE,
            cap=self._cap,
            seconds=PEER_FETCH_SECONDS,
            token=token,
            ca=self.peer.tls_ca,
        )

    def _verify_and_load(self, execution: CID, data: bytes) -> Outcome:
        limit = self._node.values.max_size
        for b in read_car(data).blocks:  # UnreadableBundleError (a BadInputError): refused
            if len(b.data) > limit:
                raise VerificationError(
                    f"block {b.cid} is {len(b.data):,} bytes, over this node's value size cap of {limit:,}"
                )
        # [sync] reexecute = false: the records, links and signatures are checked all the same,
        # the outputs are left to validators and the quorum (stored pending, docs/network.md)
        reexecute = self._node.policy.sync_reexecute
        report = self._node.trust.verify_bundle(data, reexecute=reexecute)
        if report.root != execution:
            raise VerificationError(f"asked for the bundle of {execution}, got one of {report.root}")
        if not (report.ok if reexecute else report.checked) or report.bundle is None:
            failed = [f"execution {v.execution}: {v.reason}" for v in report.verdicts if not v.ok][:3]
            raise VerificationError(
                f"its bundle does not verify ({report.overall}): {'; '.join([*failed, report.summary()])}"
            )
        store = self._node.store
        new = tuple(h for h in report.bundle.executions if store.get_execution(h) is None)
        self._node.trust.import_verified(report, deferred=not reexecute)
        return Outcome(execution, stored=new)


def log_to(stream: TextIO) -> None:
    """Write this package's log (each refusal, named by peer and execution) to ``stream``,
    once per process: ``catenary serve`` gives its stderr."""
    if not any(getattr(h, "catenary_sync", False) for h in log.handlers):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.catenary_sync = True  # type: ignore[attr-defined]
        log.addHandler(handler)
        log.setLevel(logging.INFO)


class Syncer:
    """Runs a :class:`Follower` for every peer in the store, picking up peers added or removed
    while it runs (``catenary peer add`` in another process)."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._stop = threading.Event()
        self._followers: dict[str, tuple[threading.Event, threading.Thread, PeerRow]] = {}
        self._thread: threading.Thread | None = None

    def start(self) -> Syncer:
        self._thread = threading.Thread(target=self._watch, name="catenary-sync", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for stop, _, _ in self._followers.values():
            stop.set()
        for _, thread, _ in self._followers.values():
            thread.join(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                self._reconcile()
            except CatenaryError as exc:  # a store hiccup: try again at the next scan
                log.warning("sync: cannot read the peers: %s", exc)
            self._stop.wait(RESCAN_SECONDS)

    def _reconcile(self) -> None:
        wanted = {p.id: p for p in self._node.store.list_peers()}
        for peer_id in list(self._followers):
            stop, thread, peer = self._followers[peer_id]
            known = wanted.get(peer_id)
            moved = known is not None and (known.address, known.gateway, known.tls_ca) != (
                peer.address,
                peer.gateway,
                peer.tls_ca,
            )
            if known is None or moved or not thread.is_alive():
                stop.set()  # removed, or to be restarted at its new address
                del self._followers[peer_id]
        for peer_id, peer in wanted.items():
            if peer_id not in self._followers:
                stop = threading.Event()
                follower = Follower(self._node, peer, stop)
                thread = threading.Thread(
                    target=follower.run, name=f"catenary-follow-{peer_id[-8:]}", daemon=True
                )
                self._followers[peer_id] = (stop, thread, peer)
                thread.start()
