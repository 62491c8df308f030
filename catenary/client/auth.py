"""The client's half of trust: TLS channel credentials and a fresh call token on every call.

Tokens go in ``authorization: Bearer`` metadata through a client interceptor rather than
``grpc.metadata_call_credentials``: gRPC sends call credentials only over TLS, and a
node on loopback may be served in plain text. A token names the node it is for (its
did:key, learnt once from the health check's ``catenary-node-id`` metadata unless given)
and the method it is for, and it is made anew for each call: tokens cannot be replayed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from catenary.errors import AuthenticationError, BadInputError, CatenaryError

if TYPE_CHECKING:  # loaded only by a client that signs (``import catenary.client`` stays light)
    from catenary.trust.identity import Identity

NODE_ID_KEY = "catenary-node-id"  # the same key as catenary.api.auth.NODE_ID_KEY


@dataclass(frozen=True)
class ClientTLS:
    """PEM files: ``ca`` checks the node's certificate; ``cert`` + ``key`` are the client's own
    certificate for mutual TLS."""

    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None

    def credentials(self) -> grpc.ChannelCredentials:
        if (self.cert is None) != (self.key is None):
            raise BadInputError(
                "a client certificate needs both its file and its key (--client-cert and --client-key)"
            )
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.ca, "--tls-ca"),
            private_key=_read(self.key, "--client-key"),
            certificate_chain=_read(self.cert, "--client-cert"),
        )


def _read(path: Path | None, option: str) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise BadInputError(f"{option}: cannot read {path}: {exc.strerror}") from None


class _Details(NamedTuple):
    method: str
    timeout: float | None
    metadata: Any
    credentials: Any
    wait_for_ready: Any
    compression: Any


class CallTokens(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds a token signed by ``identity`` for the node ``audience()`` to every call."""

    def __init__(self, identity: Identity, audience: Callable[[], str]) -> None:
        from catenary.trust.token import Issuer

        self.issuer = Issuer(identity)
        self.audience = audience

    def _details(self, details: Any) -> _Details:
        token = self.issuer.issue(self.audience(), details.method)
        metadata = [*(details.metadata or ()), ("authorization", f"Bearer {token}")]
        return _Details(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)


class NodeId:
    """The node's did:key, asked once of its health service (which needs no token)."""

    def __init__(self, channel: grpc.Channel, known: str | None = None) -> None:
        self._channel = channel
        self._id = known
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if self._id is None:
                try:
                    # The stubs package leaves out HealthStub's methods (set in its __init__).
                    _, call = health_pb2_grpc.HealthStub(self._channel).Check.with_call(  # type: ignore[attr-defined]
                        health_pb2.HealthCheckRequest(), timeout=30
                    )
                except grpc.RpcError as exc:
                    raise CatenaryError(f"node unavailable: {exc.details()}") from None
                found = dict(call.initial_metadata() or ()).get(NODE_ID_KEY)
                if not found:
                    raise AuthenticationError(
                        "the node did not say its id (catenary-node-id) "
                        "in its health check; pass the node's did:key as "
                        "the audience"
                    )
                self._id = str(found)
            return self._id


def open_channel(
    address: str,
    options: list[tuple[str, Any]],
    key: Identity | None = None,
    tls: ClientTLS | None = None,
    audience: str | None = None,
) -> grpc.Channel:
    """A channel to ``address``: over TLS when ``tls`` is given, with call tokens when ``key`` is."""
    if tls is not None:
        channel = grpc.secure_channel(address, tls.credentials(), options=options)
    else:
        channel = grpc.insecure_channel(address, options=options)
    if key is None:
        return channel
    return grpc.intercept_channel(channel, CallTokens(key, NodeId(channel, audience)))
