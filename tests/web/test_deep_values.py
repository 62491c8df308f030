"""Values DAG-CBOR allows but JSON cannot print, or too large to show, on the explorer (issue 14):
the execution page and the value page show a bounded preview cut by depth and size with a link to
the raw value, never a 400 or 500; the JSON gateway answers 422 naming the block route."""

from __future__ import annotations

import html as markup
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from catenary.cid import CID, block, cid_of
from catenary.cid.dagjson import to_json
from catenary.limits import PREVIEW_ITEMS
from catenary.sdk import Node
from catenary.web import WebServer
from catenary.web.preview import JSON_CHARS, JSON_DEPTH, bounded_json, nesting
from tests.helpers import manifest

DEPTH = 100_000
PAGE_BYTES = 200_000  # a page around a 20,000-character preview, whatever the value


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


@dataclass
class Served:
    node: Node
    http: httpx.Client
    deep: CID  # an execution whose output is nested DEPTH levels
    wide: CID  # an execution whose output is a map of 200,000 entries


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    node = Node(tmp_path_factory.mktemp("deep") / "data")
    # std/get with an empty path passes its input through: the output is the value given.
    wf = node.workflows.create(manifest(([-1], ["std/get"]), name="deep")).id
    _, deep = node.runs.run(wf, {0: [nested(DEPTH)]})
    _, wide = node.runs.run(wf, {0: [{f"k{i:06d}": [i, {"n": i}] for i in range(200_000)}]})
    server = WebServer(node, "127.0.0.1:0").start()
    http = httpx.Client(base_url=server.url, timeout=60)
    yield Served(node, http, deep.final, wide.final)
    http.close()
    server.stop()
    node.close()


def _html(served: Served, path: str) -> str:
    response = served.http.get(path)
    assert response.status_code == 200, response.text[:2000]
    assert response.headers["content-type"].startswith("text/html")
    assert len(response.content) < PAGE_BYTES
    return response.text


def _preview_text(html: str) -> str:
    found = re.search(r'<pre class="preview preview-json">(.*?)</pre>', html, re.S)
    assert found, "no JSON preview on the page"
    return markup.unescape(found.group(1))


@pytest.mark.parametrize("page", ["execution", "value"])
def test_a_value_nested_100000_deep_gets_a_preview_cut_by_depth(served: Served, page: str) -> None:
    output = served.node.executions.get(served.deep).output
    assert output is not None
    html = _html(served, f"/executions/{served.deep}" if page == "execution" else f"/values/{output}")
    shown = _preview_text(html)
    assert shown.count("[") == JSON_DEPTH + 1 and "[...]" in shown and "bottom" not in shown
    assert f"nested {DEPTH:,} levels deep, {JSON_DEPTH} are shown" in html
    assert f'href="/api/values/{output}/raw" download' in html


def test_a_huge_value_gets_a_preview_cut_by_items(served: Served) -> None:
    output = served.node.executions.get(served.wide).output
    assert output is not None
    for path in (f"/executions/{served.wide}", f"/values/{output}"):
        html = _html(served, path)
        shown = _preview_text(html)
        assert shown.count('"n"') == PREVIEW_ITEMS and f"... ({200_000 - PREVIEW_ITEMS:,} more)" in shown
        assert len(shown) <= JSON_CHARS
        assert "Preview cut short." in html and "levels deep" not in html
        assert f'href="/api/values/{output}/raw" download' in html


def test_the_gateway_answers_422_for_a_deep_value_and_serves_its_bytes(served: Served) -> None:
    output = served.node.executions.get(served.deep).output
    assert output is not None
    response = served.http.get(f"/api/values/{output}")
    assert response.status_code == 422
    error = response.json()
    assert error["status"] == 422 and f"/api/values/{output}/block" in error["error"]
    assert len(error["error"]) < 400
    stored = served.node.values.get_bytes(output)
    for route in ("raw", "block"):  # a list's raw content is its DAG-CBOR block
        got = served.http.get(f"/api/values/{output}/{route}")
        assert got.status_code == 200 and got.content == stored
    assert cid_of(nested(DEPTH)) == output
    # The execution's own document is unaffected.
    assert served.http.get(f"/api/executions/{served.deep}").json()["output"] == str(output)


def test_the_openapi_document_lists_the_422(served: Served) -> None:
    doc = served.http.get("/api/openapi.json").json()
    assert "422" in doc["paths"]["/api/values/{cid}"]["get"]["responses"]


@pytest.mark.parametrize(
    "value",
    [
        {"a": [1, 2.5, None, True], "b": {}, "c": [], "d": b"\x00\xff", "e": 'é\n"x"'},
        [cid_of({"x": 1}), {"link": cid_of([1])}, [[[[]]]]],
        nested(JSON_DEPTH - 1),
        "just text",
        -7,
    ],
    ids=["map", "links", "at-the-depth-cut", "string", "int"],
)
def test_bounded_json_prints_what_json_dumps_prints_within_the_limits(value: Any) -> None:
    assert bounded_json(value) == (json.dumps(to_json(value), indent=2, ensure_ascii=False), False)
    _, raw = block(value)
    assert raw  # every case is a valid DAG-CBOR value


def test_bounded_json_and_nesting_on_deep_and_long_values() -> None:
    text, cut = bounded_json(nested(DEPTH))
    assert cut and text.count("[") == JSON_DEPTH + 1 and text.endswith("]")
    text, cut = bounded_json(list(range(1_000_000)), chars=100)
    assert cut and len(text) == 100
    text, cut = bounded_json(["x" * 1000] * 100)  # under the item cap, over the characters
    assert cut and len(text) == JSON_CHARS
    text, cut = bounded_json(list(range(PREVIEW_ITEMS + 1)))
    assert cut and text.endswith(f"{PREVIEW_ITEMS - 1},\n  ... (1 more)\n]")
    assert nesting(nested(DEPTH)) == DEPTH and nesting(5) == 0 and nesting({"a": [{}]}) == 3
