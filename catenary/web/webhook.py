"""``POST /hooks/events/{key}``: emit an event over HTTP (``catenary serve --http ... --webhook``).

The explorer only reads (its one POST, ``/executions/{hash}/verify``, re-executes and attests);
this route stores what callers send, so it is off by default and declared here alone. A call
is authenticated as a gRPC call is: ``Authorization: Bearer <token>``, a call token
(catenary/trust/token.py) for this node (audience) and the method :data:`METHOD`, used once.
The policy's ``emit`` rule, scoped by event key, then decides, as for gRPC ``Event.Emit``.

The body is the event's data: JSON when the request says ``Content-Type: application/json``,
otherwise its raw bytes; at most the event data cap. The caller holds a token, not the
event's signature, so the node emits the event, signed by its key, as it does a schedule's
ticks; services that sign their own events use ``Event.Emit``. The answer, ``201`` with the
event's id, comes after the event is stored (and the triggers on it have fired).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from catenary.errors import BadInputError, PermissionDeniedError, TokenError, ValueTooLargeError
from catenary.events import MAX_DATA_SIZE
from catenary.model.emitted import key_problem
from catenary.sdk import Node
from catenary.trust.token import Problem, TokenChecker

PATH = "/hooks/events/{key}"
METHOD = "/hooks/events"  # a token's ``mth`` claim: `catenary key token hooks/events --audience NODE`


def routes(node: Node) -> list[Route]:
    """The webhook's one route, with its own replay cache of tokens."""
    tokens = TokenChecker(node.id)

    async def emit_event(request: Request) -> JSONResponse:
        caller = caller_of(request, tokens)
        key = request.path_params["key"]
        problem = key_problem(key)
        if problem:
            raise BadInputError(f"event key in the path: {problem}")
        decision = node.policy.decide("emit", caller, (key,))
        if not decision.allowed:
            if caller is None:
                raise TokenError(
                    Problem.MISSING, f"POST {METHOD}/{key} needs 'Authorization: Bearer <token>'"
                )
            raise PermissionDeniedError(
                f"key {caller} may not emit {key!r}: no grant in {decision.rule} of the node's policy "
                "allows it (see `catenary policy show`)"
            )
        data = _data(request, await _body(request))
        stored = await run_in_threadpool(node.events.emit, key, data)
        return JSONResponse(
            {"id": str(stored.id), "key": key, "emitter": stored.event.emitter, "position": stored.position},
            status_code=201,
        )

    return [Route(PATH, emit_event, methods=["POST"])]


def caller_of(request: Request, tokens: TokenChecker, method: str = METHOD) -> str | None:
    """The did:key of a valid token's issuer (a token for ``method``); None without an
    Authorization header. The trustless gateway (catenary.web.gateway) reads callers so too."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError(Problem.MALFORMED, "the Authorization header must be 'Bearer <token>'")
    return tokens.check(token.strip(), method).issuer


async def _body(request: Request) -> bytes:
    """The body, refused as soon as it is over the event data cap (never read whole)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_DATA_SIZE:
        raise _too_large(int(declared))
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_DATA_SIZE:
                raise _too_large(len(body))
    except ClientDisconnect:
        raise BadInputError("the client went away before the body was sent") from None
    return bytes(body)


def _too_large(size: int) -> ValueTooLargeError:
    return ValueTooLargeError(
        f"body: {size} bytes or more, over the event data cap of {MAX_DATA_SIZE} bytes "
        "(put big values on the node and send their CID)"
    )


def _data(request: Request, body: bytes) -> Any:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        return body
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadInputError(f"body: not JSON ({exc})") from None
