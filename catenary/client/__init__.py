"""A Python client for a remote node, with the same shape as :class:`catenary.sdk.Node`
(both are :class:`~catenary.model.node.NodeLike`). Importing it loads no server code."""

from catenary.client.auth import ClientTLS
from catenary.client.client import Client
from catenary.model.node import NodeLike

__all__ = ["Client", "ClientTLS", "NodeLike"]
