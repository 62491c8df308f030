"""The gRPC API: thin servicers over the sdk, and the server that hosts them."""

from catenary.api.server import Server

__all__ = ["Server"]
