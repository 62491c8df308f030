"""The gRPC API: thin servicers over the sdk, and the server that hosts them.

``Server`` is imported on first use (PEP 562): the client imports ``catenary.api.convert``
and must not load the server, the sdk and the store with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from catenary.api.server import Server

__all__ = ["Server"]


def __getattr__(name: str) -> Any:
    if name == "Server":
        from catenary.api.server import Server

        return Server
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
