"""A dispute travels over gRPC (issue 13): after a served node's verify re-execution disagrees,
``Execution.Get`` carries ``disputed``, the Python client's ``executions.dispute`` returns it and
``exec get --node`` prints what a local ``exec get`` prints. Against a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from catenary.api import Server
from catenary.cli.main import cli
from catenary.client import Client
from catenary.sdk import Node
from tests.helpers import manifest


@pytest.fixture
def served(make_node) -> Iterator[tuple[Node, Server]]:
    node = make_node(operations=["tests.trust.trust_ops"])
    server = Server(node, "127.0.0.1:0", max_workers=4).start()
    yield node, server
    server.stop(grace=1)


def test_a_disputed_execution_is_shown_as_disputed_over_grpc(served, data_dir: Path) -> None:
    node, server = served
    with Client(server.address, key=node.identity) as client:
        wf = client.workflows.create(json.dumps(manifest(([-1], ["trust/random"]), name="random")))
        first = client.runs.run(wf.id, {0: [16]}).last.final
        assert client.executions.dispute(first) is None
        report = client.trust.verify(first)  # trust/random: the re-execution gets other bytes
        assert report.overall == "mismatch"
        dispute = client.executions.dispute(first)
        assert dispute is not None and dispute == node.executions.dispute(first)
        assert dispute.detail.startswith(f"verify by {node.id}: ")

    key = data_dir / "node_key.pem"  # the operator's way in
    runner = CliRunner()
    remote = runner.invoke(
        cli, ["--node", server.address, "--key", str(key), "exec", "get", str(first), "--json"]
    )
    local = runner.invoke(cli, ["--data-dir", str(data_dir), "exec", "get", str(first), "--json"])
    assert remote.exit_code == 0 and local.exit_code == 0, remote.output + local.output
    assert json.loads(remote.output) == json.loads(local.output)
    assert json.loads(remote.output)["disputed"] == {"at": dispute.at, "detail": dispute.detail}
    people = runner.invoke(cli, ["--node", server.address, "--key", str(key), "exec", "get", str(first)])
    assert "DISPUTED: verify by" in people.output and "never reused" in people.output
