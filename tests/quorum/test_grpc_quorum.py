"""Acceptance over gRPC, and a served validator at work: against a real server."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from catenary import Node
from catenary.api import Server
from catenary.client import Client
from catenary.model.enums import Acceptance, Role
from catenary.model.filter import ExecutionFilter
from tests.quorum.test_quorum import OPS, forge, move, run


def test_acceptance_over_grpc_and_a_validator_that_follows_updates(
    make_node: Callable[..., Node], tmp_path: Path
) -> None:
    a, b, e = (make_node(data_dir=tmp_path / n, operations=OPS) for n in "abe")
    forge(e, "trust/square")
    run_a, square_a, final_a = run(a, 6)
    _, square_e, final_e = run(e, 6)
    server = Server(b, "127.0.0.1:0", max_workers=4).start()
    try:
        with Client(server.address, key=b.identity) as client:
            move(a, b, final_a)
            assert client.acceptance.get(square_a).status is Acceptance.PENDING
            pending = client.executions.list(ExecutionFilter(acceptance=Acceptance.PENDING)).executions
            assert square_a in {x.hash for x in pending}

            stop = b.validator.start(b.executions.updates)  # what serve --validate starts
            try:
                move(e, b, final_e)  # arrives while the validator follows updates
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    if client.acceptance.get(square_e).status is Acceptance.DISPUTED and (
                        client.acceptance.get(final_a).status is Acceptance.ACCEPTED
                    ):
                        break
                    time.sleep(0.1)
            finally:
                stop.set()
            standing = client.acceptance.get(square_a)
            assert standing == b.acceptance.get(square_a) and standing.status is Acceptance.ACCEPTED
            assert client.acceptance.get(square_e).status is Acceptance.DISPUTED
            roles = {c.role for c in client.attestations.list(square_e)}
            assert roles == {Role.EXECUTOR, Role.DISSENT}
            disputed = client.executions.list(ExecutionFilter(acceptance=Acceptance.DISPUTED)).executions
            assert {x.hash for x in disputed} == {square_e}
    finally:
        server.stop(grace=1)
