"""node.events on both stores: stored before acknowledged, once per id, paged without gap."""

from __future__ import annotations

import pytest

from catenary.cid import cid_of
from catenary.errors import BadInputError, NotFoundError, ValueTooLargeError, VerificationError
from catenary.events import MAX_DATA_SIZE, new_event, sign
from catenary.model.emitted import SignedEvent
from catenary.sdk import Node
from catenary.trust.identity import Identity


def test_emit_stores_the_signed_event_and_its_data(node: Node) -> None:
    stored = node.events.emit("photo.uploaded", {"name": "a.jpg"})
    assert stored.event.emitter == node.id and stored.position >= 1
    got = node.events.get(stored.id)
    assert got == stored
    assert node.events.data(got.event) == {"name": "a.jpg"}
    assert node.values.get(got.event.data) == {"name": "a.jpg"}


def test_submit_is_idempotent_and_checks_emitter_signature_and_data(node: Node) -> None:
    other = Identity.generate()
    signed = sign(other, new_event(other.id, "sensor.reading", cid_of(42)))
    first = node.events.submit(signed, 42, caller=other.id)
    assert node.events.submit(signed, 42) == first  # the same event, stored once
    assert [e.id for e in node.events.list()] == [first.id]

    forged = SignedEvent(signed.event, node.identity.sign(signed.event.signed_bytes()))
    fresh = sign(other, new_event(other.id, "sensor.reading", cid_of(43)))
    with pytest.raises(VerificationError):
        node.events.submit(forged, 42)
    with pytest.raises(BadInputError, match="a key emits only its own events"):
        node.events.submit(fresh, 43, caller=node.id)
    with pytest.raises(BadInputError, match="^data: the value's CID"):
        node.events.submit(fresh, 44)
    assert [e.id for e in node.events.list()] == [first.id]  # nothing else stored


def test_bad_key_and_too_large_data_store_nothing(node: Node) -> None:
    with pytest.raises(BadInputError, match="not an event key"):
        node.events.emit("Photo Uploaded", 1)
    with pytest.raises(ValueTooLargeError, match="event data cap"):
        node.events.emit("blob.big", b"x" * (MAX_DATA_SIZE + 1))
    with pytest.raises(NotFoundError):
        node.events.get(cid_of("nothing"))
    assert node.events.list() == []


def test_list_pages_by_position_and_filters(node: Node) -> None:
    emitted = [node.events.emit("a.b" if i % 2 else "c.d", i) for i in range(5)]
    first = node.events.list(limit=2)
    rest = node.events.list(after=first[-1].position, limit=100)
    assert [e.id for e in first + rest] == [e.id for e in emitted]
    assert [node.events.data(e.event) for e in node.events.list(key="a.b")] == [1, 3]
    assert node.events.list(emitter=Identity.generate().id) == []
    with pytest.raises(BadInputError, match="^limit"):
        node.events.list(limit=0)
