"""Failover for clients (issue 15 item 5): one client, several node addresses.

``FailoverChannel`` holds a channel per address and sends each call to the current one. When
a call fails with UNAVAILABLE (the node is down or unreachable) and its method is safe to
repeat, it moves to the next address and sends the call again, trying each address once per
call. A method is safe to repeat when a second delivery changes nothing the first did not:
reads, and writes idempotent by content address (``REPEATABLE``). Any other call's
UNAVAILABLE is raised as it came (the call may have been applied), though the next call goes
to the next address.

``resume`` keeps a watch (``Updates`` of executions or events) going across a node's death or
restart: it opens the stream again, on the same or another address, from the last position it
yielded, so every change arrives once, in order (the servers' own no-gap, no-repeat guarantee,
which holds across nodes of one database because positions are the database's).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import grpc

from catenary.errors import BadInputError

T = TypeVar("T")

_API = "/catenary.api.v1."
REPEATABLE = frozenset(
    [
        *(
            _API + m
            for m in (
                # reads
                "Execution/Get",
                "Execution/List",
                "Execution/Updates",
                "Execution/Trace",
                "Execution/Attestations",
                "Workflow/Get",
                "Workflow/List",
                "Operation/Get",
                "Operation/List",
                "Run/Get",
                "Run/List",
                "Value/Get",
                "Event/Get",
                "Event/List",
                "Event/Updates",
                "Statement/Get",
                "Statement/List",
                "Trigger/Get",
                "Trigger/List",
                "Trigger/History",
                "Schedule/Get",
                "Schedule/List",
                # writes idempotent by content address: a second one stores nothing new
                "Workflow/Create",
                "Value/Put",
                "Event/Emit",
            )
        ),
        "/grpc.health.v1.Health/Check",
    ]
)

# A node that restarts on its address is tried again within a second, not after gRPC's
# default reconnect backoff (up to two minutes).
RECONNECT_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]
RESUME_WINDOW = 60.0  # seconds a watch keeps trying to reconnect before it gives up


def parse_addresses(address: str | Sequence[str]) -> tuple[str, ...]:
    """``"a:1,b:2"`` or ``["a:1", "b:2"]``: the addresses in order, blanks dropped."""
    parts = address.split(",") if isinstance(address, str) else [p for a in address for p in a.split(",")]
    found = tuple(p.strip() for p in parts if p.strip())
    if not found:
        raise BadInputError("--node: no node address given (HOST:PORT, several separated by commas)")
    return found


def unavailable(exc: BaseException) -> bool:
    return isinstance(exc, grpc.RpcError) and exc.code() == grpc.StatusCode.UNAVAILABLE


class FailoverChannel(grpc.Channel):
    """Channels to several addresses of nodes on one database, used one at a time."""

    def __init__(self, addresses: Sequence[str], channels: Sequence[grpc.Channel]) -> None:
        self.addresses = tuple(addresses)
        self._channels = list(channels)
        self._current = 0
        self._lock = threading.Lock()

    @property
    def current(self) -> int:
        return self._current

    def failed(self, index: int) -> None:
        """The channel at ``index`` answered UNAVAILABLE: use the next one (once per failure,
        however many calls saw it)."""
        with self._lock:
            if self._current == index:
                self._current = (index + 1) % len(self._channels)

    def unary_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        calls = [c.unary_unary(method, *args, **kwargs) for c in self._channels]
        return _Unary(self, calls, method in REPEATABLE)

    def unary_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        calls = [c.unary_stream(method, *args, **kwargs) for c in self._channels]
        return _Stream(self, calls, method in REPEATABLE)

    def stream_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._channels[self._current].stream_unary(method, *args, **kwargs)

    def stream_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._channels[self._current].stream_stream(method, *args, **kwargs)

    def subscribe(self, callback: Any, try_to_connect: bool = False) -> None:
        self._channels[self._current].subscribe(callback, try_to_connect)

    def unsubscribe(self, callback: Any) -> None:
        self._channels[self._current].unsubscribe(callback)

    def close(self) -> None:
        for channel in self._channels:
            channel.close()

    def __enter__(self) -> FailoverChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Unary:
    def __init__(self, channel: FailoverChannel, calls: list[Any], repeatable: bool) -> None:
        self._channel = channel
        self._calls = calls
        self._repeatable = repeatable

    def _try(self, send: Callable[[Any], T]) -> T:
        for attempt in range(len(self._calls)):
            index = self._channel.current
            try:
                return send(self._calls[index])
            except grpc.RpcError as exc:
                if not unavailable(exc):
                    raise
                self._channel.failed(index)
                if not self._repeatable or attempt == len(self._calls) - 1:
                    raise
        raise AssertionError("unreachable")

    def __call__(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return self._try(lambda call: call(request, *args, **kwargs))

    def with_call(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return self._try(lambda call: call.with_call(request, *args, **kwargs))

    def future(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return self._calls[self._channel.current].future(request, *args, **kwargs)


class _Stream:
    """A server-streaming method: the call goes to the current address; one that fails with
    UNAVAILABLE moves the channel on (``resume`` opens it again where it stopped)."""

    def __init__(self, channel: FailoverChannel, calls: list[Any], repeatable: bool) -> None:
        self._channel = channel
        self._calls = calls
        self._repeatable = repeatable

    def __call__(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        index = self._channel.current
        return _StreamCall(self._channel, index, self._calls[index](request, *args, **kwargs))


class _StreamCall:
    """A stream's call that reports its address's failure to the channel."""

    def __init__(self, channel: FailoverChannel, index: int, call: Any) -> None:
        self._channel = channel
        self._index = index
        self._call = call

    def __iter__(self) -> _StreamCall:
        return self

    def __next__(self) -> Any:
        try:
            return next(self._call)
        except grpc.RpcError as exc:
            if unavailable(exc):
                self._channel.failed(self._index)
            raise

    def initial_metadata(self) -> Any:
        """The server's initial metadata; a call that ended without any (its node is down)
        raises its error here, reporting the address's failure."""
        metadata = self._call.initial_metadata()
        if not metadata and self._call.done():
            if self._call.code() == grpc.StatusCode.UNAVAILABLE:
                self._channel.failed(self._index)
            if self._call.code() != grpc.StatusCode.OK:
                raise self._call
        return metadata

    def __getattr__(self, name: str) -> Any:  # cancel, code, details, trailing_metadata, ...
        return getattr(self._call, name)


def position_now(open_stream: Callable[[], Any], since_key: str, addresses: int) -> int:
    """Where a fresh subscription starts (the node's latest position), from the initial
    metadata of a stream opened and cancelled at once; each address is tried once."""
    for attempt in range(addresses):
        call = open_stream()
        try:
            return int(dict(call.initial_metadata())[since_key])
        except grpc.RpcError as exc:
            if not unavailable(exc) or attempt == addresses - 1:
                raise
        finally:
            call.cancel()
    raise AssertionError("unreachable")


def resume(
    open_stream: Callable[[int, bool], Any],
    position_of: Callable[[Any], int],
    since_key: str,
    after: int,
    from_now: bool,
    stop: threading.Event | None,
    ready: threading.Event | None,
    addresses: int = 1,
    window: float = RESUME_WINDOW,
) -> Iterator[Any]:
    """The messages of ``open_stream(after, from_now)`` (a server-streaming call), from the
    first of ``addresses`` that answers. Once subscribed, a stream that fails with
    UNAVAILABLE (its node died or is unreachable) is opened again from the last position
    yielded (``position_of``), until ``window`` seconds pass with no node answering; one its
    node ends cleanly (a graceful stop) ends here too, as before failover.
    ``since_key`` is the initial metadata saying where a fresh subscription started (a
    ``from_now`` one resumes from there)."""
    deadline = time.monotonic() + window
    delay, connected, refused = 0.05, False, 0
    current: list[Any] = []  # the open call, for the thread that cancels it on ``stop``
    if stop is not None:
        threading.Thread(
            target=lambda: (stop.wait(), [c.cancel() for c in current[-1:]]), daemon=True
        ).start()
    while True:
        call = open_stream(after, from_now)
        current.append(call)
        if stop is not None and stop.is_set():
            call.cancel()
        try:
            metadata = dict(call.initial_metadata() or ())  # blocks until the server has subscribed
            if since_key in metadata:
                if from_now:  # the server's position now: a reopened stream goes on from it
                    after, from_now = max(after, int(metadata[since_key])), False
                deadline, delay, connected = time.monotonic() + window, 0.05, True
                if ready is not None:
                    ready.set()
            for message in call:
                after = max(after, position_of(message))
                yield message
            return  # the node ended the stream on purpose (a graceful stop): so does the watch
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.CANCELLED or (stop is not None and stop.is_set()):
                return
            if not unavailable(exc):
                raise
            if not connected:  # no node has answered yet: each address once, then the error
                refused += 1
                if refused >= addresses:
                    raise
                continue
            if time.monotonic() > deadline:
                raise
        finally:
            call.cancel()
            current.clear()
        if stop is not None and stop.wait(delay):
            return
        if stop is None:
            time.sleep(delay)
        delay = min(delay * 2, 1.0)
