"""Find by value over gRPC: the Filter's input and output fields, on both stores, through the
Python client and through buf curl (the wire field names, no catenary code)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from catenary.api import Server
from catenary.cid import CID, cid_of
from catenary.client import Client
from catenary.model.filter import ExecutionFilter
from catenary.sdk import Node
from tests.helpers import allow_anonymous

from .conftest import Buf, b64, chain_manifest, inc


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def served(tmp_path: Path, db: str | None) -> Iterator[tuple[Node, Client, Buf]]:
    node = Node(tmp_path / "data", db=db)
    node.registry.add(inc)
    node.operations.publish()
    allow_anonymous(node.data_dir)
    server = Server(node, "127.0.0.1:0").start()
    client = Client(server.address)
    yield node, client, Buf(server.address)
    client.close()
    server.stop(grace=1)
    node.close()


def test_input_and_output_filters_find_a_value_wherever_it_flowed(served) -> None:
    node, client, buf = served
    wf = client.workflows.create(json.dumps(chain_manifest(steps=3)))
    for start in range(3):  # 0 -> 1 -> 2 -> 3, 1 -> 2 -> 3 -> 4, 2 -> 3 -> 4 -> 5
        client.runs.run(wf.id, {0: [start]})
    two = cid_of(2)
    everything = list(node.executions.iterate())

    def over_grpc(**kw: CID) -> set[CID]:
        return {e.hash for e in client.executions.list(ExecutionFilter(**kw), 100).executions}

    took = {e.hash for e in everything if two in e.inputs}
    made = {e.hash for e in everything if e.output == two}
    assert len(took) == 3 and len(made) == 2  # step 2 of run 0, step 1 of run 1, step 0 of run 2
    assert over_grpc(input=two) == took
    assert over_grpc(output=two) == made
    assert over_grpc(input=two, output=cid_of(3)) == took
    assert over_grpc(input=cid_of("never stored")) == set()

    listed = buf.json("catenary.api.v1.Execution/List", {"filter": {"output": b64(two.cid_bytes)}})
    assert {CID(base64.b64decode(e["hash"])) for e in listed["executions"]} == made


def test_a_malformed_value_cid_is_refused_naming_the_field(served) -> None:
    _, _, buf = served
    bad = buf("catenary.api.v1.Execution/List", {"filter": {"input": b64(b"\x01\x02")}}, ok=False)
    assert "invalid_argument" in bad.stdout + bad.stderr
    assert "filter.input" in bad.stdout + bad.stderr
