"""The open ``Updates`` streams of a server, Execution's and Event's alike: each holds a worker
thread, so one cap covers them all, and a graceful stop ends them all. And the envelopes that
carry several executions per message, for a client that asks for them."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import grpc

from catenary.errors import LimitExceededError
from catenary.proto.definition import execution_pb2

# What one envelope may carry at most, whatever the client asks: gRPC refuses messages over
# 4 MiB by default, and an execution with a large config could make 1,000 of them that big.
MAX_BATCH = 1000
MAX_BATCH_BYTES = 1 << 20


class Subscriptions:
    def __init__(self, max_subscribers: int = 1000) -> None:
        self.max_subscribers = max_subscribers
        self._streams: set[threading.Event] = set()
        self._lock = threading.Lock()
        self._closing = False

    @contextmanager
    def open(self, context: grpc.ServicerContext) -> Iterator[threading.Event | None]:
        """A stop event for one new stream (set when the client goes away or the server stops),
        None when the server is stopping; LimitExceededError over the cap."""
        stop = threading.Event()
        with self._lock:
            if self._closing:
                yield None
                return
            if len(self._streams) >= self.max_subscribers:
                raise LimitExceededError(
                    f"this node already serves {len(self._streams)} Updates "
                    f"subscribers, its cap; retry later or raise --max-subscribers"
                )
            self._streams.add(stop)
        context.add_callback(stop.set)  # the client went away
        try:
            yield stop
        finally:
            with self._lock:
                self._streams.discard(stop)

    def close(self) -> None:
        """End every open stream cleanly (graceful shutdown)."""
        with self._lock:
            self._closing = True
            for stop in self._streams:
                stop.set()


def envelopes(messages: Iterable[execution_pb2.Execution], batch: int) -> Iterator[execution_pb2.Execution]:
    """``messages`` in envelopes (``batch`` holds them, in order) of at most ``batch`` of them
    (and :data:`MAX_BATCH`, about :data:`MAX_BATCH_BYTES`); the last one may be smaller."""
    limit = min(batch, MAX_BATCH)
    carried: list[execution_pb2.Execution] = []
    size = 0
    for message in messages:
        carried.append(message)
        size += message.ByteSize()
        if len(carried) >= limit or size >= MAX_BATCH_BYTES:
            yield execution_pb2.Execution(batch=carried)
            carried, size = [], 0
    if carried:
        yield execution_pb2.Execution(batch=carried)
