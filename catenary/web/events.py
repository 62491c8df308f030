"""The explorer's emitted events (docs/events.md): ``/events`` (newest first, a page at a
time, live) and ``/events/{id}`` (the event, its emitter, its data previewed, the runs its
triggers started), with their JSON at ``/api/events`` and ``/api/events/{id}``; the live
stream is ``/api/events/updates`` (catenary.web.live)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from catenary.model.emitted import Firing, SignedEvent
from catenary.sdk import documents as render
from catenary.sdk.event import MAX_LIST
from catenary.web import live
from catenary.web.context import explorer
from catenary.web.preview import preview
from catenary.web.query import check_known, cid_param, int_param

PAGE_SIZE = 50
FIRINGS = 1000  # shown per event; an event fires each trigger on its key at most once


def _page(request: Request) -> tuple[list[SignedEvent], int | None, int]:
    """One page, newest first, below position ``before``; the ``before`` of the next page."""
    params = request.query_params
    check_known(params, ("before", "page_size"))
    before = int_param(params, "before", 1)
    size = int_param(params, "page_size", 1, MAX_LIST - 1) or PAGE_SIZE
    found = explorer(request).node.events.newest(before, size + 1)
    more = len(found) > size
    events = found[:size]
    return events, (events[-1].position if more else None), size


def _detail(request: Request) -> tuple[SignedEvent, list[Firing]]:
    check_known(request.query_params, ())
    node = explorer(request).node
    signed = node.events.get(cid_param(request.path_params["id"], "id"))
    return signed, node.triggers.history(event=signed.id, limit=FIRINGS)


def list_events(request: Request) -> JSONResponse:
    """Emitted events newest first; ``next_before`` (null on the last page) gives the next."""
    events, next_before, _ = _page(request)
    return JSONResponse(
        {"events": [render.emitted_event_json(e) for e in events], "next_before": next_before}
    )


def get_event(request: Request) -> JSONResponse:
    """``event get --json`` with its data (``value``) and its firings (the runs it started)."""
    signed, firings = _detail(request)
    data = explorer(request).node.events.data(signed.event)
    document: dict[str, Any] = render.emitted_event_json(signed, data, with_data=True)
    document["firings"] = [render.firing_json(f) for f in firings]
    return JSONResponse(document)


def events_page(request: Request) -> Response:
    """``/events``: the event log, newest first, live on the first page."""
    state = explorer(request)
    latest = state.node.events.latest_position()  # before the rows: later ones arrive live
    events, next_before, size = _page(request)
    return state.render(
        request,
        "events.html",
        events=events,
        next_before=next_before,
        page_size=size,
        first_page="before" not in request.query_params,
        after=latest,
        node_id=state.node.id,
    )


def event_page(request: Request) -> Response:
    """``/events/{id}``: one event, its data and the runs it started."""
    state = explorer(request)
    signed, firings = _detail(request)
    block = state.node.values.get_bytes(signed.event.data)
    return state.render(
        request,
        "event.html",
        signed=signed,
        event=signed.event,
        document=render.emitted_event_json(signed),
        data=preview(signed.event.data, block, state.preview_limit),
        firings=firings,
        node_id=state.node.id,
    )


def routes() -> list[Route]:
    """``updates`` comes before ``{id}``."""
    return [
        Route("/api/events", list_events),
        Route("/api/events/updates", live.emitted_updates),
        Route("/api/events/{id}", get_event),
        Route("/events", events_page),
        Route("/events/{id}", event_page),
    ]
