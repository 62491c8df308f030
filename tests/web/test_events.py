"""The explorer's events pages and JSON (/events, /events/{id}, /api/events...): newest first
with pages, an event's data and the runs its triggers started, the run page's "started by",
bad input refused; and, in Chromium, a new event arriving live on /events."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from catenary.cid import CID, cid_of
from catenary.sdk import Node
from catenary.web import WebServer
from tests.helpers import manifest
from tests.web.conftest import TEST_OPS


@dataclass
class Served:
    node: Node
    url: str
    http: httpx.Client
    workflow: CID


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    node = Node(tmp_path / "data", operations=[TEST_OPS])
    wf = node.workflows.create(manifest(([-1], ["test/inc"]), name="bump"))
    node.triggers.create({"name": "bump", "on": "number.ready", "workflow": str(wf.id), "inputs": ["$.n"]})
    server = WebServer(node, "127.0.0.1:0").start()
    http = httpx.Client(base_url=server.url, timeout=30)
    try:
        yield Served(node, server.url, http, wf.id)
    finally:
        http.close()
        server.stop()
        node.close()


def ok(s: Served, path: str, **params: object) -> dict:
    response = s.http.get(path, params=params)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return response.json()


def test_events_newest_first_in_pages_that_cover_each_once(served: Served) -> None:
    emitted = [served.node.events.emit("other.thing", {"i": i}).id for i in range(7)]
    seen: list[str] = []
    params: dict[str, object] = {"page_size": 3}
    while True:
        page = ok(served, "/api/events", **params)
        seen += [e["id"] for e in page["events"]]
        if page["next_before"] is None:
            break
        params["before"] = page["next_before"]
    assert seen == [str(e) for e in reversed(emitted)]
    html = served.http.get("/events", params={"page_size": 3}).text
    assert html.index(str(emitted[-1])) < html.index(str(emitted[-2]))
    assert "Older events" in html and str(emitted[0]) not in html


def test_an_event_page_shows_its_data_and_the_run_it_started(served: Served) -> None:
    signed = served.node.events.emit("number.ready", {"n": 41, "note": "a <b>bold</b> claim"})
    [firing] = served.node.triggers.history(event=signed.id)
    assert firing.status == "fired" and firing.run is not None

    document = ok(served, f"/api/events/{signed.id}")
    assert document["id"] == str(signed.id) and document["key"] == "number.ready"
    assert document["emitter"] == served.node.id and document["value"] == {
        "n": 41,
        "note": "a <b>bold</b> claim",
    }
    assert [(f["trigger"], f["status"], f["run"]) for f in document["firings"]] == [
        ("bump", "fired", str(firing.run))
    ]

    html = served.http.get(f"/events/{signed.id}").text
    assert f'href="/runs/{firing.run}"' in html and served.node.id in html
    assert "a &lt;b&gt;bold&lt;/b&gt; claim" in html and "<b>bold</b>" not in html

    run_page = served.http.get(f"/runs/{firing.run}").text  # what started it
    assert f'href="/events/{signed.id}"' in run_page and "bump" in run_page
    by_caller = served.node.runs.run(served.workflow, {0: [1]})[0]
    assert "a caller (no trigger)" in served.http.get(f"/runs/{by_caller.id}").text


@pytest.mark.parametrize(
    "path,params,status,fragment",
    [
        ("/api/events", {"before": "0"}, 400, "before"),
        ("/api/events", {"page_size": "5000"}, 400, "page_size"),
        ("/api/events", {"key": "x"}, 400, "unknown query parameter 'key'"),
        ("/api/events/not-a-cid", {}, 400, "id"),
        (f"/api/events/{cid_of('no such event')}", {}, 404, "no emitted event"),
        ("/events", {"before": "-3"}, 400, "before"),
        (f"/events/{cid_of('no such event')}", {}, 404, "no emitted event"),
        ("/api/events/updates", {"after": "x"}, 400, "after"),
    ],
)
def test_bad_input_is_refused_with_the_reason(served: Served, path, params, status, fragment) -> None:
    response = served.http.get(path, params=params)
    assert response.status_code == status, response.text
    assert fragment in response.text


def test_a_new_event_arrives_live_and_links_to_its_runs(served: Served, page: Page) -> None:
    earlier = served.node.events.emit("number.ready", {"n": 1})
    page.goto(served.url + "/events")
    expect(page.locator(f"#event-{earlier.id}")).to_be_visible()
    expect(page.locator("table#events")).to_have_attribute("data-live-ready", "yes")

    signed = served.node.events.emit("number.ready", {"n": 10})
    row = page.locator(f"#event-{signed.id}")
    expect(row).to_be_visible()
    assert page.locator("table#events tbody tr").first.get_attribute("id") == f"event-{signed.id}"
    expect(row.locator("code.did")).to_have_text("this node")
    expect(page.locator("#live-status")).to_contain_text("1 new event")

    row.locator("a.cid").first.click()
    expect(page.locator("h1")).to_contain_text("number.ready")
    page.locator("a.run-link").click()
    expect(page.locator("#run-cause")).to_contain_text("bump")
    page.locator("#cause-link").click()
    expect(page).to_have_url(f"{served.url}/events/{signed.id}")
