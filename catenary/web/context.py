"""What every handler of the explorer shares: the node, the templates, the open streams."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from catenary.sdk import Node


@dataclass
class Explorer:
    """The state of one explorer app over one node (``app.state.explorer``).

    ``preview_limit``: values whose DAG-CBOR block is larger get a download link
    instead of a preview. ``max_streams``: open live-update streams at once (each
    holds a thread); one more is refused with 503.
    """

    node: Node
    templates: Jinja2Templates
    preview_limit: int
    max_streams: int = 64
    streams: set[threading.Event] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    closing: threading.Event = field(default_factory=threading.Event)

    def open_stream(self) -> threading.Event | None:
        """A stop event for a new live stream, or None when too many are open (or closing)."""
        with self.lock:
            if self.closing.is_set() or len(self.streams) >= self.max_streams:
                return None
            stop = threading.Event()
            self.streams.add(stop)
            return stop

    def close_stream(self, stop: threading.Event) -> None:
        stop.set()
        with self.lock:
            self.streams.discard(stop)

    def close(self) -> None:
        """End every live stream (the server is shutting down)."""
        with self.lock:
            self.closing.set()
            for stop in self.streams:
                stop.set()

    def operation_names(self) -> dict[str, str]:
        """Version id text -> operation name, for labels."""
        return {str(o.version_id): o.manifest.name for o in self.node.operations.list()}

    def render(self, request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        """An HTML page from a template (its security headers: catenary.web.security)."""
        return self.templates.TemplateResponse(request, name, context, status_code=status_code)


def explorer(request: Request) -> Explorer:
    """The explorer state of the app serving ``request``."""
    state: Explorer = request.app.state.explorer
    return state
