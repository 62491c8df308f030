"""One suite, two implementations of :class:`~catenary.model.node.NodeLike`: a local
:class:`~catenary.sdk.Node` and a :class:`~catenary.client.Client` of the same kind of node
served on loopback gRPC. Every test in this folder takes ``api`` and runs on both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from catenary.api import Server
from catenary.client import Client
from catenary.model.node import NodeLike
from catenary.sdk import Node
from tests import ops_fixture
from tests.conftest import TEST_OPS


@dataclass(frozen=True)
class Api:
    """What a test drives (``node``, typed as the protocol only) and the local node behind it
    (``local``) for what the protocol does not offer: registering a remote operation."""

    kind: str  # "node" | "client"
    node: NodeLike
    local: Node


@pytest.fixture(params=["node", "client"])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    ops_fixture.reset()
    local = Node(tmp_path / "data", operations=[TEST_OPS], max_value_size=1024 * 1024)
    try:
        if request.param == "node":
            yield Api("node", local, local)
            return
        server = Server(local, "127.0.0.1:0", max_workers=32).start()
        try:
            # The client signs its calls with the node's own key, which a fresh policy allows.
            with Client(server.address, max_value_size=1024 * 1024, key=local.identity) as client:
                yield Api("client", client, local)
        finally:
            server.stop(grace=1)
    finally:
        local.close()
        ops_fixture.reset()
