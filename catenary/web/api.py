"""The read-only JSON gateway (``/api/...``): the CLI's ``--json`` shapes over HTTP.

Each handler parses its parameters, calls one sdk manager and returns the
document :mod:`catenary.sdk.documents` builds for the CLI, so a document means the
same thing whichever way it was fetched. Errors are ``{"error", "status"}``
documents (see :mod:`catenary.web.app`).
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from catenary.cid.dagjson import TOO_DEEP, to_json
from catenary.errors import BadInputError, EncodingError
from catenary.model import Direction
from catenary.sdk import documents as render
from catenary.web import live, openapi
from catenary.web.context import explorer
from catenary.web.preview import raw_content
from catenary.web.query import check_known, cid_param, int_param, parse_list_query, single

TRACE_DIRECTIONS = tuple(d.value for d in Direction)


def list_executions(request: Request) -> JSONResponse:
    """``exec list --json``: one keyset page of executions, newest first."""
    query = parse_list_query(request.query_params)
    page = explorer(request).node.executions.list(query.filter, query.page_size, query.page_token)
    return JSONResponse(
        {
            "executions": [render.execution_json(e) for e in page.executions],
            "next_page_token": page.next_page_token,
        }
    )


def get_execution(request: Request) -> JSONResponse:
    """``exec get --json``."""
    check_known(request.query_params, ())
    hash_ = cid_param(request.path_params["hash"], "hash")
    node = explorer(request).node
    document = render.execution_get_json(
        node.executions.get(hash_), node.executions.dispute(hash_), node.acceptance.get(hash_)
    )
    return JSONResponse(document)


def trace_params(request: Request) -> tuple[str, int]:
    """``direction`` (ancestors, the default, or descendants) and ``depth`` (0 = all)."""
    params = request.query_params
    check_known(params, ("direction", "depth"))
    direction = single(params, "direction") or Direction.ANCESTORS.value
    if direction not in TRACE_DIRECTIONS:
        raise BadInputError(f"direction: {direction!r} is not one of {', '.join(TRACE_DIRECTIONS)}")
    return direction, int_param(params, "depth", 0, 10_000) or 0


def get_trace(request: Request) -> JSONResponse:
    """``exec trace --json``: the execution's lineage, events included."""
    hash_ = cid_param(request.path_params["hash"], "hash")
    direction, depth = trace_params(request)
    trace = explorer(request).node.executions.trace(hash_, direction, depth)
    return JSONResponse(render.trace_json(trace))


def list_runs(request: Request) -> JSONResponse:
    """``runs list --json``: runs newest first, optionally of one workflow."""
    params = request.query_params
    check_known(params, ("workflow", "limit"))
    workflow = single(params, "workflow")
    limit = int_param(params, "limit", 1, 10_000) or 100
    states = explorer(request).node.runs.list(cid_param(workflow, "workflow") if workflow else None, limit)
    return JSONResponse({"runs": [render.run_json(s) for s in states]})


def get_run(request: Request) -> JSONResponse:
    """``runs get --json``: status, segment outputs and the nonce (so the id recomputes)."""
    check_known(request.query_params, ())
    node = explorer(request).node
    state = node.runs.get(cid_param(request.path_params["id"], "id"))
    segments = len(node.workflows.get(state.workflow).workflow.segments)
    return JSONResponse(render.run_json(state, segments))


def get_workflow(request: Request) -> JSONResponse:
    """``workflow show --json``: the manifest ``{id, data}``."""
    check_known(request.query_params, ())
    info = explorer(request).node.workflows.get(cid_param(request.path_params["id"], "id"))
    return JSONResponse(render.workflow_json(info.id, info.workflow))


def list_operations(request: Request) -> JSONResponse:
    """``op list --json``."""
    check_known(request.query_params, ())
    infos = explorer(request).node.operations.list()
    return JSONResponse({"operations": [render.operation_json(i) for i in infos]})


def get_value(request: Request) -> JSONResponse:
    """``value get --json``: the bare DAG-JSON value."""
    check_known(request.query_params, ())
    cid = cid_param(request.path_params["cid"], "cid")
    value = explorer(request).node.values.get(cid)
    try:
        return JSONResponse(to_json(value))
    except (EncodingError, RecursionError):
        # Valid DAG-CBOR nested deeper than JSON can go: the request was fine (not a 400), this
        # route just cannot give that value as DAG-JSON. The block route always can.
        raise HTTPException(
            422, f"value {cid} {TOO_DEEP}: read its DAG-CBOR block at /api/values/{cid}/block"
        ) from None


def _download_headers(name: str, media: str) -> dict[str, str]:
    # Values are untrusted: never let a browser sniff them into something executable (nosniff and
    # the CSP on every response: catenary.web.security), nor open anything but images and text.
    headers = {"Cache-Control": "public, max-age=31536000, immutable"}
    if not media.startswith(("image/", "text/plain")):
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return headers


def get_value_raw(request: Request) -> Response:
    """A value's content: bytes as themselves, a string as UTF-8 text, else its DAG-CBOR block."""
    check_known(request.query_params, ())
    cid = cid_param(request.path_params["cid"], "cid")
    body, media = raw_content(explorer(request).node.values.get_bytes(cid))
    return Response(body, media_type=media, headers=_download_headers(f"{cid}.bin", media))


def get_value_block(request: Request) -> Response:
    """A value's DAG-CBOR block: hash it with blake2b-256 to check the CID."""
    check_known(request.query_params, ())
    cid = cid_param(request.path_params["cid"], "cid")
    block = explorer(request).node.values.get_bytes(cid)
    media = "application/vnd.ipld.dag-cbor"
    return Response(block, media_type=media, headers=_download_headers(f"{cid}.cbor", media))


def get_openapi(request: Request) -> JSONResponse:
    """The OpenAPI document of this gateway."""
    return JSONResponse(openapi.document())


def routes() -> list[Route]:
    """The gateway's routes; ``/api/executions/updates`` (live.py) comes before ``{hash}``."""
    return [
        Route("/api/openapi.json", get_openapi),
        Route("/api/executions", list_executions),
        Route("/api/executions/updates", live.execution_updates),
        Route("/api/executions/{hash}", get_execution),
        Route("/api/executions/{hash}/trace", get_trace),
        Route("/api/runs", list_runs),
        Route("/api/runs/{id}", get_run),
        Route("/api/workflows/{id}", get_workflow),
        Route("/api/operations", list_operations),
        Route("/api/values/{cid}", get_value),
        Route("/api/values/{cid}/raw", get_value_raw),
        Route("/api/values/{cid}/block", get_value_block),
    ]
