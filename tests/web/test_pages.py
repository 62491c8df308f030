"""The HTML pages over HTTP (the browser tests drive the same pages through Chromium): what
each shows, the 404 and 400 pages, previews and downloads, and Verify."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from catenary.cid import cid_of
from catenary.model import Status
from catenary.model.filter import ExecutionFilter
from tests.web.conftest import Site, open_site

UNKNOWN = str(cid_of({"not": "recorded here"}))


def page(site: Site, path: str, code: int = 200, **params: object) -> str:
    response = site.get(path, params=params)
    assert response.status_code == code, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"].startswith("default-src 'none'; script-src 'self';")
    return response.text


def text_of(html: str) -> str:
    """The page's text, tags and whitespace runs collapsed (for plain-text assertions)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_runs_page_lists_runs_with_status_and_timing(site: Site) -> None:
    html = page(site, "/")
    assert f"/runs/{site.data.proven_run}" in html and f"/runs/{site.data.failed_run}" in html
    text = text_of(html)
    assert "Proof of camera and lens ownership" in text
    assert "6 / 6" in text and " ms " in text  # segments done, total time
    assert re.search(r'status-failed">failed', html)


def test_execution_page_shows_every_spec_field(site: Site) -> None:
    e = site.node.executions.get(site.data.proven_final)
    html = page(site, f"/executions/{e.hash}")
    fields = re.findall(r"<dt>([a-z_]+)</dt>", html)
    assert fields == [
        "hash",
        "key",
        "workflow",
        "run",
        "segment",
        "step",
        "operation",
        "config",
        "parents",
        "inputs",
        "status",
        "output",
        "error",
        "executor",
        "disputed",
        "cached_from",
        "created_at",
        "started_at",
        "finished_at",
        "duration",
        "seq",
    ]
    for cid in (e.hash, e.key, e.workflow, e.run, e.operation, *e.parents, *e.inputs, e.output):
        assert str(cid) in html
    assert str(e.created_at) in html and e.executor in html
    # Parents are links to their executions; the output previewed (a string).
    for parent in e.parents:
        assert f'href="/executions/{parent}"' in html
    assert "L35-99812" in text_of(html)


def test_image_input_is_a_thumbnail_and_event_parent_lists_inputs(site: Site) -> None:
    e = site.node.executions.get(site.data.photo_execution)
    html = page(site, f"/executions/{e.hash}")
    assert f'<img class="thumb" src="/api/values/{e.inputs[0]}/raw"' in html
    assert "image/jpeg image" in html  # its alt text
    assert "event · segment 0" in text_of(html)
    # Its children (the executions that took its output) are listed as links.
    children = list(site.node.executions.iterate(ExecutionFilter(parent=e.hash)))
    assert len(children) >= 2
    for child in children:
        assert f'href="/executions/{child.hash}"' in html


def test_json_and_hex_previews(site: Site) -> None:
    e = site.node.executions.get(site.data.photo_execution)
    html = page(site, f"/executions/{e.hash}")
    assert "BodySerialNumber" in html and "preview-json" in html  # the EXIF map as JSON
    value_page = page(site, f"/values/{e.inputs[0]}")
    assert "Download the DAG-CBOR block" in value_page
    other = site.node.values.put(b"\x00\x01binary\xff" * 3)
    hexed = page(site, f"/values/{other}")
    assert "preview-hex" in hexed and "00 01 62 69 6e 61 72 79" in hexed


def test_value_too_big_to_preview_gets_a_download_link(tmp_path: Path) -> None:
    site = open_site(tmp_path, preview_limit=1024)
    try:
        big = site.node.values.put("x" * 5000)
        html = page(site, f"/values/{big}")
        assert "Too big to preview" in html and "<pre" not in html
        assert f'href="/api/values/{big}/raw" download' in html
        assert site.get(f"/api/values/{big}/raw").text == "x" * 5000
        # The photo (1.7 kB) is over this limit too: a link, no thumbnail.
        photo = site.node.executions.get(site.data.photo_execution)
        execution_page = page(site, f"/executions/{photo.hash}")
        assert "Too big to preview" in execution_page and 'class="thumb"' not in execution_page
    finally:
        site.close()


@pytest.mark.parametrize(
    "path,what",
    [
        (f"/executions/{UNKNOWN}", "unknown execution"),
        (f"/executions/{UNKNOWN}/trace", "unknown execution"),
        (f"/runs/{UNKNOWN}", "unknown run"),
        (f"/workflows/{UNKNOWN}", "unknown workflow"),
        (f"/values/{UNKNOWN}", "no value"),
    ],
)
def test_unknown_hash_or_cid_is_a_404_page(site: Site, path: str, what: str) -> None:
    html = page(site, path, 404)
    assert "404" in html and what in html and UNKNOWN in html
    assert 'role="alert"' in html


def test_unknown_page_is_404(site: Site) -> None:
    assert "there is no page at /nowhere" in page(site, "/nowhere", 404)


@pytest.mark.parametrize(
    "params,reason",
    [
        ({"status": "finished"}, "status: &#39;finished&#39; is not one of"),
        ({"run": "nope"}, "run: not a CID"),
        ({"segment": "x"}, "segment: &#39;x&#39; is not an integer"),
        ({"colour": "red"}, "unknown query parameter &#39;colour&#39;"),
    ],
)
def test_malformed_filter_is_a_400_page_with_the_reason(site: Site, params, reason: str) -> None:
    html = page(site, "/executions", 400, **params)
    assert reason in html


def test_empty_form_fields_mean_no_filter(site: Site) -> None:
    html = page(site, "/executions", status="", workflow="", operation="", run="", segment="")
    assert "No execution matches" not in html


def test_list_filters_and_pages(site: Site) -> None:
    failed = page(site, "/executions", status="failed")
    assert str(site.data.failed_execution) in failed
    assert failed.count('id="row-') == 1
    first = page(site, "/executions", page_size=5)
    assert first.count('id="row-') == 5
    next_url = re.search(r'href="(/executions\?[^"]*page_token=[^"]+)"', first).group(1)
    second = site.get(next_url.replace("&amp;", "&")).text
    rows_first = set(re.findall(r'id="row-([a-z0-9]+)"', first))
    rows_second = set(re.findall(r'id="row-([a-z0-9]+)"', second))
    assert len(rows_second) == 5 and not rows_first & rows_second
    assert "« First page" in second


def test_trace_and_workflow_pages(site: Site) -> None:
    trace = page(site, f"/executions/{site.data.proven_final}/trace")
    assert 'id="trace-data"' in trace and "(this execution)" in trace and "(join)" in trace
    down = page(site, f"/executions/{site.data.photo_execution}/trace", direction="descendants")
    assert "Impact of" in down
    workflow = page(site, f"/workflows/{site.data.camera}")
    assert 'id="workflow-graph"' in workflow and "std/exif" in workflow
    assert "segment 2, segment 0" in text_of(workflow)  # segment 3 takes [2, 0]


def test_run_page(site: Site) -> None:
    html = page(site, f"/runs/{site.data.failed_run}")
    state = site.node.runs.get(site.data.failed_run)
    assert "failed" in html and state.error and state.error.split(":")[0] in html
    assert str(site.data.failed_execution) in html


def test_verify_re_executes_and_shows_verified(fresh_site: Site) -> None:
    site = fresh_site
    # A cache hit: no executor attestation, so verifying adds this node's validator one.
    h = next(
        e.hash
        for e in site.node.executions.iterate(ExecutionFilter(workflow=site.data.camera))
        if e.cached_from is not None
    )
    before = len(site.node.attestations.list(h))
    assert "No attestation has been recorded" in page(site, f"/executions/{h}")
    response = site.http.post(f"/executions/{h}/verify")
    assert response.status_code == 200
    assert re.search(r'class="verdict verdict-verified"[^>]*>\s*<strong>verified</strong>', response.text)
    # The sdk added this node's attestation, and the page lists it as valid.
    assert len(site.node.attestations.list(h)) == before + 1
    assert 'status-completed">valid' in response.text and "validator" in response.text
    assert "This node added its signed attestation" in response.text


def test_verify_refuses_cross_origin_and_unknown(fresh_site: Site) -> None:
    site = fresh_site
    h = site.data.proven_final
    before = site.node.attestations.list(h)
    response = site.http.post(f"/executions/{h}/verify", headers={"Origin": "http://evil.example"})
    assert response.status_code == 400 and "cross-origin" in response.text
    assert site.node.attestations.list(h) == before
    assert site.http.post(f"/executions/{UNKNOWN}/verify").status_code == 404
    assert site.http.get(f"/executions/{h}/verify").status_code == 405


def test_failed_execution_cannot_be_verified(site: Site) -> None:
    e = site.node.executions.get(site.data.failed_execution)
    assert e.status is Status.FAILED
    html = page(site, f"/executions/{e.hash}")
    assert re.search(r'id="verify"\s+disabled', html) and "only a completed execution" in html


def test_without_the_vendored_graph_library_the_tables_remain(
    site: Site, monkeypatch, tmp_path: Path
) -> None:
    import catenary.web.app as app

    monkeypatch.setattr(app, "VENDOR", tmp_path / "no-vendor")
    html = page(site, f"/executions/{site.data.proven_final}/trace")
    assert "graph library is not installed" in html and "cytoscape" not in html
    assert 'id="trace-nodes"' in html


def test_a_foreign_host_is_refused_and_every_response_carries_the_csp(site: Site) -> None:
    """DNS rebinding: a page on evil.example resolved to 127.0.0.1 still sends its own Host."""
    for path in ("/", "/api/executions", "/static/style.css"):
        refused = site.get(path, headers={"Host": "evil.example:8080"})
        assert refused.status_code == 400 and "evil.example" in refused.text
        assert "--http-host" in refused.text
        served = site.get(path, headers={"Host": "localhost"})
        assert served.status_code == 200
        assert "script-src 'self';" in served.headers["content-security-policy"]
        assert "unsafe-inline" not in served.headers["content-security-policy"]
        assert served.headers["x-content-type-options"] == "nosniff"
    # Only the bundle verifier may start Blob-URL workers and compile WASM.
    verifier = site.get("/static/verify.html").headers["content-security-policy"]
    assert "worker-src blob:" in verifier and "'wasm-unsafe-eval'" in verifier
    assert "worker-src" not in site.get("/").headers["content-security-policy"]


def test_allowed_hosts_default_to_the_listen_host_and_loopback() -> None:
    from catenary.web.security import allowed_hosts, bare_host

    assert allowed_hosts("127.0.0.1") == {"127.0.0.1", "localhost", "::1"}
    assert allowed_hosts("0.0.0.0", ["Explorer.Example:443", "[::1]"]) == {"explorer.example", "::1"}
    assert [bare_host(h) for h in ("[::1]:8080", "localhost:80", "::1", "a.b")] == [
        "::1",
        "localhost",
        "::1",
        "a.b",
    ]


def test_execution_page_shows_its_acceptance(site: Site) -> None:
    e = site.node.executions.get(site.data.proven_final)
    html = page(site, f"/executions/{e.hash}")
    standing = site.node.acceptance.get(e.hash)
    shown = text_of(html)
    assert f"{standing.status.value} under {standing.rule}" in shown
    for vote in standing.votes:
        assert vote.signer in html and str(vote.output) in html
