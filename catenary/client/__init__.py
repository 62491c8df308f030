"""A Python client for a remote node, with the same shape as :class:`catenary.sdk.Node`."""

from catenary.client.auth import ClientTLS
from catenary.client.client import Client

__all__ = ["Client", "ClientTLS"]
