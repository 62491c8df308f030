"""The IPFS Trustless Gateway routes (``GET``/``HEAD /ipfs/{cid}``) and the proof bundle route
peers sync from (``GET /api/executions/{hash}/bundle``); the formats are catenary.network.gateway's.

Reading is the policy's ``read`` rule, as over gRPC: open when it names ``anonymous``, else a
caller shows a call token (``Authorization: Bearer``, method :data:`METHOD`, this node as
audience) whose key the rule allows (docs/network.md).
"""

from __future__ import annotations

import io

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from catenary.cid import CID
from catenary.errors import InvalidCIDError, PermissionDeniedError, TokenError
from catenary.network import gateway
from catenary.network.blocks import BlockSource
from catenary.sdk import Node
from catenary.trust.token import Problem, TokenChecker
from catenary.web.webhook import caller_of

METHOD = "/ipfs"  # a token's ``mth`` claim for the gateway and the bundle route


def routes(node: Node) -> list[Route]:
    source = BlockSource(node.store, node.registry)
    tokens = TokenChecker(node.id)

    def allow(request: Request) -> None:
        who = caller_of(request, tokens, METHOD)
        decision = node.policy.decide("read", who)
        if decision.allowed:
            return
        if who is None:
            raise TokenError(
                Problem.MISSING, f"reading blocks needs 'Authorization: Bearer <token>' ({METHOD})"
            )
        raise PermissionDeniedError(
            f"key {who} may not read this node's blocks: no grant in {decision.rule} allows it "
            "(see `catenary policy show`)"
        )

    def ipfs(request: Request) -> Response:
        allow(request)
        text = request.path_params["cid"]  # /ipfs/{cid}/path has no route: paths are not served
        query = request.query_params
        ask = gateway.negotiate(query.get("format"), request.headers.get("accept"), query.get("dag-scope"))
        headers = gateway.headers(text, ask)
        if text == gateway.PROBE:
            body = b"" if ask.format is gateway.Format.RAW else gateway.probe_car()
            return Response(b"" if request.method == "HEAD" else body, headers=headers)
        cid = _cid(text)
        if ask.format is gateway.Format.RAW:
            data = gateway.raw_block(source, cid)
            return Response(b"" if request.method == "HEAD" else data, headers=headers)
        stream = gateway.car_stream(source, cid, ask.scope)  # 404 here when the root is missing
        if request.method == "HEAD":
            return Response(b"", headers=headers)
        return StreamingResponse(stream, headers=headers)

    def bundle(request: Request) -> Response:
        allow(request)
        buffer = io.BytesIO()
        execution = _cid(request.path_params["hash"])
        node.trust.export(execution, buffer)
        return Response(
            buffer.getvalue(),
            headers={
                "Content-Type": gateway.CAR_CONTENT_TYPE.replace("order=dfs; dups=n", "order=unk"),
                "Content-Disposition": f'attachment; filename="{execution}.bundle.car"',
                "Cache-Control": "no-cache",  # attestations and statements may be added later
            },
        )

    return [
        Route("/ipfs/{cid}", ipfs, methods=["GET", "HEAD"]),
        Route("/api/executions/{hash}/bundle", bundle, methods=["GET", "HEAD"]),
    ]


def _cid(text: str) -> CID:
    try:
        return CID.parse(text)
    except InvalidCIDError as exc:
        raise InvalidCIDError(f"{text!r} in the path: {exc}") from None
