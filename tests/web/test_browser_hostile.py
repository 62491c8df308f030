"""Hostile strings in a real browser (issue 13, item 8): a workflow whose name, creators and
description, whose string inputs and outputs and whose step config are HTML and script
payloads. Every explorer page that shows them is loaded in Chromium: no payload runs (each
would set ``window.__pwned``), none becomes an element (no ``[onerror]``, no ``img[src=x]``,
no script but the explorer's own files), the page logs no CSP violation (the ``page`` fixture
fails on any console error) and the text is shown literally.

Event keys and trigger names are not here: their grammar (``[a-z0-9._-]``) admits no markup.
An emitted event's data is: the events list, the event page (its data previewed) and the
event's value page are loaded too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from catenary.cid import CID
from catenary.model.filter import ExecutionFilter
from catenary.sdk import Node
from catenary.web import WebServer
from tests.web.conftest import TEST_OPS

NAME = '<img src=x onerror="window.__pwned=1">'
CREATOR = '"><script>window.__pwned=2</script>'
DESCRIPTION = "</script><script>window.__pwned=3</script><!--"
LEFT = "<svg onload=window.__pwned=4>"
RIGHT = "';window.__pwned=5;//{{7*7}}"
PATH = "\"'><img src=x onerror=window.__pwned=6>"
PAYLOADS = (NAME, CREATOR, DESCRIPTION, LEFT, RIGHT, PATH)


@dataclass
class Hostile:
    url: str
    workflow: CID
    run: CID
    executions: list[CID]
    strings: list[CID]  # the string values: inputs and the concatenated output
    event: CID  # an emitted event whose data is the payloads


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    node = Node(tmp_path_factory.mktemp("hostile") / "data", operations=[TEST_OPS])
    manifest = {
        "name": NAME,
        "creators": [CREATOR, NAME],
        "description": DESCRIPTION,
        "groups": [],
        "segments": [
            {
                "inputs": [-1, -1],
                "sequence": [{"op": "std/concat", "config": {}}, {"op": "std/get", "config": {"path": PATH}}],
            }
        ],
    }
    wf = node.workflows.create({"data": manifest})
    state, _ = node.runs.run(wf.id, {0: [LEFT, RIGHT]})
    executions = node.executions.list(ExecutionFilter(run=state.id)).executions
    concat = next(e for e in executions if e.step == 0)
    assert node.values.get(concat.output) == LEFT + RIGHT
    emitted = node.events.emit("hostile.data", {NAME: [CREATOR, DESCRIPTION], "path": PATH})
    server = WebServer(node, "127.0.0.1:0").start()
    try:
        yield Hostile(
            server.url,
            wf.id,
            state.id,
            [e.hash for e in sorted(executions, key=lambda e: e.step)],
            [*concat.inputs, concat.output],
            emitted.id,
        )
    finally:
        server.stop()
        node.close()


def pages(h: Hostile) -> list[str]:
    paths = [
        "/",
        "/executions",
        f"/executions?workflow={h.workflow}",
        f"/runs/{h.run}",
        f"/workflows/{h.workflow}",
    ]
    for e in h.executions:
        paths += [f"/executions/{e}", f"/executions/{e}/trace"]
    paths += ["/events", f"/events/{h.event}"]
    return paths + [f"/values/{v}" for v in h.strings]


def assert_inert(page: Page, where: str) -> None:
    found = page.evaluate(
        """() => {
        const parses = text => { try { JSON.parse(text); return true } catch { return false } };
        return {
            pwned: window.__pwned === undefined ? null : window.__pwned,
            handlers: document.querySelectorAll('[onerror], [onload]').length,
            images: document.querySelectorAll('img[src="x"], svg[onload]').length,
            // Code only from the explorer's files; inline blocks only as JSON data that parses
            // (a payload that broke out of one would leave it unparsable, or add a block).
            scripts: [...document.scripts].filter(s => s.src
                ? !new URL(s.src).pathname.startsWith('/static/')
                : s.type !== 'application/json' || !s.id || !parses(s.text)
            ).length,
        }}"""
    )
    assert found == {"pwned": None, "handlers": 0, "images": 0, "scripts": 0}, where


def test_no_hostile_string_runs_on_any_explorer_page(hostile: Hostile, page: Page) -> None:
    for path in pages(hostile):
        page.goto(hostile.url + path)
        page.wait_for_load_state("load")
        assert_inert(page, path)


def test_hostile_strings_are_shown_as_text(hostile: Hostile, page: Page) -> None:
    page.goto(f"{hostile.url}/workflows/{hostile.workflow}")
    expect(page.locator("h1")).to_contain_text(NAME)
    assert page.title().startswith(NAME)
    body = page.locator("body").inner_text()
    assert CREATOR in body and DESCRIPTION in body

    page.goto(f"{hostile.url}/runs/{hostile.run}")
    expect(page.locator("h1")).to_contain_text(NAME)
    page.goto(f"{hostile.url}/")
    expect(page.locator("body")).to_contain_text(NAME)
    names = page.evaluate("JSON.parse(document.getElementById('workflow-names').text)")
    assert names[str(hostile.workflow)] == NAME  # the data block carries it intact, as data
    page.goto(f"{hostile.url}/values/{hostile.strings[-1]}")
    expect(page.locator("body")).to_contain_text(LEFT + RIGHT)
    page.goto(f"{hostile.url}/executions/{hostile.executions[1]}")  # std/get, its config
    expect(page.locator("body")).to_contain_text(PATH)
    page.goto(f"{hostile.url}/events/{hostile.event}")  # the event's data, previewed
    body = page.locator("body").inner_text()  # as DAG-JSON: the quotes inside escaped
    assert all(json.dumps(p, ensure_ascii=False)[1:-1] in body for p in (NAME, CREATOR, PATH))
