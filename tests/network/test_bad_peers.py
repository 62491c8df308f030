"""A peer that sends bad data is refused, named in the log, counted in `peer list`, and nothing
of what it sent is stored.

The bad data comes from real components: a forging HTTP gateway in front of an honest node
(the announcements are the node's, the blocks are altered in flight: a wrong CID, a forged
signature, an oversized block, an endless body), and a node whose own database holds an
execution that does not fit its workflow, which it announces and exports as any other.
"""

from __future__ import annotations

import http.server
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from catenary.cid import decode
from catenary.cid.car import car_bytes, read_car
from catenary.model import Status
from catenary.model.execution import Invocation
from catenary.sdk import Node
from tests.helpers import manifest, query
from tests.hostile.crafted import Blocks
from tests.network.nodes import Served, wait_for

ONE_STEP = manifest(([-1], ["test/inc"]))
CAP = 50_000  # the follower's --max-value-size: its bundle cap is then the 16 MiB floor


def flip_block(data: bytes) -> bytes:
    """One byte of the last block changed: its bytes no longer hash to its CID."""
    car = read_car(data)
    blocks = [(b.cid, b.data) for b in car.blocks]
    cid, raw = blocks[-1]
    blocks[-1] = (cid, raw[:-1] + bytes([raw[-1] ^ 1]))
    return car_bytes(car.roots, blocks)


def forge_signature(data: bytes) -> bytes:
    """The attestation's signature replaced, every block above it re-hashed and re-linked."""
    car = Blocks.of(data)
    for cid, value in car.records():
        if "signature" in value and "signer" in value:
            car.replace(cid, {**value, "signature": bytes(reversed(value["signature"]))})
            return car.bytes()
    raise AssertionError("the bundle holds no attestation")


def oversized(data: bytes) -> bytes:
    """The root's metadata block grown past the follower's value size cap (re-linked)."""
    car = Blocks.of(data)
    for cid, value in car.records():
        if "attestations" in value:  # the root's metadata: give it a huge error text
            car.replace(cid, {**value, "error": "x" * (CAP * 2)})
            return car.bytes()
    raise AssertionError("no metadata block")


class Forger(http.server.ThreadingHTTPServer):
    """Forwards each GET to the honest gateway and alters the answer as ``mode`` says."""

    daemon_threads = True
    mode = "flip"
    upstream = ""
    sent_endless = 0


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Forger

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        forger = self.server
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "accept")}
        request = urllib.request.Request(forger.upstream + self.path, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as answer:
            body = answer.read()
        if forger.mode == "endless":
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.ipld.car")
            self.end_headers()
            chunk = body * (1 + (1 << 16) // len(body))
            try:
                for _ in range(100_000):  # ~ 6 GB at most: the follower hangs up long before
                    self.wfile.write(chunk)
                    forger.sent_endless += len(chunk)
            except OSError:
                return
            return
        if forger.mode in ("pass", "flip-raw"):  # bundles untouched; with flip-raw, single blocks not
            if forger.mode == "flip-raw" and "format=raw" in self.path:
                body = body[:-1] + bytes([body[-1] ^ 1])
        else:
            body = {"flip": flip_block, "forge": forge_signature, "oversized": oversized}[forger.mode](body)
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.ipld.car")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str]]:
    """An honest node with one completed one-step run; the hash of its execution."""
    a = Served(tmp_path_factory.mktemp("honest") / "a").start()
    try:
        run = run_on_one_step(a)
        yield a, run
    finally:
        a.kill()


def run_on_one_step(node: Served) -> str:
    import json

    from catenary.client import Client

    with Client(node.address) as client:
        wf = client.workflows.create(json.dumps(ONE_STEP))
        return str(client.runs.run(wf.id, {0: [41]}).final)


@pytest.fixture
def forger(honest: tuple[Served, str]) -> Iterator[Forger]:
    server = Forger(("127.0.0.1", 0), _Handler)
    server.upstream = honest[0].gateway
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def stored(node: Served) -> int:
    return len(query(node.data_dir / "catenary.db", "SELECT hash FROM executions"))


def refused_once(follower: Served, peer_id: str) -> dict[str, Any]:
    peer = wait_for(lambda: (p := follower.peers()[peer_id])["refused"] >= 1 and p, "the refusal", timeout=90)
    return dict(peer)


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("flip", "not to its CID"),
        ("forge", "signature"),
        ("oversized", "over this node's value size cap"),
        ("endless", "oversized or endless"),
    ],
)
def test_bad_blocks_from_a_peer_are_refused_and_counted(
    make_node: Callable[..., Served], honest: tuple[Served, str], forger: Forger, mode: str, reason: str
) -> None:
    a, final = honest
    forger.mode = mode
    b = make_node("b", "--max-value-size", str(CAP))
    from tests.network.nodes import cli as run_cli

    blocks = query(b.data_dir / "catenary.db", "SELECT count(*) FROM blocks")
    gateway = f"http://127.0.0.1:{forger.server_address[1]}"
    run_cli(b.data_dir, "peer", "add", a.address, "--id", a.id, "--gateway", gateway)
    peer = refused_once(b, a.id)
    assert reason in peer["last_error"], peer["last_error"]
    assert peer["received"] == 0 and peer["cursor"] > 0  # handled: not asked for again
    assert stored(b) == 0
    assert query(b.data_dir / "catenary.db", "SELECT count(*) FROM blocks") == blocks
    log = b.log()
    assert f"peer {a.id}: refused execution {final}" in log, log
    if mode == "endless":
        assert forger.sent_endless < 64 * 1024 * 1024  # cut off near the 16 MiB cap


def test_a_record_that_does_not_fit_its_workflow_is_refused(
    make_node: Callable[..., Served], tmp_path: Path
) -> None:
    """The peer's own database holds an execution at a step its workflow does not have."""
    h = make_node("h")
    run_on_one_step(h)
    h.stop()
    with Node(h.data_dir, operations=["tests.ops_fixture"]) as node:
        e = next(x for x in node.store.executions_since(_everything(), 0, 10) if x.status is Status.COMPLETED)
        forged = Invocation(e.workflow, e.segment, 7, e.operation, dict(e.config), e.parents, e.inputs)
        now = time.time_ns()
        record = forged.record(e.run, Status.CREATED, created_at=now)
        node.store.insert_execution(record)
        node.store.transition(record.hash, Status.CREATED, Status.IN_PROGRESS, now=now, executor=node.id)
        assert e.output is not None
        output = node.store.get_block(e.output)
        assert output is not None and decode(output) is not None
        node.store.transition(
            record.hash,
            Status.IN_PROGRESS,
            Status.COMPLETED,
            now=now,
            executor=node.id,
            output=(e.output, output),
        )
    h.start()
    b = make_node("b")
    b.follow(h)
    peer = refused_once(b, h.id)
    assert "step 7 is not in segment 0 of the workflow" in peer["last_error"], peer["last_error"]
    assert f"refused execution {record.hash}" in b.log()
    # the honest execution of the same run is stored; the forged one is not
    wait_for(lambda: stored(b) == 1, "the honest execution")
    assert query(b.data_dir / "catenary.db", "SELECT step FROM executions") == [(0,)]


def _everything() -> Any:
    from catenary.model.filter import ExecutionFilter

    return ExecutionFilter()


def test_a_later_attestation_with_wrong_bytes_is_refused_and_counted(
    make_node: Callable[..., Served],
) -> None:
    """An attestation added on the peer after its execution was synced comes by sync too,
    block by block; one whose bytes are not its CID's is refused, stores nothing, and counts."""
    from catenary.cid import CID
    from catenary.model.enums import Role
    from catenary.trust import attestation
    from catenary.trust.identity import Identity
    from tests.network.nodes import cli as run_cli

    a = make_node("a")
    final = CID.parse(run_on_one_step(a))
    server = Forger(("127.0.0.1", 0), _Handler)
    server.upstream, server.mode = a.gateway, "pass"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        b = make_node("b")
        gateway = f"http://127.0.0.1:{server.server_address[1]}"
        run_cli(b.data_dir, "peer", "add", a.address, "--id", a.id, "--gateway", gateway)
        wait_for(lambda: stored(b) == 1, "b to hold a's execution")
        db = b.data_dir / "catenary.db"
        assert query(db, "SELECT count(*) FROM attestations") == [(1,)]  # a's own

        def vote() -> None:
            """A validator's attestation, added on a while it serves (another process)."""
            signer = Identity.generate()
            on_a = Node(data_dir=a.data_dir, operations=["tests.ops_fixture"])
            try:
                e = on_a.executions.get(final)
                assert e.output is not None
                on_a.attestations.add(attestation.sign(signer, e.hash, e.key, e.output, Role.VALIDATOR).data)
            finally:
                on_a.close()

        server.mode = "flip-raw"
        vote()
        peer = refused_once(b, a.id)
        assert "hash to" in peer["last_error"], peer["last_error"]
        assert f"peer {a.id}: refused execution {final}" in b.log()
        assert query(db, "SELECT count(*) FROM attestations") == [(1,)]  # nothing stored
        server.mode = "pass"  # the next announcement lists both; honest bytes are stored
        vote()
        wait_for(lambda: query(db, "SELECT count(*) FROM attestations") == [(3,)], "both votes on b")
        assert b.peers()[a.id]["refused"] == 1
    finally:
        server.shutdown()
        server.server_close()
