"""Sessions on the wire: each refusal class through a real server, nothing stored for a refused
call, and the Python client opening, reusing and reopening its session."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import grpc
import pytest

from catenary.api import Server
from catenary.client import Client
from catenary.errors import PermissionDeniedError
from catenary.proto.api import workflow_pb2, workflow_pb2_grpc
from catenary.sdk import Node
from catenary.trust.identity import Identity
from catenary.trust.session import GRANT_KEY, ClientSession
from catenary.trust.token import Issuer
from tests.api.conftest import chain_manifest
from tests.helpers import snapshot

CREATE = "/catenary.api.v1.Workflow/Create"
LIST = "/catenary.api.v1.Workflow/List"
MANIFEST = json.dumps(chain_manifest())


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


def sent(session: ClientSession, method: str = CREATE, grant: bool = True) -> list[tuple[str, str]]:
    """The session's metadata for one call, with or without its grant."""
    return session.metadata(method, grant=True)[: 2 if grant else 1]


def refusal(call, request, metadata) -> str:
    with pytest.raises(grpc.RpcError) as info:
        call(request, metadata=metadata)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED, info.value.details()
    return info.value.details()


def test_each_bad_session_proof_is_unauthenticated_with_its_reason(node: Node, stub) -> None:
    db = node.data_dir / "catenary.db"
    before = snapshot(db)
    create = workflow_pb2.CreateWorkflowRequest(manifest=MANIFEST)
    issuer = Issuer(node.identity)
    session = ClientSession(issuer, node.id)
    without_grant = sent(session, grant=False)
    assert refusal(stub.Create, create, without_grant).startswith("unknown session:")
    stale = ClientSession(issuer, node.id, now=time.time() - 900)
    assert refusal(stub.Create, create, sent(stale)).startswith("expired session:")
    elsewhere = ClientSession(issuer, Identity.generate().id)
    assert refusal(stub.Create, create, sent(elsewhere)).startswith("wrong audience:")
    for_list = sent(session, LIST)  # a proof for List sent on Create: the MAC binds the method
    details = refusal(stub.Create, create, for_list)
    assert details.startswith("bad mac:") and CREATE in details
    (name, value), grant = sent(session)
    forged = [(name, value[:-8] + "00000000"), grant]
    assert refusal(stub.Create, create, forged).startswith("bad mac:")
    assert snapshot(db) == before  # nothing refused was stored

    good = sent(session)
    stub.Create(create, metadata=good)
    assert refusal(stub.Create, create, good).startswith("replayed counter:")
    stub.List(workflow_pb2.ListWorkflowsRequest(), metadata=sent(session, LIST, grant=False))


def test_a_session_of_a_key_the_policy_does_not_allow_is_permission_denied(node: Node, stub) -> None:
    key = Identity.generate()
    stranger = ClientSession(Issuer(key), node.id)
    with pytest.raises(grpc.RpcError) as info:
        stub.List(workflow_pb2.ListWorkflowsRequest(), metadata=sent(stranger, LIST))
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert key.id in info.value.details() and "rules.read" in info.value.details()


def test_the_python_client_opens_one_session_and_reopens_it_after_a_restart(node: Node) -> None:
    server = Server(node, "127.0.0.1:0", max_workers=8).start()
    address = server.address
    try:
        with Client(address, key=node.identity) as client:
            created = client.workflows.create(MANIFEST)
            for _ in range(5):
                assert [w.id for w in client.workflows.list()] == [created.id]
            assert len(server.authorization.sessions) == 1
            assert len(server.authorization.tokens) == 0  # no token was signed per call
            server.stop(grace=1)
            server = Server(node, address, max_workers=8).start()  # forgets every session
            assert [w.id for w in client.workflows.list()] == [created.id]
            assert len(server.authorization.sessions) == 1
        with (
            Client(address, key=Identity.generate()) as stranger,
            pytest.raises(PermissionDeniedError, match="rules.read"),
        ):
            stranger.workflows.list()
    finally:
        server.stop(grace=1)


def test_per_call_tokens_still_work_from_the_python_client(guarded: Server, node: Node) -> None:
    with Client(guarded.address, key=node.identity, sessions=False) as client:
        client.workflows.list()
        client.workflows.list()
    assert len(guarded.authorization.tokens) == 2 and len(guarded.authorization.sessions) == 0


def test_a_grant_in_its_metadata_is_only_compared_once_the_session_is_open(node: Node, stub) -> None:
    """A second grant naming an open session (someone who saw its id) cannot take it over."""
    session = ClientSession(Issuer(node.identity), node.id)
    stub.List(workflow_pb2.ListWorkflowsRequest(), metadata=sent(session, LIST))
    intruder = ClientSession(Issuer(Identity.generate()), node.id)
    intruder.sid = session.sid
    (name, value), _ = sent(session, LIST)
    details = refusal(
        stub.List, workflow_pb2.ListWorkflowsRequest(), [(name, value), (GRANT_KEY, intruder.grant)]
    )
    assert details.startswith("malformed token:") and "another grant" in details
