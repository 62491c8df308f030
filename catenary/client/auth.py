"""The client's half of trust: TLS channel credentials and a proof of the caller's key on every call.

Proofs go in ``authorization`` metadata added by a channel wrapper rather than
``grpc.metadata_call_credentials``: gRPC sends call credentials only over TLS, and a
node on loopback may be served in plain text. By default a client opens a session
(catenary/trust/session.py: one signed grant, then an HMAC per call, each bound to the
method and a counter the node accepts once); ``sessions=False`` signs a token per call
(catenary/trust/token.py), as ``catenary key token`` does for ``buf curl``. Both name the
node they are for (its did:key, learnt once from the health check's ``catenary-node-id``
metadata unless given).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from catenary.errors import AuthenticationError, BadInputError, CatenaryError

if TYPE_CHECKING:  # loaded only by a client that signs (``import catenary.client`` stays light)
    from catenary.trust.identity import Identity
    from catenary.trust.session import ClientSession

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


class Proofs:
    """Proves ``identity`` to the node ``audience()``: by a session (one signed grant, then a
    MAC per call) or, with ``sessions=False``, by a fresh signed token per call."""

    def __init__(self, identity: Identity, audience: Callable[[], str], sessions: bool = True) -> None:
        from catenary.trust.session import Sessions
        from catenary.trust.token import Issuer

        self.audience = audience
        self.sessions = Sessions(identity) if sessions else None
        self.issuer = Issuer(identity)

    def session(self) -> ClientSession | None:
        return None if self.sessions is None else self.sessions.current(self.audience())

    def metadata(
        self, method: str, session: ClientSession | None, grant: bool = False
    ) -> list[tuple[str, str]]:
        """The metadata that authenticates one call of ``method``."""
        if session is not None:
            return session.metadata(method, grant)
        return [("authorization", f"Bearer {self.issuer.issue(self.audience(), method)}")]


def _unknown_session(exc: grpc.RpcError) -> bool:
    from catenary.trust.token import Problem  # loaded already: Proofs made an Issuer

    call = cast("grpc.Call", exc)
    return call.code() == grpc.StatusCode.UNAUTHENTICATED and (call.details() or "").startswith(
        Problem.UNKNOWN_SESSION.value
    )


class _UnaryUnary:
    """A unary method whose calls carry proofs: the grant until the node has taken it, and
    once more after an ``unknown session`` refusal (a restarted node; nothing ran)."""

    def __init__(self, inner: Any, method: str, proofs: Proofs) -> None:
        self._inner = inner
        self._method = method
        self._proofs = proofs

    def __call__(self, request: Any, timeout: Any = None, metadata: Any = None, **options: Any) -> Any:
        return self._call(self._inner, request, timeout, metadata, options)

    def with_call(self, request: Any, timeout: Any = None, metadata: Any = None, **options: Any) -> Any:
        return self._call(self._inner.with_call, request, timeout, metadata, options)

    def _call(self, invoke: Any, request: Any, timeout: Any, metadata: Any, options: dict[str, Any]) -> Any:
        session = self._proofs.session()
        proof = self._proofs.metadata(self._method, session)
        if session is None:
            return invoke(request, timeout, [*(metadata or ()), *proof], **options)
        try:
            result = invoke(request, timeout, [*(metadata or ()), *proof], **options)
        except grpc.RpcError as exc:
            if not _unknown_session(exc):
                if cast("grpc.Call", exc).code() not in _REFUSED:
                    session.acknowledged = True  # the call got past the check: the node has the session
                raise
            proof = self._proofs.metadata(self._method, session, grant=True)
            result = invoke(request, timeout, [*(metadata or ()), *proof], **options)
        session.acknowledged = True
        return result

    def future(self, request: Any, timeout: Any = None, metadata: Any = None, **options: Any) -> Any:
        proof = self._proofs.metadata(self._method, self._proofs.session(), grant=True)
        return self._inner.future(request, timeout, [*(metadata or ()), *proof], **options)


# The node checks the proof before anything else: these codes say it did not get past it.
_REFUSED = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class _UnaryStream:
    """A streaming method: its calls always carry the grant (they are few and long)."""

    def __init__(self, inner: Any, method: str, proofs: Proofs) -> None:
        self._inner = inner
        self._method = method
        self._proofs = proofs

    def __call__(self, request: Any, timeout: Any = None, metadata: Any = None, **options: Any) -> Any:
        proof = self._proofs.metadata(self._method, self._proofs.session(), grant=True)
        return self._inner(request, timeout, [*(metadata or ()), *proof], **options)


class ProvenChannel(grpc.Channel):
    """A channel whose unary and server-streaming calls prove the caller's key.

    A wrapper rather than ``grpc.intercept_channel``: the interceptor machinery turns each
    blocking call into a future, which cost 40 µs a call in docs/benchmarks.md, more than
    the whole session proof.
    """

    def __init__(self, channel: grpc.Channel, proofs: Proofs) -> None:
        self._channel = channel
        self._proofs = proofs

    def unary_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return _UnaryUnary(self._channel.unary_unary(method, *args, **kwargs), method, self._proofs)

    def unary_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return _UnaryStream(self._channel.unary_stream(method, *args, **kwargs), method, self._proofs)

    def stream_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{method}: catenary has no client-streaming methods")

    def stream_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{method}: catenary has no bidirectional methods")

    def subscribe(self, callback: Any, try_to_connect: bool = False) -> None:
        self._channel.subscribe(callback, try_to_connect)

    def unsubscribe(self, callback: Any) -> None:
        self._channel.unsubscribe(callback)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> ProvenChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class NodeId:
    """The node's did:key, asked once of its health service (which needs no token)."""

    def __init__(self, channel: grpc.Channel, known: str | None = None) -> None:
        self._channel = channel
        self._id = known
        self._lock = threading.Lock()

    def __call__(self) -> str:
        if self._id is not None:
            return self._id  # asked before every call: no lock once known
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
    sessions: bool = True,
) -> grpc.Channel:
    """A channel to ``address``: over TLS when ``tls`` is given, with proofs of ``key`` on every
    call when it is given (a session, or a token per call with ``sessions=False``)."""
    if tls is not None:
        channel = grpc.secure_channel(address, tls.credentials(), options=options)
    else:
        channel = grpc.insecure_channel(address, options=options)
    if key is None:
        return channel
    return ProvenChannel(channel, Proofs(key, NodeId(channel, audience), sessions))
