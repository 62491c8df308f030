"""The explorer app: pages, the JSON gateway, live updates and static files over one node.

>>> app = create_app(Node("/tmp/data"))     # doctest: +SKIP
>>> uvicorn.run(app)                          # doctest: +SKIP

Errors map to HTTP statuses in one place (:func:`_status_of`): an unknown id,
hash or CID is 404, any other bad input (a malformed CID, filter, token or
parameter) is 400 with the reason. Under ``/api`` the body is
``{"error": reason, "status": code}``; elsewhere it is an HTML page.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from catenary.cid.display import short
from catenary.errors import (
    AuthenticationError,
    BadInputError,
    CatenaryError,
    NotFoundError,
    PermissionDeniedError,
    RunStateError,
    StatusTransitionError,
    ValueTooLargeError,
)
from catenary.sdk import Node
from catenary.web import api, events, gateway, pages
from catenary.web.context import Explorer
from catenary.web.preview import DEFAULT_PREVIEW_LIMIT, JSON_DEPTH
from catenary.web.security import LOOPBACK_NAMES, SecurityHeaders, bare_host
from catenary.web.webhook import routes as webhook_routes

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
VENDOR = STATIC / "vendor"
GRAPH_SCRIPTS = ("cytoscape.min.js", "cytoscape-dagre.min.js")
log = logging.getLogger("catenary.web")


def ns_time(ns: int | None) -> str:
    """Unix ns as UTC ``YYYY-MM-DD HH:MM:SS.mmm``."""
    if ns is None:
        return "-"
    moment = _dt.datetime.fromtimestamp(ns / 1e9, _dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def ms(value: float | None) -> str:
    """Milliseconds, readable."""
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.2f} ms"


def duration(start: int | None, end: int | None) -> str:
    """A duration between two unix ns times (computed, never stored: SPEC §4)."""
    if start is None or end is None:
        return "-"
    return ms((end - start) / 1e6)


def as_text_json(value: Any, indent: int | None = None) -> str:
    """JSON to show as text (autoescaping makes it safe there): ``tojson`` is for script
    blocks, and its ``\u003c`` escapes would show a ``<`` in a name or config as six
    characters."""
    return json.dumps(value, indent=indent, ensure_ascii=False)


def _templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(ns_time=ns_time, ms=ms, short=short, json=as_text_json)
    env.globals.update(duration=duration, graph_available=graph_available, preview_depth=JSON_DEPTH)
    return Jinja2Templates(env=env)


def graph_available() -> bool:
    """The vendored graph library is there (``make vendor`` copies it from npm)."""
    return all((VENDOR / name).is_file() for name in GRAPH_SCRIPTS)


def _status_of(exc: Exception) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ValueTooLargeError):
        return 413
    if isinstance(exc, AuthenticationError):
        return 401
    if isinstance(exc, PermissionDeniedError):
        return 403
    if isinstance(exc, BadInputError):
        return 400
    if isinstance(exc, (RunStateError, StatusTransitionError)):
        return 409
    if isinstance(exc, HTTPException):
        return exc.status_code
    return 500


TITLES = {
    400: "Bad request",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Cannot be shown",
    500: "Internal error",
    501: "Not available",
    503: "Unavailable",
}


def error_response(request: Request, status: int, message: str) -> Response:
    """The one error shape: JSON under /api, an HTML page elsewhere."""
    if request.url.path.startswith(("/api/", "/hooks/", "/ipfs/")):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    explorer: Explorer = request.app.state.explorer
    return explorer.render(
        request,
        "error.html",
        status_code=status,
        status=status,
        title=TITLES.get(status, "Error"),
        message=message,
    )


async def _on_catenary_error(request: Request, exc: Exception) -> Response:
    return error_response(request, _status_of(exc), str(exc))


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail
    if exc.status_code == 404:
        message = f"there is no page at {request.url.path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    return error_response(request, exc.status_code, str(message))


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s", request.url.path)
    return error_response(request, 500, f"internal error: {type(exc).__name__}; see the server log")


# The explorer reads; every route answers GET (and HEAD) only, except those named here with
# the methods they take. This is the one place a state-changing endpoint is declared:
# tests/web/test_read_only.py fails on a route that takes another method and is not listed.
STATE_CHANGING: dict[str, frozenset[str]] = {
    # re-executes, then signs a validator attestation or records a dispute (docs/web.md, Verify)
    "/executions/{hash}/verify": frozenset({"POST"})
}


def create_app(
    node: Node,
    *,
    preview_limit: int = DEFAULT_PREVIEW_LIMIT,
    max_streams: int = 64,
    hosts: Iterable[str] = LOOPBACK_NAMES,
    webhook: bool = False,
) -> Starlette:
    """The explorer over ``node``: HTML pages, ``/api`` (JSON) and ``/static``, answering
    only requests whose ``Host`` is one of ``hosts``, every response with a strict
    Content-Security-Policy (catenary.web.security).

    The app reads through the node's sdk managers, which are safe to share
    with a gRPC server over the same node. Call ``app.state.explorer.close()``
    before shutting the server down, to end open live streams. ``webhook``: also take
    events over ``POST /hooks/events/{key}`` (catenary.web.webhook).
    """
    routes = [
        *(webhook_routes(node) if webhook else []),
        *gateway.routes(node),  # /ipfs/{cid} and the bundles peers sync from (docs/network.md)
        *api.routes(),
        *events.routes(),
        *pages.routes(),
        # The bundle verifier is one static page, the same file a user may open from disk.
        Route("/verify", lambda request: RedirectResponse("/static/verify.html")),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            CatenaryError: _on_catenary_error,
            HTTPException: _on_http_error,
            Exception: _on_unexpected,
        },
        middleware=[Middleware(SecurityHeaders, hosts=frozenset(bare_host(h) for h in hosts))],
    )
    app.state.explorer = Explorer(node, _templates(), preview_limit, max_streams)
    return app
