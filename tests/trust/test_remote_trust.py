"""Verify and attestations over gRPC (Execution.Verify / Execution.Attestations): the Python
client, the CLI's --node against a real `catenary serve` process, and buf curl (reflection
only), each giving what the local node gives."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catenary import Node
from catenary.api import Server
from catenary.api import trust as trust_pb
from catenary.cid import CID
from catenary.client import Client
from catenary.errors import BadInputError, InvalidCIDError, NotFoundError
from catenary.proto.api import execution_pb2
from catenary.trust.identity import Identity
from tests.api.conftest import Buf
from tests.helpers import manifest, open_policy
from tests.trust.conftest import CHAIN
from tests.trust.test_cli_trust import ROOT, cli

UNKNOWN = CID.parse("bafy2bzaceajzjwkmpnmyb57kjdebduo45ythudsedwuowdja26dflzd6teli6")


def essentials(verdicts: list[Any]) -> list[tuple[Any, ...]]:
    """A verdict without its attestation list (which grows as nodes attest)."""
    return [
        (v.execution, v.verdict, v.reason, v.operation, v.name, v.segment, v.step, v.expected, v.got)
        for v in verdicts
    ]


# -- the Python client against an in-process server ---------------------------------------------


@pytest.fixture
def served_b(finished, bundle: bytes, node_b: Node) -> Iterator[tuple[Node, Client, CID]]:
    """node_b (a validator: the bundle imported from node_a) served; a client of it; the root."""
    node_b.trust.import_bundle(bundle)
    server = Server(node_b, "127.0.0.1:0", policy=open_policy(node_b)).start()
    client = Client(server.address)
    yield node_b, client, finished[2].final
    client.close()
    server.stop(grace=1)


def test_client_attestations_are_the_local_list(served_b) -> None:
    node, client, final = served_b
    remote = client.attestations.list(final)
    assert remote == node.attestations.list(final)
    [check] = remote
    assert check.valid and check.role == "executor" and check.signer != node.id


def test_client_verify_is_the_local_verify_signed_by_the_served_node(served_b) -> None:
    node, client, final = served_b
    remote = client.trust.verify(final, trace=True)
    assert remote.ok and remote.overall == "verified" and remote.root == final
    assert remote.signer == node.id and len(remote.attested) == 4  # the served node attested
    assert all([a.role for a in v.attestations] == ["executor"] for v in remote.verdicts)
    local = node.trust.verify(final, trace=True)
    assert essentials(remote.verdicts) == essentials(local.verdicts)
    assert local.attested == []  # the same node: it attested already, through the API
    assert client.attestations.list(final) == node.attestations.list(final)
    assert sorted(c.role for c in client.attestations.list(final)) == ["executor", "validator"]
    one = client.trust.verify(final)
    assert len(one.verdicts) == 1 and one.verdicts[0].execution == final and one.attested == []


def test_client_verify_reports_a_mismatch_as_an_answer(served_b) -> None:
    node, client, _ = served_b
    wf = node.workflows.create(manifest(([-1], ["trust/random"]), name="random"))
    _, result = node.runs.run(wf.id, {0: [8]})
    report = client.trust.verify(result.final)
    [v] = report.verdicts
    assert not report.ok and report.overall == "mismatch" and v.verdict == "mismatch"
    assert v.expected == node.executions.get(result.final).output and v.got not in (None, v.expected)
    assert report.attested == []


def test_client_errors_are_catenary_errors(served_b) -> None:
    _, client, _ = served_b
    with pytest.raises(NotFoundError, match="unknown execution"):
        client.trust.verify(UNKNOWN)
    with pytest.raises(NotFoundError, match="unknown execution"):
        client.attestations.list(UNKNOWN)
    stub = client.trust._stub
    with pytest.raises(Exception) as caught:
        stub.Verify(execution_pb2.VerifyRequest(hash=b"\x01\x02"))
    assert "hash" in caught.value.details()
    with pytest.raises(Exception) as caught:
        stub.Attestations(execution_pb2.AttestationsRequest())
    assert "hash: a CID is required" in caught.value.details()


def test_unknown_enum_values_are_refused_not_guessed() -> None:
    v = execution_pb2.ExecutionVerdict(execution=UNKNOWN.cid_bytes, operation=UNKNOWN.cid_bytes, verdict=99)
    with pytest.raises(BadInputError, match="verdict: unknown value 99"):
        trust_pb.verdict_from_pb(v)
    with pytest.raises(BadInputError, match="attestation role: unknown value 0"):
        trust_pb.check_from_pb(execution_pb2.AttestationCheck(cid=UNKNOWN.cid_bytes))
    with pytest.raises(InvalidCIDError):
        trust_pb.check_from_pb(execution_pb2.AttestationCheck(cid=b"\x01", role=execution_pb2.EXECUTOR))


# -- the CLI's --node and buf curl against a real `catenary serve` --------------------------------


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Data dir A runs CHAIN and exports it; B imports it and is served (another process)."""
    base = tmp_path_factory.mktemp("remote-trust")
    a, b = base / "a", base / "b"
    flow = base / "chain.json"
    flow.write_text(json.dumps(CHAIN))
    wf = json.loads(cli(a, "workflow", "create", str(flow), "--json").stdout)["id"]
    final = json.loads(cli(a, "run", wf, "-i", "0=1", "-i", "1=5", "--json").stdout)["final"]
    car = base / "chain.car"
    cli(a, "export", final, "-o", str(car))
    cli(b, "import", str(car))
    env = {
        **os.environ,
        "CATENARY_HOME": str(b),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "catenary",
            "--ops",
            "tests.ops_fixture",
            "--ops",
            "tests.trust.trust_ops",
            "serve",
            "--listen",
            "127.0.0.1:0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    line = proc.stdout.readline()
    assert line.startswith("listening on "), proc.stderr.read()
    yield {"base": base, "b": b, "final": final, "car": car, "address": line.split()[-1]}
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0


def remote(serve: dict, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    # CATENARY_HOME points at a dir that must never be created: --node opens no data dir.
    # The served node's policy is the default (its own key only): the CLI signs with that key.
    return cli(
        serve["base"] / "unused",
        "--node",
        serve["address"],
        "--key",
        str(serve["b"] / "node_key.pem"),
        *args,
        code=code,
    )


def local(serve: dict, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    return cli(serve["b"], "--ops", "tests.trust.trust_ops", *args, code=code)


def test_cli_attestations_and_verify_via_node_are_the_local_ones(serve) -> None:
    final = serve["final"]
    listing = ["exec", "attestations", final, "--json"]
    assert json.loads(remote(serve, *listing).stdout) == json.loads(local(serve, *listing).stdout)
    human = remote(serve, "exec", "attestations", final).stdout
    assert "executor" in human and "valid" in human

    doc = json.loads(remote(serve, "verify", final, "--trace", "--json").stdout)
    assert doc["verdict"] == "verified" and len(doc["executions"]) == 4 and len(doc["attested"]) == 4
    here = json.loads(local(serve, "verify", final, "--trace", "--json").stdout)
    assert here["signer"] == doc["signer"]  # the served node is B: the same key signs
    assert here["attested"] == []  # B attested already, through the API

    def strip(document: dict) -> dict:
        return {
            **document,
            "attested": None,
            "executions": [{**e, "attestations": None} for e in document["executions"]],
        }

    assert strip(doc) == strip(here)
    assert json.loads(remote(serve, *listing).stdout) == json.loads(local(serve, *listing).stdout)
    roles = sorted(a["role"] for a in json.loads(remote(serve, *listing).stdout)["attestations"])
    assert roles == ["executor", "validator"]
    human = remote(serve, "verify", final).stdout
    assert "verdict  verified" in human and "test/count" in human
    assert not (serve["base"] / "unused").exists()


def test_cli_verify_via_node_fails_like_local(serve, tmp_path: Path) -> None:
    flow = tmp_path / "random.json"
    flow.write_text(json.dumps(manifest(([-1], ["trust/random"]), name="random")))
    wf = json.loads(remote(serve, "workflow", "create", str(flow), "--json").stdout)["id"]
    final = json.loads(remote(serve, "run", wf, "-i", "0=8", "--json").stdout)["final"]
    out = remote(serve, "verify", final, "--json", code=1)
    doc = json.loads(out.stdout)
    assert doc["verdict"] == "mismatch" and doc["executions"][0]["expected"] != doc["executions"][0]["got"]
    assert "verification failed" in out.stderr
    missing = remote(serve, "verify", str(UNKNOWN), code=2)
    assert "unknown execution" in missing.stderr
    remote(serve, "exec", "attestations", "nonsense", code=2)


def test_bundle_commands_stay_local(serve) -> None:
    for args in (
        ["export", serve["final"], "-o", str(serve["base"] / "x.car")],
        ["verify-bundle", str(serve["car"])],
        ["import", str(serve["car"])],
    ):
        out = remote(serve, *args, code=2)
        assert "runs on a local data dir; it does not take --node" in out.stderr
    assert not (serve["base"] / "x.car").exists()


def test_buf_curl_calls_verify_and_attestations(serve) -> None:
    # The node's own key, sent as a bearer token header (the default policy allows only it).
    key = Identity.load_file(serve["b"] / "node_key.pem")
    buf = Buf(serve["address"], key=key, audience=key.id)
    root = base64.b64encode(CID.parse(serve["final"]).cid_bytes).decode()
    listed = buf.json("catenary.api.v1.Execution/Attestations", {"hash": root})
    assert {a["role"] for a in listed["attestations"]} <= {"EXECUTOR", "VALIDATOR"}
    assert all(a["valid"] and a["signer"].startswith("did:key:z") for a in listed["attestations"])
    answer = buf.json("catenary.api.v1.Execution/Verify", {"hash": root, "trace": True})
    assert answer["verdict"] == "VERIFIED" and answer["root"] == root
    assert [e["verdict"] for e in answer["executions"]] == ["VERIFIED"] * 4
    assert answer["signer"].startswith("did:key:z") and "name" in answer["executions"][0]
    bad = buf("catenary.api.v1.Execution/Verify", {"hash": base64.b64encode(b"\x00").decode()}, ok=False)
    assert bad.returncode != 0 and "invalid_argument" in bad.stdout + bad.stderr
