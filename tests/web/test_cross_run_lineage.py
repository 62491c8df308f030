"""In Chromium: the lineage graph of a run started by another run's result draws the cross-run
edge (the downstream execution, its run's input event caused by the result event, the upstream
final execution), and following it leads to the upstream run."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from catenary.model.enums import NodeKind
from catenary.sdk import Node
from catenary.web import WebServer
from tests.helpers import manifest
from tests.web.conftest import TEST_OPS, screenshot, vendored


def test_the_graph_crosses_into_the_upstream_run_and_leads_there(tmp_path: Path, page: Page) -> None:
    assert vendored(), "the graph library is not vendored (make vendor)"
    node = Node(tmp_path / "data", operations=[TEST_OPS])
    a = node.workflows.create(manifest(([-1, -1], ["test/add"]), name="a"))
    b = node.workflows.create(manifest(([-1], ["test/inc"]), name="b"))
    node.triggers.create(
        {"name": "a", "on": "numbers.ready", "workflow": str(a.id), "inputs": ["$.a", "$.b"]}
    )
    node.triggers.create({"name": "b", "on": {"workflow": str(a.id)}, "workflow": str(b.id), "inputs": ["$"]})
    node.events.emit("numbers.ready", {"a": 2, "b": 40})
    [run_a] = node.runs.list(a.id)
    [run_b] = node.runs.list(b.id)
    upstream = node.runs.get(run_a.id).outputs[0].producer
    downstream = node.runs.get(run_b.id).outputs[0].producer
    trace = node.executions.trace(downstream)
    [event] = [n.hash for n in trace.nodes if n.kind == NodeKind.EVENT and n.run == run_b.id]
    server = WebServer(node, "127.0.0.1:0").start()
    try:
        page.goto(f"{server.url}/executions/{downstream}/trace")
        expect(page.locator("#graph[data-ready='yes']")).to_be_attached()
        edges = page.evaluate("window.catenaryGraph.edges().map(e => [e.source().id(), e.target().id()])")
        # downstream <- its run's input event <- the upstream final execution (parent -> child)
        assert [str(upstream), str(event)] in edges and [str(event), str(downstream)] in edges
        ids = page.evaluate("window.catenaryGraph.nodes().map(n => n.id())")
        assert {str(n.hash) for n in trace.nodes} == set(ids)
        screenshot(page, "cross-run-trace")

        # Follow the edge: click the upstream execution on the canvas, then its run.
        box = page.locator("#graph").bounding_box()
        assert box is not None
        at = page.evaluate(f"window.catenaryGraph.getElementById('{upstream}').renderedPosition()")
        page.mouse.click(box["x"] + at["x"], box["y"] + at["y"])
        page.wait_for_url(f"**/executions/{upstream}")
        expect(page.locator("h1")).to_contain_text("test/add")
        page.locator(f'a[href="/runs/{run_a.id}"]').first.click()
        page.wait_for_url(f"**/runs/{run_a.id}")
        expect(page.locator("main")).to_contain_text(str(a.id)[-12:])
    finally:
        server.stop()
        node.close()
