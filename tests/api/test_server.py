"""The Execution API on a real loopback server: Python client and buf curl (reflection only)."""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import time

import grpc
import pytest

from catenary.cid import CID, decode, encode
from catenary.client import Client
from catenary.errors import (
    BadInputError,
    InvalidCIDError,
    NotFoundError,
    StatusTransitionError,
    ValueTooLargeError,
)
from catenary.model import OperationManifest, Status
from catenary.model.filter import ExecutionFilter
from catenary.sdk import Node
from catenary.trust.attestation import report
from catenary.trust.identity import Identity
from tests.helpers import create_remote_step, open_policy

from .conftest import Buf, b64, chain_manifest


def make_runs(client: Client, count: int, steps: int = 3) -> list:
    wf = client.workflows.create(json.dumps(chain_manifest(steps)))
    return [client.runs.run(wf.id, {0: [i]})[1] for i in range(count)]


# -- independent client: one call per service, through reflection -------------------------------


def test_buf_lists_every_service_through_reflection(buf: Buf) -> None:
    listed = subprocess.run(
        [
            buf.exe,
            "curl",
            "--protocol",
            "grpc",
            "--http2-prior-knowledge",
            "--list-methods",
            f"http://{buf.address}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    for method in (
        "catenary.api.v1.Execution/Updates",
        "catenary.api.v1.Workflow/Create",
        "catenary.api.v1.Operation/List",
        "catenary.api.v1.Run/Next",
        "catenary.api.v1.Value/Put",
        "grpc.health.v1.Health/Check",
    ):
        assert method in listed.stdout
    assert buf.json("grpc.health.v1.Health/Check") == {"status": "SERVING"}


def test_buf_drives_workflow_run_value_and_execution_services(buf: Buf, client: Client) -> None:
    manifest = json.dumps(chain_manifest(steps=2))
    created = buf.json("catenary.api.v1.Workflow/Create", {"manifest": manifest})
    wf_id = CID(base64.b64decode(created["id"]))
    assert wf_id == client.workflows.get(wf_id).id
    assert [w["name"] for w in buf.json("catenary.api.v1.Workflow/List")["workflows"]] == ["chain"]
    ops = buf.json("catenary.api.v1.Operation/List")["operations"]
    assert "test/inc" in {o["name"] for o in ops}

    run = buf.json("catenary.api.v1.Run/New", {"workflow": created["id"]})
    step = buf.json("catenary.api.v1.Run/Next", {"run": run["id"], "inputs": [b64(encode(40))]})
    assert step["done"] is True and decode(base64.b64decode(step["result"])) == 42
    got_run = buf.json("catenary.api.v1.Run/Get", {"run": run["id"]})
    assert got_run["status"] == "completed"

    put = buf.json("catenary.api.v1.Value/Put", {"data": b64(encode({"k": [1, 2]}))})
    value = buf.json("catenary.api.v1.Value/Get", {"cid": put["cid"]})
    assert decode(base64.b64decode(value["data"])) == {"k": [1, 2]}

    listed = buf.json(
        "catenary.api.v1.Execution/List", {"filter": {"statuses": ["COMPLETED"]}, "page_size": 1}
    )
    assert len(listed["executions"]) == 1 and listed["nextPageToken"]
    final = listed["executions"][0]
    assert final["step"] == 1
    got = buf.json("catenary.api.v1.Execution/Get", {"hash": final["hash"]})
    assert got == final


def test_buf_sees_clear_error_codes(buf: Buf, client: Client) -> None:
    bad = buf("catenary.api.v1.Execution/Get", {"hash": b64(b"\x00\x01")}, ok=False)
    assert bad.returncode != 0 and "invalid_argument" in bad.stdout + bad.stderr
    missing = buf(
        "catenary.api.v1.Execution/Get",
        {"hash": b64(CID.parse("bafy2bzaceajzjwkmpnmyb57kjdebduo45ythudsedwuowdja26dflzd6teli6").cid_bytes)},
        ok=False,
    )
    assert "not_found" in missing.stdout + missing.stderr


# -- Python client -------------------------------------------------------------------------------


def test_list_pages_without_duplicates_or_gaps_while_inserting(client: Client, node: Node) -> None:
    make_runs(client, 40)
    flt = ExecutionFilter(statuses=(Status.COMPLETED,))
    before = {e.hash for e in node.executions.iterate(flt)}
    stop = threading.Event()
    writer_client = Client(client.address)

    def write() -> None:
        wf = writer_client.workflows.create(json.dumps(chain_manifest(3)))
        i = 1000
        while not stop.is_set():
            writer_client.runs.run(wf.id, {0: [i]})
            i += 1

    thread = threading.Thread(target=write)
    thread.start()
    try:
        seen: list[CID] = []
        token = None
        while True:
            page = client.executions.list(flt, 7, token)
            seen += [e.hash for e in page.executions]
            time.sleep(0.005)
            if not page.next_page_token:
                break
            token = page.next_page_token
    finally:
        stop.set()
        thread.join()
        writer_client.close()
    assert len(seen) == len(set(seen)), "a page repeated an execution"
    assert before <= set(seen), "an execution stored before paging began was skipped"


def test_tampered_page_token_is_refused(client: Client) -> None:
    make_runs(client, 3)
    page = client.executions.list(None, 2)
    token = page.next_page_token
    assert token
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(BadInputError, match="page token"):
        client.executions.list(None, 2, tampered)
    with pytest.raises(BadInputError, match="different filter"):
        client.executions.list(ExecutionFilter(statuses=(Status.FAILED,)), 2, token)


def test_updates_resume_after_reconnect_loses_nothing(client: Client, node: Node) -> None:
    make_runs(client, 2)
    stop = threading.Event()
    first: list = []
    for execution in client.executions.updates(since_seq=0, stop=stop):
        first.append(execution)
        if len(first) == 4:
            break
    make_runs(client, 2)  # changes while disconnected
    resumed = []
    stop2 = threading.Event()
    total = node.executions.latest_seq()
    for execution in client.executions.updates(since_seq=first[-1].seq, stop=stop2):
        resumed.append(execution)
        if execution.seq == total:
            break
    seqs = [e.seq for e in first + resumed]
    assert seqs == list(range(1, total + 1))


def test_subscribe_then_create_receives_it(client: Client) -> None:
    ready = threading.Event()
    stop = threading.Event()
    received: list = []

    def listen() -> None:
        for execution in client.executions.updates(from_now=True, ready=ready, stop=stop):
            received.append(execution)
            stop.set()

    thread = threading.Thread(target=listen)
    thread.start()
    assert ready.wait(10)
    result = make_runs(client, 1, steps=1)[0]
    thread.join(10)
    assert [e.hash for e in received] == [result.final]


def remote_execution(client: Client, node: Node):
    """A created execution of a remote operation, where a real run's segment 1 puts it."""
    manifest = OperationManifest(name="test/remote-upper", inputs=("int",), output="string")
    info = node.operations.register_remote(manifest)
    return create_remote_step(client, info.version_id)


def test_two_concurrent_claimants_exactly_one_wins(client: Client, node: Node, server) -> None:
    created = remote_execution(client, node)
    assert created.status is Status.CREATED
    barrier = threading.Barrier(8)
    outcomes: list = []
    keys = {key.id: key for key in (Identity.generate() for _ in range(8))}
    names = list(keys)

    def claim(n: int) -> None:
        c = Client(server.address)
        barrier.wait()
        try:
            outcomes.append(c.executions.update(created.hash, Status.IN_PROGRESS, names[n]))
        except StatusTransitionError as exc:
            outcomes.append(exc)
        finally:
            c.close()

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wins = [o for o in outcomes if not isinstance(o, Exception)]
    losses = [o for o in outcomes if isinstance(o, StatusTransitionError)]
    assert len(wins) == 1 and len(losses) == 7
    assert "expected status created, actual in_progress" in str(losses[0])
    stored = client.executions.get(created.hash)
    assert stored.status is Status.IN_PROGRESS and stored.executor == wins[0].executor
    winner = keys[wins[0].executor]
    done = client.executions.update(
        created.hash,
        Status.COMPLETED,
        winner.id,
        output="41",
        attestation=report(winner, created.hash, created.key, "41"),
    )
    assert done.status is Status.COMPLETED and client.values.get(done.output) == "41"
    with pytest.raises(StatusTransitionError, match="expected status in_progress, actual completed"):
        client.executions.update(created.hash, Status.FAILED, wins[0].executor, error="late")


def test_wrong_typed_output_fails_the_execution(client: Client, node: Node) -> None:
    created = remote_execution(client, node)
    worker = Identity.generate()
    client.executions.update(created.hash, Status.IN_PROGRESS, worker.id)
    reported = client.executions.update(
        created.hash,
        Status.COMPLETED,
        worker.id,
        output=41,
        attestation=report(worker, created.hash, created.key, 41),
    )
    assert reported.status is Status.FAILED
    assert reported.output is None
    assert "does not match its declared type: output: expected string, got int" in reported.error


def test_error_codes(client: Client, node: Node) -> None:
    with pytest.raises(NotFoundError):
        client.executions.get(CID.parse("bafy2bzaceajzjwkmpnmyb57kjdebduo45ythudsedwuowdja26dflzd6teli6"))
    with pytest.raises(InvalidCIDError):
        client.runs.get(CID(b"\x01\x71"))
    bad = chain_manifest()
    bad["data"]["segments"][0]["inputs"] = [3]
    with pytest.raises(BadInputError, match=r"segments\[0\]\.inputs\[0\]"):
        client.workflows.create(json.dumps(bad))
    wf = client.workflows.create(json.dumps(chain_manifest()))
    run = client.runs.new(wf.id)
    with pytest.raises(BadInputError, match="takes 1 external input"):
        client.runs.next(run.id, [1, 2])
    with pytest.raises(ValueTooLargeError):
        client.values.put(b"x" * (1024 * 1024 + 10))
    created = remote_execution(client, node)
    with pytest.raises(StatusTransitionError):
        client.executions.update(created.hash, Status.COMPLETED, "w", output="x")
    assert client.runs.get(run.id).next_segment == 0  # refused calls changed nothing


def test_trace_over_the_api_matches_the_sdk(client: Client, node: Node) -> None:
    wf = client.workflows.create(json.dumps(chain_manifest(steps=2, segments=3)))
    _, result = client.runs.run(wf.id, {0: [1]})
    remote = client.executions.trace(result.final)
    local = node.executions.trace(result.final)
    assert {n.hash for n in remote.nodes} == {n.hash for n in local.nodes}
    assert set(remote.edges) == set(local.edges)
    events = [n for n in remote.nodes if n.kind == "event"]
    assert len(events) == 1 and events[0].run == result.run
    down = client.executions.trace(events and remote.nodes[-2].hash, "descendants")
    assert result.final in {n.hash for n in down.nodes}


def test_graceful_stop_ends_open_streams(node: Node) -> None:
    from catenary.api import Server

    server = Server(node, "127.0.0.1:0", policy=open_policy(node)).start()
    client = Client(server.address)
    ready = threading.Event()
    ended = threading.Event()
    errors: list = []

    def listen() -> None:
        try:
            for _ in client.executions.updates(from_now=True, ready=ready):
                pass
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            errors.append(exc)
        ended.set()

    threading.Thread(target=listen, daemon=True).start()
    assert ready.wait(10)
    server.stop(grace=2)
    assert ended.wait(10)
    assert errors == []
    client.close()


def test_grpc_status_codes_on_the_wire(server, node: Node) -> None:
    from catenary.proto.api import execution_pb2, execution_pb2_grpc

    channel = grpc.insecure_channel(server.address)
    stub = execution_pb2_grpc.ExecutionStub(channel)
    with pytest.raises(grpc.RpcError) as info:
        stub.Get(execution_pb2.GetExecutionRequest(hash=b"junk"))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as info:
        stub.List(execution_pb2.ListExecutionsRequest(page_token="!!!"))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    channel.close()


def test_subscriber_cap_gives_resource_exhausted(node: Node) -> None:
    from catenary.api import Server
    from catenary.errors import LimitExceededError

    server = Server(node, "127.0.0.1:0", policy=open_policy(node), max_workers=32, max_subscribers=2).start()
    clients = [Client(server.address) for _ in range(3)]
    stops = [threading.Event() for _ in range(3)]
    ready = [threading.Event() for _ in range(2)]
    threads = [
        threading.Thread(
            target=lambda i=i: list(
                clients[i].executions.updates(from_now=True, stop=stops[i], ready=ready[i])
            ),
            daemon=True,
        )
        for i in range(2)
    ]
    for t in threads:
        t.start()
    assert all(r.wait(10) for r in ready)
    with pytest.raises(LimitExceededError, match="cap"):
        list(clients[2].executions.updates(from_now=True, stop=stops[2]))
    for s in stops:
        s.set()
    for t in threads:
        t.join(10)
    server.stop(grace=1)
    for c in clients:
        c.close()


def test_workflow_caps(tmp_path) -> None:
    from catenary.errors import ManifestError

    capped = Node(tmp_path / "capped", max_segments=2, max_sequence=3)
    with pytest.raises(ManifestError, match=r"segments: 3 segments is over this node's cap of 2"):
        capped.workflows.create(
            {
                "data": {
                    **chain_manifest()["data"],
                    "segments": [
                        {"inputs": [-1 if i == 0 else i - 1], "sequence": [{"op": "std/hash", "config": {}}]}
                        for i in range(3)
                    ],
                }
            }
        )
    with pytest.raises(ManifestError, match=r"segments\[0\]\.sequence: 4 operations is over"):
        capped.workflows.create(
            {
                "data": {
                    **chain_manifest()["data"],
                    "segments": [
                        {
                            "inputs": [-1],
                            "sequence": [{"op": "std/utf8-encode", "config": {}}]
                            + [{"op": "std/hash", "config": {}}] * 3,
                        }
                    ],
                }
            }
        )
    assert capped.workflows.list() == []
    capped.close()
