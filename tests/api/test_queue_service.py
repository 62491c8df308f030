"""Queue.Claim through a real server: the policy's claim rule, scoped by the operations a
claim names, and the arguments it refuses (docs/api.md, "Task queues")."""

from __future__ import annotations

import pytest

from catenary.api import Server
from catenary.client import Client
from catenary.errors import BadInputError, PermissionDeniedError
from catenary.sdk import Node
from catenary.trust.identity import Identity
from tests.helpers import allow_anonymous


def test_a_scoped_claim_names_granted_operations(node: Node) -> None:
    alice = Identity.generate()
    (node.data_dir / "policy.toml").write_text(
        f'[[rules.claim]]\nkeys = ["{alice.id}"]\noperations = ["test/inc"]\n'
    )
    inc, other = (node.registry.by_name(name).version_id for name in ("test/inc", "std/hash"))
    server = Server(node, "127.0.0.1:0", max_workers=8).start()
    try:
        with Client(server.address, key=alice) as client:
            assert client.executions.claim(alice.id, operations=[inc]) == []  # allowed; nothing waits
            for operations in ([], [other], [inc, other]):
                with pytest.raises(PermissionDeniedError, match="rules.claim"):
                    client.executions.claim(alice.id, operations=operations)
    finally:
        server.stop(grace=1)


def test_bad_claims_are_refused_naming_the_argument(node: Node) -> None:
    allow_anonymous(node.data_dir)
    server = Server(node, "127.0.0.1:0", max_workers=8).start()
    try:
        with Client(server.address) as client:
            for kwargs, named in (
                ({"max_count": 101}, "max"),
                ({"queue": "no spaces"}, "queue"),
                ({"wait": 61.0}, "wait"),
                ({"lease": 86401.0}, "lease"),
            ):
                with pytest.raises(BadInputError, match=f"^{named}: "):
                    client.executions.claim("exec-1", **kwargs)  # type: ignore[arg-type]
            with pytest.raises(BadInputError, match="executor"):
                client.executions.claim("")
    finally:
        server.stop(grace=1)
