"""The JSON gateway against its published OpenAPI document: a bounded schemathesis run on a
real server (status codes, content types and response bodies must match the document), and
the document covers exactly the gateway's routes."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance
from starlette.routing import Route

from catenary.web import events, openapi
from catenary.web.api import routes
from tests.web.conftest import Site


def with_examples(document: dict[str, Any], site: Site) -> dict[str, Any]:
    """The published document plus examples from the test node, so the run also reaches the
    200 responses (random CIDs only ever find 400 and 404)."""
    doc = copy.deepcopy(document)
    data = site.data
    final = site.node.executions.get(data.proven_final)
    emitted = site.node.events.emit("example.thing", {"n": 1})  # so that one event exists
    examples = {
        "/api/executions/{hash}": {"hash": str(data.proven_final)},
        "/api/executions/{hash}/trace": {"hash": str(data.photo_execution)},
        "/api/runs/{id}": {"id": str(data.proven_run)},
        "/api/workflows/{id}": {"id": str(data.camera)},
        "/api/values/{cid}": {"cid": str(final.output)},
        "/api/values/{cid}/raw": {"cid": str(final.inputs[0])},
        "/api/values/{cid}/block": {"cid": str(final.output)},
        "/api/events/{id}": {"id": str(emitted.id)},
    }
    queries = {"run": str(data.proven_run), "workflow": str(data.camera), "parent": str(data.photo_execution)}
    for path, item in doc["paths"].items():
        for parameter in item["get"].get("parameters", []):
            value = examples.get(path, {}).get(parameter["name"])
            if parameter["in"] == "query":
                value = queries.get(parameter["name"])
            if value is not None:
                parameter["example"] = value
    return doc


# The live-update streams never end: test_gateway's SSE tests cover it instead. Negative cases
# need a parameter to break.
_PATHS = openapi.document()["paths"]
CASES = [
    (path, mode)
    for path in sorted(_PATHS)
    if not path.endswith("/updates")
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or _PATHS[path]["get"].get("parameters")
]


@pytest.fixture(scope="module")
def api_schema(site: Site):
    return schemathesis.openapi.from_dict(with_examples(site.get("/api/openapi.json").json(), site))


@pytest.mark.parametrize("path,mode", CASES, ids=[f"{m.value}-{p}" for p, m in CASES])
def test_gateway_conforms_to_its_openapi_document(
    api_schema, site: Site, path: str, mode: GenerationMode
) -> None:
    """Examples, then a few generated requests per operation; every response must be one the
    document declares, with its content type and body schema, and never a 5xx."""
    operation = api_schema[path]["GET"]
    cases: list = []
    strategies = [*operation.get_strategies_from_examples(), operation.as_strategy(mode)]

    @given(data=st.data())
    @settings(
        max_examples=10,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(data: st.DataObject) -> None:
        case = data.draw(st.one_of(strategies))
        cases.append(case)
        # Any string is a schema-valid page token, but only one the gateway made is accepted:
        # refusing the others (400) is right, and test_gateway checks it.
        excluded = [positive_data_acceptance] if "page_token" in (case.query or {}) else []
        response = case.call_and_validate(base_url=site.url, excluded_checks=excluded)
        if mode is GenerationMode.NEGATIVE:
            assert response.status_code < 500

    check()
    assert cases


def test_document_lists_exactly_the_gateway_routes() -> None:
    served = {r.path for r in [*routes(), *events.routes()] if isinstance(r, Route)}
    served = {path for path in served if path.startswith("/api/")}
    assert served == set(openapi.document()["paths"])


def test_document_is_the_one_served(site: Site) -> None:
    assert site.get("/api/openapi.json").json() == openapi.document()
