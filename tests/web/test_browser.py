"""The explorer in a real browser: Debian's Chromium, headless, driven by Playwright.

Each flow is what a user does; screenshots of every page land in tests/artifacts/.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from catenary.model.filter import ExecutionFilter
from tests.web.conftest import Site, screenshot


def rows(tab: Page) -> list[str]:
    """The execution hashes listed in the page's table, in order."""
    return tab.eval_on_selector_all("#executions tbody tr[data-hash]", "rs => rs.map(r => r.dataset.hash)")


def test_list_filter_page_open_and_follow_a_parent(site: Site, page: Page) -> None:
    page.goto(site.url + "/executions")
    expect(page.get_by_role("heading", name="Executions")).to_be_visible()
    assert len(rows(page)) == min(50, sum(1 for _ in site.node.executions.iterate()))
    screenshot(page, "executions")

    # Filter by status with the keyboard: the checkbox is found by its label.
    page.get_by_label("failed").check()
    page.get_by_role("button", name="Apply").press("Enter")
    page.wait_for_url(re.compile(r"status=failed"))
    assert rows(page) == [str(site.data.failed_execution)]
    expect(page.locator("#executions .status-failed")).to_have_count(1)
    screenshot(page, "executions-failed")

    # Page forward: 5 a page, the next page's rows follow on.
    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Per page").fill("5")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"page_size=5"))
    first = rows(page)
    page.get_by_role("link", name="Next page »").click()
    page.wait_for_url(re.compile(r"page_token="))
    second = rows(page)
    everything = [str(e.hash) for e in site.node.executions.iterate()]
    assert first + second == everything[:10]

    # Open the proven result, then follow a parent link to where its input came from.
    page.goto(site.url + "/executions?" + f"run={site.data.proven_run}&segment=5")
    page.locator(f'#row-{site.data.proven_final} a[href="/executions/{site.data.proven_final}"]').click()
    page.wait_for_url(f"**/executions/{site.data.proven_final}")
    expect(page.locator("h1")).to_contain_text("std/if")
    screenshot(page, "execution")
    final = site.node.executions.get(site.data.proven_final)
    parent = next(p for p in final.parents if site.node.store.get_execution(p) is not None)
    page.locator(f'#parent-links a[href="/executions/{parent}"]').click()
    page.wait_for_url(f"**/executions/{parent}")
    expect(page.locator("dl.record")).to_contain_text(str(parent))


def test_trace_graph_click_a_node(site: Site, page: Page) -> None:
    final = site.node.executions.get(site.data.proven_final)
    page.goto(f"{site.url}/executions/{final.hash}/trace")
    expect(page.locator("#graph[data-ready='yes']")).to_be_attached()
    count = page.evaluate("window.catenaryGraph.nodes().length")
    trace = site.node.executions.trace(final.hash)
    assert count == len(trace.nodes)
    # Colour by status: every execution of this trace is completed (green), events purple.
    colours = page.evaluate("window.catenaryGraph.nodes().map(n => [n.data('kind'), n.data('color')])")
    assert {tuple(c) for c in colours} == {("execution", "#2e9e50"), ("event", "#6b4fa0")}
    screenshot(page, "trace")
    # Click the node of the first step of the run (segment 0), on the canvas.
    target = next(n.hash for n in trace.nodes if n.kind == "execution" and n.execution.segment == 0)
    box = page.locator("#graph").bounding_box()
    position = page.evaluate(f"window.catenaryGraph.getElementById('{target}').renderedPosition()")
    page.mouse.click(box["x"] + position["x"], box["y"] + position["y"])
    page.wait_for_url(f"**/executions/{target}")
    expect(page.locator("h1")).to_contain_text("std/exif")


def test_verify_button_shows_verified(fresh_site: Site, page: Page) -> None:
    site = fresh_site
    cached = next(
        e
        for e in site.node.executions.iterate(ExecutionFilter(workflow=site.data.camera))
        if e.cached_from is not None
    )
    page.goto(f"{site.url}/executions/{cached.hash}")
    page.get_by_role("button", name="Verify by re-execution").click()
    expect(page.locator("#verdict")).to_contain_text("verified")
    expect(page.locator("#verdict")).to_contain_text("re-executed: same output")
    expect(page.locator("#trust-section table")).to_contain_text("validator")
    screenshot(page, "verified")


def test_new_executions_appear_live_without_a_reload(fresh_site: Site, page: Page) -> None:
    site = fresh_site
    page.goto(site.url + "/executions")
    expect(page.locator("#executions[data-live-ready='yes']")).to_be_attached()
    page.evaluate("window.notReloaded = true")
    state, _ = site.node.runs.run(site.data.counter, {0: [777]})
    for e in site.node.executions.iterate(ExecutionFilter(run=state.id)):
        expect(page.locator(f"#row-{e.hash}")).to_be_visible()
    assert rows(page)[:2] == [
        str(e.hash) for e in site.node.executions.list(ExecutionFilter(run=state.id)).executions
    ]
    expect(page.locator("#live-status")).to_contain_text("2 new execution(s)")
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "executions-live")


def test_run_page_and_runs_page_update_live(fresh_site: Site, page: Page, browser) -> None:
    site = fresh_site
    run = site.node.runs.new(site.data.camera)
    page.goto(f"{site.url}/runs/{run.id}")
    expect(page.locator("#executions[data-live-ready='yes']")).to_be_attached()
    runs_tab = page.context.new_page()
    runs_tab.goto(site.url + "/")
    expect(runs_tab.locator("#runs[data-live-ready='yes']")).to_be_attached()
    photo = site.node.values.get(site.node.executions.get(site.data.photo_execution).inputs[0])
    result = site.node.runs.next(run.id, [photo])
    expect(page.locator(f"#row-{result.final}")).to_be_visible()
    expect(page.locator("#run-progress")).to_have_text("1 / 6")
    for _segment, inputs in ((1, []), (2, ["CX1-004217"]), (3, []), (4, ["L35-99812"]), (5, [])):
        result = site.node.runs.next(run.id, inputs)
    expect(page.locator("#run-status")).to_contain_text("completed")
    expect(page.locator("#run-progress")).to_have_text("6 / 6")
    expect(page.locator("#run-outputs li")).to_have_count(6)
    screenshot(page, "run")
    expect(runs_tab.locator(f"#run-{run.id} .js-run-status")).to_contain_text("completed")
    screenshot(runs_tab, "runs")
    runs_tab.close()


def test_other_pages_and_a_404(site: Site, page: Page) -> None:
    page.goto(f"{site.url}/workflows/{site.data.camera}")
    expect(page.locator("#graph[data-ready='yes']")).to_be_attached()
    assert page.evaluate("window.catenaryGraph.nodes('[kind = \"segment\"]').length") == 6
    screenshot(page, "workflow")
    photo = site.node.executions.get(site.data.photo_execution)
    page.goto(f"{site.url}/executions/{photo.hash}")
    expect(page.locator("img.thumb")).to_be_visible()
    assert page.evaluate("document.querySelector('img.thumb').naturalWidth") == 96  # the JPEG decoded
    screenshot(page, "execution-image")
    page.goto(f"{site.url}/values/{photo.inputs[0]}")
    screenshot(page, "value")
    response = page.goto(f"{site.url}/executions/{site.data.counter}")  # a workflow id, not an execution
    assert response is not None and response.status == 404
    expect(page.get_by_role("alert")).to_contain_text(f"unknown execution {site.data.counter}")
    screenshot(page, "404")


def test_keyboard_reaches_the_content(site: Site, page: Page) -> None:
    page.goto(site.url + "/")
    page.keyboard.press("Tab")
    expect(page.locator("a.skip")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused and focused.startswith("/runs/")  # the first run, right after the skip link
