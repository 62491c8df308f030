"""Emitted events: protobuf messages <-> :mod:`catenary.model.emitted`, for the servicer and
the client alike (as :mod:`catenary.api.convert` does for the other records)."""

from __future__ import annotations

from catenary.api import convert
from catenary.cid import CID
from catenary.model.emitted import EmittedEvent, SignedEvent
from catenary.proto.api import event_pb2


def event_to_pb(signed: SignedEvent, value: bytes = b"") -> event_pb2.EmittedEvent:
    e = signed.event
    # Field by field, shaped like convert.py's builders: each message has its own fields.
    return event_pb2.EmittedEvent(
        id=e.id.cid_bytes,
        emitter=e.emitter,
        key=e.key,
        data=e.data.cid_bytes,
        time=e.time,
        nonce=e.nonce,
        signature=signed.signature,
        position=signed.position,
        received_at=signed.received_at,
        value=value,
        source=e.source.cid_bytes if e.source is not None else b"",
    )


def event_from_pb(msg: event_pb2.EmittedEvent) -> SignedEvent:
    source = convert.cid(msg.source, "source") if msg.source else None
    event = EmittedEvent(msg.emitter, msg.key, convert.cid(msg.data, "data"), msg.time, msg.nonce, source)
    if event.id != convert.cid(msg.id, "id"):
        # the record was altered on the way; the id is what the caller asked for
        from catenary.errors import VerificationError

        raise VerificationError(f"event {CID.from_bytes(msg.id)}: the record received has id {event.id}")
    return SignedEvent(event, msg.signature, msg.position, msg.received_at)


def emit_request(signed: SignedEvent, value: bytes) -> event_pb2.EmitRequest:
    e = signed.event
    return event_pb2.EmitRequest(
        emitter=e.emitter, key=e.key, value=value, time=e.time, nonce=e.nonce, signature=signed.signature
    )
