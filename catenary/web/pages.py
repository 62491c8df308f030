"""The explorer's HTML pages, rendered on the server from the sdk managers.

The pages work without JavaScript; scripts add the live updates and the graphs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from catenary.cid import CID
from catenary.errors import BadInputError, NotFoundError
from catenary.model import Direction
from catenary.model.filter import ExecutionFilter
from catenary.sdk import Node
from catenary.sdk import documents as render
from catenary.web import verification
from catenary.web.api import trace_params
from catenary.web.context import explorer
from catenary.web.preview import Preview, preview
from catenary.web.query import STATUSES, check_known, cid_param, parse_list_query

RECENT_RUNS = 50
RUN_EXECUTIONS = 200
CHILDREN = 50


def index(request: Request) -> Response:
    """``/``: recent runs with their status and timing, and the stored workflows."""
    check_known(request.query_params, ())
    state = explorer(request)
    node = state.node
    # The seq first, then the rows: a change in between is sent live (and replaces its row).
    since = node.executions.latest_seq()
    workflows = node.workflows.list()
    return state.render(
        request,
        "index.html",
        runs=node.runs.list(None, RECENT_RUNS),
        workflows=workflows,
        workflow_names={str(w.id): w.workflow.name for w in workflows},
        workflow_segments={str(w.id): len(w.workflow.segments) for w in workflows},
        since_seq=since,
    )


def executions(request: Request) -> Response:
    """``/executions``: the filtered list, keyset pages, live."""
    state = explorer(request)
    node = state.node
    query = parse_list_query(request.query_params)
    since = node.executions.latest_seq()  # before the rows, as on the runs page
    page = node.executions.list(query.filter, query.page_size, query.page_token)
    next_url = None
    if page.next_page_token:
        next_url = "/executions?" + urlencode(query.params(page.next_page_token))
    first_url = "/executions?" + urlencode(query.params()) if query.page_token else None
    return state.render(
        request,
        "executions.html",
        page=page,
        query=query,
        filter=query.filter,
        statuses=STATUSES,
        operations=node.operations.list(),
        workflows=node.workflows.list(),
        names=state.operation_names(),
        next_url=next_url,
        first_url=first_url,
        first_page=query.page_token is None,
        since_seq=since,
        live_params=urlencode([p for p in query.params() if p[0] not in ("page_size", "page_token")]),
    )


def _preview(node: Node, cid: CID, limit: int) -> Preview:
    try:
        return preview(cid, node.values.get_bytes(cid), limit)
    except NotFoundError:
        return Preview(cid, 0, "missing", "unknown")


def _execution_context(request: Request, hash_text: str) -> dict[str, Any]:
    state = explorer(request)
    node = state.node
    execution = node.executions.get(cid_param(hash_text, "hash"))
    # One hop of the trace: the parents, each an execution or the event that carried inputs.
    nearest = node.executions.trace(execution.hash, Direction.ANCESTORS, 1)
    parents = {n.hash: n for n in nearest.nodes if n.hash != execution.hash}
    children = node.executions.list(ExecutionFilter(parent=execution.hash), CHILDREN)
    info = node.operations.lookup(execution.operation)
    limit = state.preview_limit
    return {
        "e": execution,
        "document": render.execution_json(execution),
        "operation": info,
        "names": state.operation_names(),
        "parents": [parents[p] for p in dict.fromkeys(execution.parents)],
        "children": children,
        "workflow": _workflow_name(node, execution.workflow),
        "inputs": [_preview(node, cid, limit) for cid in execution.inputs],
        "output": _preview(node, execution.output, limit) if execution.output else None,
        "trust": verification.status(node, execution),
        "dispute": node.executions.dispute(execution.hash),
        "standing": node.acceptance.of(execution),  # under the node's quorum policy
    }


def _workflow_name(node: Node, workflow_id: CID) -> str | None:
    try:
        return node.workflows.get(workflow_id).workflow.name
    except NotFoundError:
        return None


def execution(request: Request) -> Response:
    """``/executions/{hash}``: every SPEC §4 field, values previewed, parents and children."""
    check_known(request.query_params, ())
    context = _execution_context(request, request.path_params["hash"])
    return explorer(request).render(request, "execution.html", verdict=None, **context)


def verify(request: Request) -> Response:
    """``POST /executions/{hash}/verify``: re-execute through the sdk and show the verdict."""
    origin = request.headers.get("origin")
    if origin and origin.rstrip("/") != f"{request.url.scheme}://{request.url.netloc}":
        # A page elsewhere must not make this node re-execute work on a visitor's behalf.
        raise BadInputError(f"cross-origin request from {origin} refused")
    state = explorer(request)
    hash_ = cid_param(request.path_params["hash"], "hash")
    state.node.executions.get(hash_)  # 404 before any work
    verdict = verification.verify(state.node, hash_)
    context = _execution_context(request, request.path_params["hash"])
    return state.render(request, "execution.html", verdict=verdict, **context)


def trace(request: Request) -> Response:
    """``/executions/{hash}/trace``: the lineage graph, with a table of its nodes."""
    state = explorer(request)
    node = state.node
    hash_ = cid_param(request.path_params["hash"], "hash")
    direction, depth = trace_params(request)
    found = node.executions.trace(hash_, direction, depth)
    return state.render(
        request,
        "trace.html",
        trace=found,
        document=render.trace_json(found),
        root=node.executions.get(hash_),
        direction=direction,
        names=state.operation_names(),
    )


def run(request: Request) -> Response:
    """``/runs/{id}``: a run's status, segment outputs and executions, live."""
    check_known(request.query_params, ())
    state = explorer(request)
    node = state.node
    since = node.executions.latest_seq()  # before the rows, as on the runs page
    run_state = node.runs.get(cid_param(request.path_params["id"], "id"))
    workflow = node.workflows.get(run_state.workflow)
    page = node.executions.list(ExecutionFilter(run=run_state.id), RUN_EXECUTIONS)
    return state.render(
        request,
        "run.html",
        run=run_state,
        document=render.run_json(run_state, len(workflow.workflow.segments)),
        workflow=workflow,
        executions=list(reversed(page.executions)),
        more=page.next_page_token,
        names=state.operation_names(),
        since_seq=since,
        firing=node.triggers.firing_for_run(run_state.id),  # what started it, if a trigger did
    )


def workflow(request: Request) -> Response:
    """``/workflows/{id}``: the manifest and its segments drawn as a graph, and its runs."""
    check_known(request.query_params, ())
    state = explorer(request)
    node = state.node
    info = node.workflows.get(cid_param(request.path_params["id"], "id"))
    names = state.operation_names()
    return state.render(
        request,
        "workflow.html",
        info=info,
        document=render.workflow_json(info.id, info.workflow),
        graph=workflow_graph(info.workflow, names),
        names=names,
        runs=node.runs.list(info.id, RECENT_RUNS),
    )


def workflow_graph(wf: Any, names: dict[str, str]) -> dict[str, Any]:
    """Nodes and edges for the workflow drawing: one node per segment, one per external slot."""
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    for index, segment in enumerate(wf.segments):
        chain = " → ".join(names.get(str(s.version_id), "?") for s in segment.sequence)
        nodes.append({"id": f"s{index}", "label": f"segment {index}\n{chain}", "kind": "segment"})
        for slot, source in enumerate(segment.inputs):
            if source == -1:
                nodes.append(
                    {"id": f"in{index}.{slot}", "label": f"input\nseg {index} slot {slot}", "kind": "input"}
                )
                edges.append({"from": f"in{index}.{slot}", "to": f"s{index}", "label": ""})
            else:
                edges.append({"from": f"s{source}", "to": f"s{index}", "label": f"slot {slot}"})
    return {"nodes": nodes, "edges": edges}


def value(request: Request) -> Response:
    """``/values/{cid}``: one value, previewed, with download links."""
    check_known(request.query_params, ())
    state = explorer(request)
    cid = cid_param(request.path_params["cid"], "cid")
    block = state.node.values.get_bytes(cid)  # 404 when unknown
    return state.render(request, "value.html", value=preview(cid, block, state.preview_limit))


def routes() -> list[Route]:
    """The page routes."""
    return [
        Route("/", index),
        Route("/executions", executions),
        Route("/executions/{hash}", execution),
        Route("/executions/{hash}/verify", verify, methods=["POST"]),
        Route("/executions/{hash}/trace", trace),
        Route("/runs/{id}", run),
        Route("/workflows/{id}", workflow),
        Route("/values/{cid}", value),
    ]
