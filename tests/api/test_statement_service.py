"""The Statement gRPC service, driven by buf curl through reflection (no catenary client code)."""

from __future__ import annotations

import base64
import dataclasses
import json

from catenary.api import Server
from catenary.sdk import Node
from catenary.trust.identity import Identity
from tests.api.conftest import Buf, b64, chain_manifest


def _proven(node: Node):
    wf = node.workflows.create(json.dumps(chain_manifest(steps=2)))
    _, result = node.runs.run(wf.id, {0: [40]})
    assert result.result == 42
    return node.executions.get(result.final)


def test_verify_submit_get_and_list_over_grpc(node: Node, server: Server, buf: Buf) -> None:
    final = _proven(node)
    owner = Identity.generate()
    _, envelope = node.statements.create(final.hash, {"answer": 42}, owner)
    # A statement made elsewhere: the node has not kept it until it is submitted.
    for s in node.statements.list():
        (node.data_dir / "statements" / f"{s.id}.json").unlink()

    checked = buf.json("catenary.api.v1.Statement/Verify", {"json": envelope.dumps()})
    assert checked["holds"] is True and checked["claimant"] == owner.id
    assert json.loads(checked["claim"]) == {"answer": 42}
    assert base64.b64decode(checked["execution"]) == final.hash.cid_bytes
    assert buf.json("catenary.api.v1.Statement/List") == {}

    forged = dataclasses.replace(envelope, payload=envelope.payload.replace(b"42", b"43"))
    refused = buf.json("catenary.api.v1.Statement/Submit", {"json": forged.dumps()})
    assert refused.get("holds") is None and refused["refused"] == "signature"
    assert buf.json("catenary.api.v1.Statement/List") == {}  # nothing kept

    kept = buf.json("catenary.api.v1.Statement/Submit", {"json": envelope.dumps()})
    assert kept["holds"] is True
    listed = buf.json("catenary.api.v1.Statement/List", {"execution": b64(final.hash.cid_bytes)})
    assert [s["id"] for s in listed["statements"]] == [kept["id"]]
    got = buf.json("catenary.api.v1.Statement/Get", {"id": kept["id"]})
    assert json.loads(got["json"]) == json.loads(envelope.dumps())


def test_bad_requests_are_invalid_argument(server: Server, buf: Buf) -> None:
    for body in ({}, {"json": "{not json"}, {"json": '{"payload": "x"}'}):
        proc = buf("catenary.api.v1.Statement/Verify", body, ok=False)
        assert proc.returncode != 0 and "invalid_argument" in proc.stdout + proc.stderr
    proc = buf("catenary.api.v1.Statement/Get", {"id": b64(b"\x01\x71")}, ok=False)
    assert "invalid_argument" in proc.stdout + proc.stderr
