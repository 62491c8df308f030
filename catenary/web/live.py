"""Live updates: executions (and emitted events) as Server-Sent Events, fed by the sdk's
``executions.updates`` (``events.updates``).

Each event is ``id: <seq>``, ``event: execution`` and the execution document as
``data``. A browser's EventSource sends the last id back as ``Last-Event-ID``
when it reconnects, and the stream resumes after that seq: no change is lost or
repeated across a reconnect (the sdk's stored-then-live hand-over has no gap).
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from catenary.errors import BadInputError
from catenary.model import Execution
from catenary.model.emitted import SignedEvent
from catenary.sdk import documents as render
from catenary.web.context import Explorer, explorer
from catenary.web.query import FILTER_PARAMS, check_known, int_param, parse_filter

KEEPALIVE_SECONDS = 15.0  # a comment line this often keeps proxies from closing an idle stream
QUEUE_SIZE = 256  # executions buffered per stream; the reader thread waits when it is full
RETRY_MS = 2000
TICK_SECONDS = 0.5  # how soon a stream notices that the server is closing
T = TypeVar("T")


def _since(request: Request, param: str = "since_seq", unit: str = "seq") -> int | None:
    """Where to start: ``Last-Event-ID`` (a reconnect) wins over ``param``; None = now."""
    last = request.headers.get("last-event-id")
    if last is not None and last.strip() != "":
        text = last.strip()
        if not text.isdigit():
            raise BadInputError(f"Last-Event-ID: {last!r} is not a {unit} (a non-negative integer)")
        return int(text)
    return int_param(request.query_params, param, 0)


def _too_many() -> Response:
    return JSONResponse(
        {"error": "too many open update streams; try again later", "status": 503},
        status_code=503,
        headers={"Retry-After": "5"},
    )


def _stream(body: AsyncIterator[str]) -> Response:
    return StreamingResponse(
        body, media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


def _execution_frame(item: Execution) -> str:
    document = json.dumps(render.execution_json(item), ensure_ascii=False)
    return f"id: {item.seq}\nevent: execution\ndata: {document}\n\n"


def _emitted_frame(item: SignedEvent) -> str:
    document = json.dumps(render.emitted_event_json(item), ensure_ascii=False)
    return f"id: {item.position}\nevent: emitted\ndata: {document}\n\n"


async def execution_updates(request: Request) -> Response:
    """``GET /api/executions/updates?<filter>&since_seq=N``: stored matches after N, then live."""
    state = explorer(request)
    check_known(request.query_params, FILTER_PARAMS + ("since_seq",))
    flt = parse_filter(request.query_params)
    since = _since(request)
    if since is None:
        since = await run_in_threadpool(state.node.executions.latest_seq)
    stop = state.open_stream()
    if stop is None:
        return _too_many()
    updates = state.node.executions.updates
    return _stream(_events(state, lambda: updates(flt, since, stop=stop), _execution_frame, since, stop))


async def emitted_updates(request: Request) -> Response:
    """``GET /api/events/updates?after=N``: emitted events stored after position N, then live
    (``id`` is the position, ``event: emitted``); ``Last-Event-ID`` resumes, as for executions."""
    state = explorer(request)
    check_known(request.query_params, ("after",))
    after = _since(request, "after", "position")
    if after is None:
        after = await run_in_threadpool(state.node.events.latest_position)
    stop = state.open_stream()
    if stop is None:
        return _too_many()
    updates = state.node.events.updates
    return _stream(_events(state, lambda: updates(after=after, stop=stop), _emitted_frame, after, stop))


async def _events(
    state: Explorer,
    produce: Callable[[], Iterable[T]],
    frame: Callable[[T], str],
    since: int,
    stop: threading.Event,
) -> AsyncIterator[str]:
    """The stream: ``produce()`` (read in a thread) framed by ``frame``, with keepalives."""
    loop = asyncio.get_running_loop()
    # A thread-safe queue filled by the reader thread; ``wake`` tells the event loop there is
    # something. The thread never touches asyncio objects, so it may outlive the loop safely.
    items: queue.Queue[T | Exception | None] = queue.Queue(QUEUE_SIZE)
    wake = asyncio.Event()

    def put(item: T | Exception | None) -> None:
        # Waits while the queue is full (a slow client), but gives up once the stream ends.
        while not stop.is_set():
            try:
                items.put(item, timeout=TICK_SECONDS)
            except queue.Full:
                continue
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # the loop is closed: the server has stopped
                stop.set()
            return

    def pump() -> None:
        try:
            for item in produce():
                put(item)
        except Exception as exc:  # reported to the client as a failure event; the stream ends
            put(exc)
        finally:
            put(None)

    threading.Thread(target=pump, name="catenary-sse", daemon=True).start()
    try:
        # Sent at once: the client knows it is subscribed before anything happens.
        yield f"retry: {RETRY_MS}\n: subscribed after {since}\n\n"
        idle = 0.0
        while not stop.is_set() or not items.empty():
            try:
                item = items.get_nowait()
            except queue.Empty:
                wake.clear()
                if not items.empty():
                    continue
                try:
                    await asyncio.wait_for(wake.wait(), TICK_SECONDS)
                except TimeoutError:
                    idle += TICK_SECONDS
                    if idle >= KEEPALIVE_SECONDS:
                        idle = 0.0
                        yield ": keepalive\n\n"
                continue
            idle = 0.0
            if item is None:
                return
            if isinstance(item, Exception):
                yield f"event: failure\ndata: {json.dumps({'error': str(item)})}\n\n"
                return
            yield frame(item)
    finally:
        state.close_stream(stop)
