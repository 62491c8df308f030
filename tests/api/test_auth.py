"""Authenticated calls against a real server: every refusal class on the wire, the policy's
decisions, TLS and mutual TLS (Python client, CLI, buf curl), and the listening rules."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from catenary.api import Server
from catenary.api.server import TLSFiles
from catenary.client import Client, ClientTLS
from catenary.errors import AuthenticationError, CatenaryError, PermissionDeniedError
from catenary.proto.api import execution_pb2, execution_pb2_grpc, workflow_pb2, workflow_pb2_grpc
from catenary.proto.definition import execution_pb2 as execution_def_pb2
from catenary.sdk import Node
from catenary.trust.identity import Identity
from catenary.trust.token import issue
from tests.api.certs import Authority
from tests.api.conftest import Buf, chain_manifest
from tests.helpers import snapshot

ROOT = Path(__file__).resolve().parents[2]
CREATE = "/catenary.api.v1.Workflow/Create"
LIST = "/catenary.api.v1.Workflow/List"
MANIFEST = json.dumps(chain_manifest())
STD_MANIFEST = json.dumps(
    {
        "data": {  # std/hash: known to a served node without --ops
            "name": "h",
            "creators": [],
            "description": "",
            "groups": [],
            "segments": [{"inputs": [-1], "sequence": [{"op": "std/hash", "config": {}}]}],
        }
    }
)


@pytest.fixture
def guarded(node: Node) -> Iterator[Server]:
    """The node served with its default policy: only its own key may call."""
    server = Server(node, "127.0.0.1:0", max_workers=16).start()
    yield server
    server.stop(grace=1)


@pytest.fixture
def stub(guarded: Server) -> Iterator[workflow_pb2_grpc.WorkflowStub]:
    channel = grpc.insecure_channel(guarded.address)
    yield workflow_pb2_grpc.WorkflowStub(channel)
    channel.close()


def refusal(call, request, token: str | None) -> grpc.RpcError:
    metadata = [("authorization", f"Bearer {token}")] if token is not None else []
    with pytest.raises(grpc.RpcError) as info:
        call(request, metadata=metadata)
    return info.value


def test_each_bad_token_is_unauthenticated_with_its_reason(node: Node, stub) -> None:
    db = node.data_dir / "catenary.db"
    before = snapshot(db)
    create = workflow_pb2.CreateWorkflowRequest(manifest=MANIFEST)
    other = Identity.generate()
    forged = issue(other, node.id, CREATE).split(".")
    genuine = issue(node.identity, node.id, CREATE).split(".")
    cases = {
        "missing token": None,
        "malformed token": "not-a-token",
        "expired token": issue(node.identity, node.id, CREATE, now=time.time() - 900),
        "wrong audience": issue(node.identity, other.id, CREATE),
        "wrong method": issue(node.identity, node.id, LIST),
        "bad signature": ".".join([genuine[0], genuine[1], forged[2]]),
    }
    for reason, token in cases.items():
        error = refusal(stub.Create, create, token)
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED, reason
        assert error.details().startswith(reason + ":"), (reason, error.details())
    assert snapshot(db) == before  # nothing refused was stored

    token = issue(node.identity, node.id, CREATE)
    stub.Create(create, metadata=[("authorization", f"Bearer {token}")])
    replayed = refusal(stub.Create, create, token)
    assert replayed.code() == grpc.StatusCode.UNAUTHENTICATED
    assert replayed.details().startswith("replayed token:")


def test_a_key_the_policy_does_not_allow_is_permission_denied(node: Node, stub) -> None:
    stranger = Identity.generate()
    error = refusal(stub.List, workflow_pb2.ListWorkflowsRequest(), issue(stranger, node.id, LIST))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert stranger.id in error.details() and "rules.read" in error.details()


def test_health_is_open_and_says_the_node_id(guarded: Server, node: Node) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(guarded.address) as channel:
        answer, call = health_pb2_grpc.HealthStub(channel).Check.with_call(health_pb2.HealthCheckRequest())
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    assert dict(call.initial_metadata())["catenary-node-id"] == node.id


def test_the_python_client_signs_with_its_key(guarded: Server, node: Node) -> None:
    with Client(guarded.address, key=node.identity) as client:
        created = client.workflows.create(MANIFEST)
        assert [w.id for w in client.workflows.list()] == [created.id]
    with Client(guarded.address) as anonymous, pytest.raises(AuthenticationError, match="missing"):
        anonymous.workflows.list()
    with (
        Client(guarded.address, key=Identity.generate()) as stranger,
        pytest.raises(PermissionDeniedError, match="rules.read"),
    ):
        stranger.workflows.list()


def test_claims_are_scoped_by_operation(node: Node, tmp_path: Path) -> None:
    """A key allowed to claim test/inc reaches the servicer for it; for std/hash it is refused."""
    alice = Identity.generate()
    (node.data_dir / "policy.toml").write_text(
        f'[[rules.claim]]\nkeys = ["{alice.id}"]\noperations = ["test/inc"]\n'
    )
    inc = node.workflows.create(MANIFEST)
    hashing = node.workflows.create(STD_MANIFEST)
    done_inc = node.runs.run(inc.id, {0: [1]})[1].final
    done_hash = node.runs.run(hashing.id, {0: [b"x"]})[1].final
    server = Server(node, "127.0.0.1:0", max_workers=8).start()
    try:
        with grpc.insecure_channel(server.address) as channel:
            update = execution_pb2_grpc.ExecutionStub(channel).Update
            method = "/catenary.api.v1.Execution/Update"
            for final, code in (
                (done_inc, grpc.StatusCode.FAILED_PRECONDITION),
                (done_hash, grpc.StatusCode.PERMISSION_DENIED),
            ):
                request = execution_pb2.UpdateExecutionRequest(
                    hash=final.cid_bytes, status=execution_def_pb2.IN_PROGRESS, executor=alice.id
                )
                error = refusal(update, request, issue(alice, node.id, method))
                assert error.code() == code, error.details()
            assert "rules.claim" in error.details() and alice.id in error.details()
    finally:
        server.stop(grace=1)


def test_scoped_claims_stay_per_execution_when_asked_again(node: Node) -> None:
    """The node remembers what each execution's operation is called (for speed): asked again and
    in turn, each execution keeps its own answer, and an unknown hash is never allowed."""
    alice = Identity.generate()
    (node.data_dir / "policy.toml").write_text(
        f'[[rules.claim]]\nkeys = ["{alice.id}"]\noperations = ["test/inc"]\n'
    )
    done_inc = node.runs.run(node.workflows.create(MANIFEST).id, {0: [1]})[1].final
    done_hash = node.runs.run(node.workflows.create(STD_MANIFEST).id, {0: [b"x"]})[1].final
    unknown = done_inc.cid_bytes[:-1] + bytes([done_inc.cid_bytes[-1] ^ 1])
    server = Server(node, "127.0.0.1:0", max_workers=8).start()
    try:
        with grpc.insecure_channel(server.address) as channel:
            update = execution_pb2_grpc.ExecutionStub(channel).Update
            method = "/catenary.api.v1.Execution/Update"
            for _ in range(2):
                for target, code in (
                    (done_inc.cid_bytes, grpc.StatusCode.FAILED_PRECONDITION),  # allowed: already done
                    (done_hash.cid_bytes, grpc.StatusCode.PERMISSION_DENIED),
                    (unknown, grpc.StatusCode.PERMISSION_DENIED),
                ):
                    request = execution_pb2.UpdateExecutionRequest(
                        hash=target, status=execution_def_pb2.IN_PROGRESS, executor=alice.id
                    )
                    error = refusal(update, request, issue(alice, node.id, method))
                    assert error.code() == code, error.details()
    finally:
        server.stop(grace=1)


# -- TLS --------------------------------------------------------------------------------------


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority(tmp_path / "pki")


def test_tls_with_a_token_from_the_python_client_and_buf_curl(node: Node, authority: Authority) -> None:
    pair = authority.server()
    server = Server(node, "127.0.0.1:0", max_workers=16, tls=TLSFiles(pair.cert, pair.key)).start()
    try:
        with Client(server.address, key=node.identity, tls=ClientTLS(authority.cert)) as client:
            created = client.workflows.create(MANIFEST)
        with (
            Client(server.address, key=node.identity) as plain,
            pytest.raises(CatenaryError, match="node unavailable"),
        ):
            plain.workflows.list()  # plain text to a TLS port fails
        buf = Buf(
            server.address,
            key=node.identity,
            audience=node.id,
            scheme="https",
            extra=("--cacert", str(authority.cert)),
        )
        listed = buf.json("catenary.api.v1.Workflow/List", {})
        assert [w["name"] for w in listed["workflows"]] == ["chain"]
        assert created.workflow.name == "chain"
        unsigned = Buf(server.address, scheme="https", extra=("--cacert", str(authority.cert)))
        refused = unsigned("catenary.api.v1.Workflow/List", {}, ok=False)
        assert refused.returncode != 0 and "missing token" in refused.stdout + refused.stderr
    finally:
        server.stop(grace=1)


def catenary(data: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("CATENARY_NODE", None)
    env.pop("CATENARY_KEY", None)
    return subprocess.Popen(
        [sys.executable, "-m", "catenary", "--data-dir", str(data), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def run(data: Path, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    proc = catenary(data, *args)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, out + err
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0


def test_mutual_tls_with_the_cli(tmp_path: Path, authority: Authority) -> None:
    """A client certificate that the policy maps to a key is that key; without one, no TLS."""
    data = tmp_path / "data"
    alice = Identity.create_file(tmp_path / "alice.pem")
    (data).mkdir()
    (data / "policy.toml").write_text(f"""
[rules]
create_workflow = ["self", "{alice.id}"]
read = ["self", "{alice.id}"]

[[clients]]
common_name = "alice"
key = "{alice.id}"
""")
    server, client, stranger = authority.server(), authority.client("alice"), authority.client("eve")
    proc = catenary(
        data,
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        str(server.cert),
        "--tls-key",
        str(server.key),
        "--tls-client-ca",
        str(authority.cert),
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on "), proc.stderr.read()
        address = line.split()[-1]
        (tmp_path / "wf.json").write_text(STD_MANIFEST)
        tls = ["--node", address, "--tls-ca", str(authority.cert)]
        mine = [*tls, "--client-cert", str(client.cert), "--client-key", str(client.key)]
        created = json.loads(
            run(tmp_path / "unused", *mine, "workflow", "create", str(tmp_path / "wf.json"), "--json").stdout
        )
        listed = json.loads(run(tmp_path / "unused", *mine, "workflow", "list", "--json").stdout)
        assert [w["id"] for w in listed["workflows"]] == [created["id"]]
        theirs = [*tls, "--client-cert", str(stranger.cert), "--client-key", str(stranger.key)]
        unmapped = run(tmp_path / "unused", *theirs, "workflow", "list", code=2)
        assert "CN='eve' is not mapped to a key" in unmapped.stderr
        no_cert = run(tmp_path / "unused", *tls, "workflow", "list", code=1)
        assert "unavailable" in no_cert.stderr.lower()  # the handshake fails: no certificate
    finally:
        stop(proc)


# -- listening ----------------------------------------------------------------------------------


def test_a_used_port_exits_2_for_grpc_and_http(tmp_path: Path, guarded: Server) -> None:
    taken = run(tmp_path / "data", "serve", "--listen", guarded.address, code=2)
    assert "address already in use" in taken.stderr
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        web = run(tmp_path / "data", "serve", "--http", f"127.0.0.1:{port}", code=2)
    assert "address already in use" in web.stderr


def test_a_non_loopback_address_needs_tls_and_keys_or_insecure(tmp_path: Path) -> None:
    refused = run(tmp_path / "data", "serve", "--listen", "0.0.0.0:0", code=2)
    assert "not a loopback address" in refused.stderr and "--insecure" in refused.stderr
    proc = catenary(tmp_path / "data", "serve", "--listen", "0.0.0.0:0", "--insecure")
    try:
        assert proc.stdout.readline().startswith("listening on ")
    finally:
        stop(proc)
    assert "warning:" in proc.stderr.read()


def test_buf_curl_with_a_token_from_the_cli(tmp_path: Path, guarded: Server, node: Node) -> None:
    """The README's recipe: `catenary key token` for the header of any gRPC tool."""
    key = str(node.data_dir / "node_key.pem")
    method = "catenary.api.v1.Workflow/List"
    token = run(
        tmp_path / "unused", "--node", guarded.address, "--key", key, "key", "token", method
    ).stdout.strip()
    buf = Buf(guarded.address, extra=("-H", f"authorization: Bearer {token}"))
    assert buf.json(method, {}) == {}  # no workflows yet, and allowed
    again = buf(method, {}, ok=False)
    assert "replayed token" in again.stdout + again.stderr
    stranger = Identity.create_file(tmp_path / "eve.pem")
    foreign = run(
        tmp_path / "unused", "--key", str(tmp_path / "eve.pem"), "key", "token", method, "--audience", node.id
    ).stdout.strip()
    denied = Buf(guarded.address, extra=("-H", f"authorization: Bearer {foreign}"))(method, {}, ok=False)
    assert "permission_denied" in denied.stderr and stranger.id in denied.stderr


def test_the_explorer_over_tls(node: Node, authority: Authority) -> None:
    import ssl

    import httpx

    from catenary.web import WebServer

    pair = authority.server()
    web = WebServer(node, "127.0.0.1:0", tls=TLSFiles(pair.cert, pair.key)).start()
    try:
        assert web.url.startswith("https://")
        answer = httpx.get(
            f"{web.url}/api/operations",
            timeout=30,
            verify=ssl.create_default_context(cafile=str(authority.cert)),
        )
        assert answer.status_code == 200 and answer.json()["operations"]
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://{web.address}/api/operations", timeout=30)  # no plain text
    finally:
        web.stop()
