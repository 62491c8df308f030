"""``client.events``: emit, get and list emitted events on a remote node, as ``node.events``.

The client's key (``Client(key=...)``) is the emitter: the event is signed here and only the
signature travels."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import grpc

from catenary.api.errors import from_rpc_error
from catenary.api.event_convert import emit_request, event_from_pb
from catenary.cid import CID, block, decode
from catenary.client.failover import position_now, resume
from catenary.errors import BadInputError
from catenary.events import new_event, sign
from catenary.model.emitted import EmittedEvent, SignedEvent
from catenary.proto.api import event_pb2, event_pb2_grpc

if TYPE_CHECKING:
    from catenary.trust.identity import Identity


class EventClient:
    def __init__(self, channel: grpc.Channel, key: Identity | None, rpc: Any, addresses: int = 1) -> None:
        self._stub = event_pb2_grpc.EventStub(channel)
        self._addresses = addresses  # how many to try for latest_position
        self._key = key
        self._rpc = rpc  # the client's error translation (catenary.client.client._rpc)
        self._values: dict[CID, Any] = {}

    def emit(self, key: str, data: Any, identity: Identity | None = None) -> SignedEvent:
        signer = identity or self._key
        if signer is None:
            raise BadInputError(
                "emitting over gRPC needs the emitter's key: pass --key FILE (Client(key=...))"
            )
        cid, value = block(data)
        signed = sign(signer, new_event(signer.id, key, cid))
        stored: SignedEvent = self._rpc(lambda: event_from_pb(self._stub.Emit(emit_request(signed, value))))()
        return stored

    def get(self, event_id: CID) -> SignedEvent:
        msg = self._rpc(lambda: self._stub.Get(event_pb2.GetEventRequest(id=event_id.cid_bytes)))()
        if msg.value:
            self._values[event_id] = decode(msg.value)
        return event_from_pb(msg)

    def data(self, event: EmittedEvent) -> Any:
        if event.id not in self._values:
            self.get(event.id)
        return self._values.pop(event.id)

    def list(
        self, key: str | None = None, emitter: str | None = None, after: int = 0, limit: int = 100
    ) -> list[SignedEvent]:
        request = event_pb2.ListEventsRequest(key=key or "", emitter=emitter or "", after=after, limit=limit)
        response = self._rpc(lambda: self._stub.List(request))()
        return [event_from_pb(m) for m in response.events]

    def updates(
        self,
        key: str | None = None,
        emitter: str | None = None,
        after: int = 0,
        stop: threading.Event | None = None,
        from_now: bool = False,
        ready: threading.Event | None = None,
    ) -> Iterator[SignedEvent]:
        """Stored events after position ``after``, then live ones; ``ready`` is set once
        subscribed (as ``client.executions.updates``, which resumes the same way after a node
        dies or restarts)."""
        stream = resume(
            lambda position, now: self._stub.Updates(
                event_pb2.EventUpdatesRequest(
                    key=key or "", emitter=emitter or "", after=position, from_now=now
                )
            ),
            lambda message: int(message.position),
            "catenary-since-position",
            after,
            from_now,
            stop,
            ready,
            self._addresses,
        )
        try:
            for message in stream:
                yield event_from_pb(message)
        except grpc.RpcError as exc:
            error = from_rpc_error(exc)
            raise error from (None if error is exc else exc)

    def latest_position(self) -> int:
        """The position of the node's latest event (``updates`` from there sees only new ones)."""

        def ask() -> int:
            return position_now(
                lambda: self._stub.Updates(event_pb2.EventUpdatesRequest(from_now=True)),
                "catenary-since-position",
                self._addresses,
            )

        position: int = self._rpc(ask)()
        return position
