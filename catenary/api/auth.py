"""Who is calling, and may they: the one server interceptor that authenticates and authorizes.

Every call to a catenary service proves its caller's did:key in one of three ways:

- ``authorization: Bearer <token>`` metadata: a call token (catenary/trust/token.py) for this
  node and this method, checked and remembered against replay;
- ``authorization: Session <sid>.<counter>.<mac>`` with the session's grant in
  ``catenary-session-grant``: one signature per session, a MAC per call
  (catenary/trust/session.py);
- under mutual TLS, the verified client certificate, whose common name the policy's
  ``[[clients]]`` maps to a key.

Without either the caller is anonymous, which only a policy that grants ``anonymous``
lets through. The policy (catenary/trust/policy.py) then decides; the outcome is
UNAUTHENTICATED with the reason (missing, malformed, bad signature, expired, wrong
audience, wrong method, replayed; for sessions: unknown, expired, bad MAC, replayed
counter) or PERMISSION_DENIED naming the key and the rule.

Health and reflection stay open: load balancers and ``buf curl`` must reach them without
keys, and they reveal nothing stored. The health ``Check`` answers with the node's id in
``catenary-node-id`` initial metadata: clients learn the audience for their tokens there
(a node lying about its id gains nothing: a token for it is refused by every other node).

The caller's did reaches the servicers through :data:`CALLER`, a context variable set
for the duration of the call. grpcio runs each call in one pool thread, and a contextvar
(unlike a thread-local) is also right when code below copies its context into helper
threads; it spares threading a ``caller`` argument through every sdk signature.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

import grpc

from catenary import errors
from catenary.api.errors import ERROR_TYPE_KEY, code_for
from catenary.cid import CID
from catenary.proto.api import (
    event_pb2,
    execution_pb2,
    queue_pb2,
    run_pb2,
    trigger_pb2,
    value_pb2,
    workflow_pb2,
)
from catenary.sdk import Node
from catenary.trust.policy import Decision, Policy
from catenary.trust.session import GRANT_KEY, SessionChecker
from catenary.trust.token import Problem, TokenChecker

CALLER: contextvars.ContextVar[str | None] = contextvars.ContextVar("catenary_caller", default=None)
NODE_ID_KEY = "catenary-node-id"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
_OPEN_PREFIXES = ("/grpc.health.", "/grpc.reflection.")
_MAX_TARGETS = 65536  # cached claim/emit targets, cleared when full


def _method(module: Any, service: str, name: str) -> str:
    return f"/{module.DESCRIPTOR.services_by_name[service].full_name}/{name}"


# The rule each state-changing method answers to; every other catenary method is "read".
RULES: dict[str, str] = {
    _method(workflow_pb2, "Workflow", "Create"): "create_workflow",
    _method(run_pb2, "Run", "New"): "run",
    _method(run_pb2, "Run", "Next"): "run",
    _method(run_pb2, "Run", "Submit"): "run",
    _method(run_pb2, "Run", "Cancel"): "run",  # ends a run: as much a write as stepping it
    _method(value_pb2, "Value", "Put"): "run",  # values are put as the inputs of runs
    _method(execution_pb2, "Execution", "Create"): "emit",
    _method(event_pb2, "Event", "Emit"): "emit",  # scoped by event key (docs/events.md)
    _method(execution_pb2, "Execution", "Update"): "claim",
    _method(queue_pb2, "Queue", "Claim"): "claim",  # scoped: every operation it names
    _method(execution_pb2, "Execution", "Verify"): "verify",
    # triggers and schedules set what the node runs on its own, as a workflow it stores does
    **{
        _method(trigger_pb2, "Trigger", m): "create_workflow"
        for m in ("Create", "Enable", "Disable", "Delete")
    },
    **{_method(trigger_pb2, "Schedule", m): "create_workflow" for m in ("Add", "Remove")},
}


class Authorization(grpc.ServerInterceptor):
    """Authenticates every catenary call and checks it against ``policy``.

    It sits after :class:`~catenary.api.errors.RequestDecoding`, so it sees decoded requests:
    the claim and emit rules depend on what the request names (the execution's operation,
    the run's workflow).
    """

    def __init__(self, node: Node, policy: Policy) -> None:
        self.node = node
        self.policy = policy
        self.tokens = TokenChecker(node.id)
        self.sessions = SessionChecker(node.identity)
        self._wrapped: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
        # What scoped rules are checked against, by kind ("execution", "operation", "workflow")
        # and CID bytes: without it a scoped claim costs two store reads per call.
        self._targets: dict[tuple[str, bytes], tuple[str, str]] = {}

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = continuation(details)
        method = details.method
        if handler is None or handler.request_streaming:
            return handler  # reflection (stream-stream) and unknown methods
        wrapped = self._wrapped.get(method)
        if wrapped is None:
            if method == HEALTH_CHECK:
                wrapped = _with_node_id(handler, self.node.id)
            elif method.startswith(_OPEN_PREFIXES):
                return handler
            else:
                wrapped = self._guarded(method, handler)
            self._wrapped[method] = wrapped
        return wrapped

    def caller(self, method: str, context: grpc.ServicerContext) -> str | None:
        """The did:key that made this call, None if anonymous; AuthenticationError if the proof fails."""
        header = grant = None
        for name, value in context.invocation_metadata() or ():  # the last of each, as dict() would
            if name == "authorization":
                header = value
            elif name == GRANT_KEY:
                grant = value
        if header is not None:
            scheme, _, token = str(header).partition(" ")
            scheme = scheme.lower()
            if scheme == "session" and token.strip():
                return self.sessions.check(token.strip(), None if grant is None else str(grant), method)
            if scheme != "bearer" or not token.strip():
                raise errors.TokenError(
                    Problem.MALFORMED, "authorization metadata must be 'Bearer <token>' or 'Session <proof>'"
                )
            return self.tokens.check(token.strip(), method).issuer
        # The stubs type the values as bytes; grpc gives a list of bytes per property.
        auth = cast("Mapping[str, list[bytes]]", context.auth_context() or {})
        names = auth.get("x509_common_name")
        if names:
            name = names[0].decode("utf-8", "replace")
            key = self.policy.clients.get(name)
            if key is None:
                raise errors.AuthenticationError(
                    f"client certificate CN={name!r} is not mapped to a key: add a [[clients]] "
                    f"entry with common_name = {name!r} to the node's policy.toml"
                )
            return key
        return None

    def authorize(self, method: str, request: Any, context: grpc.ServicerContext) -> str | None:
        """The caller, once allowed to call ``method`` with ``request``; raises otherwise."""
        key = self.caller(method, context)
        rule = RULES.get(method, "read")
        decision = self.policy.decide(rule, key)  # a "*" grant needs no look-up of the target
        if not decision.allowed and isinstance(request, queue_pb2.ClaimRequest):
            decision = self._claim_queue(key, request)
        elif not decision.allowed and rule in ("claim", "emit"):
            decision = self.policy.decide(rule, key, self._target(rule, request))
        if decision.allowed:
            return key
        if key is None:
            raise errors.TokenError(
                Problem.MISSING,
                f"{method} needs the caller's key: send "
                f"'authorization: Bearer <token>' metadata or a "
                f"client certificate",
            )
        raise errors.PermissionDeniedError(
            f"key {key} may not call {method}: no grant in {decision.rule} of the node's policy "
            f"allows it (see `catenary policy show`)"
        )

    def _claim_queue(self, key: str | None, request: queue_pb2.ClaimRequest) -> Decision:
        """A Claim by a caller with scoped claim grants: it must name operations, each granted
        (what it may claim is then only those)."""
        decision = self.policy.decide("claim", key)
        for op in request.operations:
            try:
                target: tuple[str, ...] = self._name(CID(op), "operation")
            except (errors.CatenaryError, ValueError):
                target = ()
            decision = self.policy.decide("claim", key, target)
            if not decision.allowed:
                break
        return decision

    def _target(self, rule: str, request: Any) -> tuple[str, ...]:
        """What claim and emit rules are scoped by: (name, id) of the operation or workflow.

        Found once per execution (its claim, renewals and report ask alike) and per operation
        or workflow: ids are content addresses, so what they name never changes."""
        try:
            if rule == "claim":
                target = self._targets.get(("execution", request.hash))
                if target is None:
                    operation = self.node.executions.get(CID(request.hash)).operation
                    target = self._remember("execution", request.hash, self._name(operation, "operation"))
                return target
            if isinstance(request, event_pb2.EmitRequest):
                return (request.key,)
            if rule == "emit":
                return self._name(CID(request.workflow), "workflow")
        except (errors.CatenaryError, ValueError):
            pass  # an unknown target matches only "*" grants; the servicer then names the error
        return ()

    def _name(self, cid: CID, kind: str) -> tuple[str, str]:
        """(name, id) of an operation version or a workflow; NotFoundError if unknown."""
        target = self._targets.get((kind, cid.cid_bytes))
        if target is None:
            if kind == "operation":
                name = self.node.operations.get(cid).manifest.name
            else:
                name = self.node.workflows.get(cid).workflow.name
            target = self._remember(kind, cid.cid_bytes, (name, str(cid)))
        return target

    def _remember(self, kind: str, cid: bytes, target: tuple[str, str]) -> tuple[str, str]:
        if len(self._targets) >= _MAX_TARGETS:  # a long-lived node: start over
            self._targets.clear()
        self._targets[kind, cid] = target
        return target

    def _guarded(self, method: str, handler: Any) -> grpc.RpcMethodHandler[Any, Any]:
        if handler.response_streaming:
            # gRPC wants one wrapper per handler kind; this one differs from unary_unary by yield from.
            def unary_stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                token = self._enter(method, request, context)
                try:
                    yield from handler.unary_stream(request, context)
                finally:
                    CALLER.reset(token)

            return grpc.unary_stream_rpc_method_handler(
                unary_stream,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )

        # gRPC wants one wrapper per handler kind; unary_stream differs from this one by yield from.
        def unary_unary(request: Any, context: grpc.ServicerContext) -> Any:
            token = self._enter(method, request, context)
            try:
                return handler.unary_unary(request, context)
            finally:
                CALLER.reset(token)

        return grpc.unary_unary_rpc_method_handler(
            unary_unary,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _enter(
        self, method: str, request: Any, context: grpc.ServicerContext
    ) -> contextvars.Token[str | None]:
        try:
            key = self.authorize(method, request, context)
        except errors.CatenaryError as exc:
            context.set_trailing_metadata(((ERROR_TYPE_KEY, type(exc).__name__),))
            context.abort(code_for(exc), str(exc))
        return CALLER.set(key)


def _with_node_id(handler: Any, node_id: str) -> grpc.RpcMethodHandler[Any, Any]:
    def check(request: Any, context: grpc.ServicerContext) -> Any:
        context.send_initial_metadata(((NODE_ID_KEY, node_id),))
        return handler.unary_unary(request, context)

    return grpc.unary_unary_rpc_method_handler(
        check,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
