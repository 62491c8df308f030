"""The Event gRPC service on a real server: the Python client signs with its key, the
interceptor authenticates, the policy's "emit" rule is scoped by event key, and refusals
store nothing."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from catenary.api import Server
from catenary.api.event_convert import emit_request
from catenary.cid import block
from catenary.client import Client
from catenary.errors import AuthenticationError, BadInputError, PermissionDeniedError
from catenary.events import new_event, sign
from catenary.model.emitted import SignedEvent
from catenary.proto.api import event_pb2_grpc
from catenary.sdk import Node
from catenary.trust.identity import Identity
from catenary.trust.token import issue

EMIT = "/catenary.api.v1.Event/Emit"


@pytest.fixture
def alice() -> Identity:
    return Identity.generate()


@pytest.fixture
def served(node: Node, alice: Identity) -> Iterator[Server]:
    """Alice may emit photo.* events only; everyone known may read."""
    (node.data_dir / "policy.toml").write_text(
        f'[rules]\nread = ["self", "{alice.id}"]\n\n'
        f'[[rules.emit]]\nkeys = ["self", "{alice.id}"]\nevents = ["photo.uploaded"]\n'
    )
    server = Server(node, "127.0.0.1:0", max_workers=8).start()
    yield server
    server.stop(grace=1)


def test_emit_get_and_list_with_the_python_client(served: Server, node: Node, alice: Identity) -> None:
    with Client(served.address, key=alice) as client:
        stored = client.events.emit("photo.uploaded", {"name": "a.jpg"})
        assert stored.event.emitter == alice.id and stored.position == 1
        assert client.events.get(stored.id) == stored
        assert client.events.data(stored.event) == {"name": "a.jpg"}
        assert [e.id for e in client.events.list(key="photo.uploaded")] == [stored.id]
    # stored on the node before the call returned, signed by alice
    assert node.events.get(stored.id).signature == stored.signature


def test_refusals_store_nothing(served: Server, node: Node, alice: Identity) -> None:
    with Client(served.address, key=alice) as client:
        with pytest.raises(PermissionDeniedError, match="rules.emit"):
            client.events.emit("photo.deleted", 1)  # a key outside alice's grant
        with pytest.raises(BadInputError, match="not an event key"):
            client.events.emit("photo uploaded!", 1)
    with Client(served.address) as anonymous, pytest.raises(AuthenticationError):
        anonymous.events.emit("photo.uploaded", 1, identity=alice)  # signed, but the call is not
    with Client(served.address, key=Identity.generate()) as stranger, pytest.raises(PermissionDeniedError):
        stranger.events.emit("photo.uploaded", 1)

    # alice's call carrying an event signed by, and naming, someone else
    bob = Identity.generate()
    cid, value = block(2)
    bobs = sign(bob, new_event(bob.id, "photo.uploaded", cid))
    with grpc.insecure_channel(served.address) as channel:
        stub = event_pb2_grpc.EventStub(channel)
        token = [("authorization", f"Bearer {issue(alice, node.id, EMIT)}")]
        with pytest.raises(grpc.RpcError) as info:
            stub.Emit(emit_request(bobs, value), metadata=token)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "a key emits only its own events" in info.value.details()
        # alice's event with a signature that is not hers
        mine = new_event(alice.id, "photo.uploaded", cid)
        forged = SignedEvent(mine, bob.sign(mine.signed_bytes()))
        token = [("authorization", f"Bearer {issue(alice, node.id, EMIT)}")]
        with pytest.raises(grpc.RpcError) as info:
            stub.Emit(emit_request(forged, value), metadata=token)
        assert "does not verify" in info.value.details()
    assert node.events.list() == []
    assert node.store.get_block(cid) is None  # nor was the data value
