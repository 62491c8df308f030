"""The attacks of issue 13, each driven through gRPC against a real server: a forged remote
report and a misplaced ``Execution.Create`` are refused with the reason, and the database file
is byte-for-byte what it was (a second server on a used port: tests/api/test_auth.py and the
last test here)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from catenary.api import Server
from catenary.cid import encode
from catenary.client import Client
from catenary.model import OperationManifest, Status
from catenary.proto.api import execution_pb2, execution_pb2_grpc
from catenary.proto.definition import execution_pb2 as execution_def_pb2
from catenary.sdk import Node
from catenary.trust.attestation import report
from catenary.trust.identity import Identity
from catenary.trust.token import issue
from tests.helpers import create_remote_step, remote_step_manifest

ROOT = Path(__file__).resolve().parents[2]
UPDATE = "/catenary.api.v1.Execution/Update"
CREATE = "/catenary.api.v1.Execution/Create"
POLICY = """\
[rules]
read = ["self", "any"]
[[rules.claim]]
keys = ["any"]
[[rules.emit]]
keys = ["any"]
"""


def db_bytes(node: Node) -> dict[str, bytes]:
    """The SQLite database and its write-ahead log, as stored."""
    files = [node.data_dir / "catenary.db", node.data_dir / "catenary.db-wal"]
    return {f.name: f.read_bytes() for f in files if f.exists()}


@pytest.fixture
def served(node: Node) -> Iterator[Server]:
    """The node with a policy that lets any key claim and emit (the attacker has a key)."""
    (node.data_dir / "policy.toml").write_text(POLICY)
    server = Server(node, "127.0.0.1:0", max_workers=8).start()
    yield server
    server.stop(grace=1)


def call(server: Server, method: str, request, key: Identity | None, node: Node):
    metadata = [("authorization", f"Bearer {issue(key, node.id, method)}")] if key else []
    with grpc.insecure_channel(server.address) as channel:
        stub = execution_pb2_grpc.ExecutionStub(channel)
        return getattr(stub, method.rsplit("/", 1)[1])(request, metadata=metadata)


def refused(server: Server, method: str, request, key: Identity | None, node: Node) -> grpc.RpcError:
    before = db_bytes(node)
    with pytest.raises(grpc.RpcError) as info:
        call(server, method, request, key, node)
    assert db_bytes(node) == before, "a refused call changed the database"
    return info.value


def remote_step(node: Node):
    manifest = OperationManifest(name="test/remote-upper", inputs=("int",), output="string")
    info = node.operations.register_remote(manifest)
    return create_remote_step(node, info.version_id)


def completed(execution, executor: str, output, attestation: bytes = b""):
    return execution_pb2.UpdateExecutionRequest(
        hash=execution.hash.cid_bytes,
        status=execution_def_pb2.COMPLETED,
        executor=executor,
        output=encode(output),
        attestation=attestation,
    )


def test_a_forged_remote_report_is_refused_and_changes_nothing(node: Node, served: Server) -> None:
    created = remote_step(node)
    honest, attacker = Identity.generate(), Identity.generate()
    with Client(served.address, key=honest) as executor:
        executor.executions.update(created.hash, Status.IN_PROGRESS, honest.id, lease=300)
    node.executions.close()  # no lease sweeper writing meanwhile (the lease is long anyway)
    forged = "PWNED"

    # Without any key: the policy wants one.
    error = refused(served, UPDATE, completed(created, honest.id, forged), None, node)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    # An executor without the lease, signing its own report.
    signed = report(attacker, created.hash, created.key, forged)
    error = refused(served, UPDATE, completed(created, attacker.id, forged, signed), attacker, node)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"claimed by {honest.id}, not {attacker.id}" in error.details()
    # Claiming to be the lease holder with its own token.
    error = refused(served, UPDATE, completed(created, honest.id, forged, signed), attacker, node)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "not the caller's key" in error.details()
    # The lease holder's report, unsigned: refused.
    error = refused(served, UPDATE, completed(created, honest.id, forged), honest, node)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED and "carries no attestation" in error.details()
    # Signed by another key, or for another output: refused.
    error = refused(served, UPDATE, completed(created, honest.id, forged, signed), honest, node)
    assert (
        error.code() == grpc.StatusCode.FAILED_PRECONDITION and f"signed by {attacker.id}" in error.details()
    )
    other = report(honest, created.hash, created.key, "SOMETHING ELSE")
    error = refused(served, UPDATE, completed(created, honest.id, forged, other), honest, node)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED and "signed output" in error.details()
    tampered = bytearray(report(honest, created.hash, created.key, forged))
    tampered[-1] ^= 1
    error = refused(served, UPDATE, completed(created, honest.id, forged, bytes(tampered)), honest, node)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED and "does not verify" in error.details()
    assert node.executions.get(created.hash).status is Status.IN_PROGRESS

    # The honest report: stored with its attestation, the executor's did:key as executor.
    good = report(honest, created.hash, created.key, "1!")
    done = call(served, UPDATE, completed(created, honest.id, "1!", good), honest, node)
    assert done.status == execution_def_pb2.COMPLETED and done.executor == honest.id
    [attested] = node.attestations.list(created.hash)
    assert (attested.signer, attested.role.value, attested.valid) == (honest.id, "executor", True)


def test_a_misplaced_create_is_refused_with_the_field_and_changes_nothing(node: Node, served: Server) -> None:
    manifest = OperationManifest(name="test/remote-upper", inputs=("int",), output="string")
    upper = node.operations.register_remote(manifest).version_id
    wf = node.workflows.create(remote_step_manifest(upper))
    run = node.runs.new(wf.id)
    producer = node.executions.get(node.runs.next(run.id, [1]).final)
    inc = producer.operation
    emitter = Identity.generate()

    def create(**change) -> execution_pb2.CreateExecutionRequest:
        fields = dict(
            workflow=wf.id.cid_bytes,
            run=run.id.cid_bytes,
            segment=1,
            step=0,
            operation=upper.cid_bytes,
            config={},
            parents=[producer.hash.cid_bytes],
            inputs=[producer.output.cid_bytes],
        )
        return execution_pb2.CreateExecutionRequest(**{**fields, **change})

    cases = [
        (dict(segment=99, step=7), "segment: run"),  # the attack of the issue
        (dict(step=7), "step: 7 is not a step of segment 1"),
        (dict(operation=inc.cid_bytes), "operation: segment 1 step 0 runs"),
        (dict(config={"x": "1"}), "config: segment 1 step 0 has config"),
        (dict(inputs=[], parents=[]), "inputs: segment 1 step 0 takes 1 input(s), got 0"),
        (dict(parents=[producer.hash.cid_bytes] * 2), "parents: segment 1 step 0 has 1 parent(s), got 2"),
        (dict(parents=[run.id.cid_bytes]), "parents[0]: slot 0 reads segment 0 step 0"),
        (dict(inputs=[producer.inputs[0].cid_bytes]), "inputs[0]"),
    ]
    for change, message in cases:
        error = refused(served, CREATE, create(**change), emitter, node)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
        assert error.details().startswith(message), (change, error.details())
    placed = call(served, CREATE, create(), emitter, node)
    assert placed.status == execution_def_pb2.CREATED and (placed.segment, placed.step) == (1, 0)


def test_a_second_server_on_a_used_port_exits_2_and_changes_nothing(node: Node, served: Server) -> None:
    node.runs.run(node.workflows.create(json.dumps(_chain())).id, {0: [1]})
    before = db_bytes(node)
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(node.data_dir.parent)}
    second = subprocess.run(
        [
            sys.executable,
            "-m",
            "catenary",
            "--data-dir",
            str(node.data_dir),
            "serve",
            "--listen",
            served.address,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert second.returncode == 2 and "address already in use" in second.stderr
    assert db_bytes(node) == before
    with socket.create_connection(tuple(served.address.rsplit(":", 1))):  # the first still answers
        pass


def _chain() -> dict:
    from tests.api.conftest import chain_manifest

    return chain_manifest()
