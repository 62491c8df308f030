"""The ``Event`` gRPC service: thin, each call goes to ``node.events``.

Signing stays with the emitter: a client sends the record's fields, the value and its
signature (its key never travels); the node checks the signature and that the
authenticated caller (catenary.api.auth.CALLER) is the emitter, stores, then answers."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from catenary.api import convert
from catenary.api.auth import CALLER
from catenary.api.errors import stream, unary
from catenary.api.event_convert import event_to_pb
from catenary.api.streams import Subscriptions
from catenary.cid import block, decode
from catenary.errors import BadInputError
from catenary.model.emitted import EmittedEvent, SignedEvent
from catenary.proto.api import event_pb2, event_pb2_grpc
from catenary.sdk import Node


class EventServicer(event_pb2_grpc.EventServicer):
    def __init__(self, node: Node, subscriptions: Subscriptions | None = None) -> None:
        self.node = node
        self.subscriptions = subscriptions or Subscriptions()

    @unary
    def Emit(self, request: event_pb2.EmitRequest, context: grpc.ServicerContext) -> event_pb2.EmittedEvent:
        if not request.value:
            raise BadInputError("value: the event's data (DAG-CBOR) is required")
        data = decode(request.value)
        event = EmittedEvent(request.emitter, request.key, block(data)[0], request.time, request.nonce)
        stored = self.node.events.submit(SignedEvent(event, request.signature), data, caller=CALLER.get())
        return event_to_pb(stored, request.value)

    @unary
    def Get(
        self, request: event_pb2.GetEventRequest, context: grpc.ServicerContext
    ) -> event_pb2.EmittedEvent:
        stored = self.node.events.get(convert.cid(request.id, "id"))
        return event_to_pb(stored, self.node.values.get_bytes(stored.event.data))

    @unary
    def List(
        self, request: event_pb2.ListEventsRequest, context: grpc.ServicerContext
    ) -> event_pb2.ListEventsResponse:
        rows = self.node.events.list(
            key=request.key or None,
            emitter=request.emitter or None,
            after=request.after,
            limit=request.limit or 100,
        )
        return event_pb2.ListEventsResponse(events=[event_to_pb(r) for r in rows])

    @stream
    def Updates(
        self, request: event_pb2.EventUpdatesRequest, context: grpc.ServicerContext
    ) -> Iterator[event_pb2.EmittedEvent]:
        after = self.node.events.latest_position() if request.from_now else request.after
        with self.subscriptions.open(context) as stop:
            if stop is None:
                return
            # Subscribed before the first event is sent: a client can subscribe, then emit.
            context.send_initial_metadata((("catenary-since-position", str(after)),))
            for signed in self.node.events.updates(
                request.key or None, request.emitter or None, after, stop=stop
            ):
                yield event_to_pb(signed)
