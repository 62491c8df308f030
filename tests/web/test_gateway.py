"""The JSON gateway on a real loopback server: the CLI's --json documents, filters, keyset
pages, bad input (400 with the reason, 404 for what is unknown), values, live updates."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from catenary.cid import CID, cid_of
from catenary.cli.main import cli
from catenary.model import Status
from catenary.model.filter import ExecutionFilter
from tests.helpers import EXECUTION_FIELDS
from tests.web.conftest import TEST_OPS, Site

UNKNOWN = str(cid_of({"not": "recorded here"}))


def cli_json(site: Site, *args: str) -> Any:
    """The CLI's --json document for the same data dir (in-process, a second Node on it)."""
    result = CliRunner().invoke(
        cli,
        ["--data-dir", str(site.node.data_dir), "--ops", TEST_OPS, *args, "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def ok(site: Site, path: str, **params: Any) -> Any:
    response = site.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def refused(site: Site, path: str, code: int, *fragments: str, params: dict[str, Any] | None = None) -> str:
    response = site.get(path, params=params or {})
    assert response.status_code == code, response.text
    body = response.json()
    assert set(body) == {"error", "status"} and body["status"] == code
    for fragment in fragments:
        assert fragment in body["error"], body["error"]
    return body["error"]


# the same documents as the CLI -------------------------------------------------------------
def test_execution_is_the_cli_document_with_exactly_the_spec_fields(site: Site) -> None:
    h = str(site.data.proven_final)
    document = ok(site, f"/api/executions/{h}")
    assert list(document) == [*EXECUTION_FIELDS, "disputed", "acceptance"] and document["disputed"] is None
    assert document == cli_json(site, "exec", "get", h)
    assert CID.parse(document["hash"]) == site.data.proven_final


def test_list_page_is_the_cli_document(site: Site) -> None:
    run = str(site.data.proven_run)
    assert ok(site, "/api/executions", run=run, page_size=4) == cli_json(
        site, "exec", "list", "--run", run, "--limit", "4"
    )


def test_trace_run_workflow_and_value_are_the_cli_documents(site: Site) -> None:
    h = str(site.data.proven_final)
    trace = ok(site, f"/api/executions/{h}/trace")
    assert trace == cli_json(site, "exec", "trace", h)
    assert {n["kind"] for n in trace["nodes"]} == {"execution", "event"}
    run = str(site.data.proven_run)
    assert ok(site, f"/api/runs/{run}") == cli_json(site, "runs", "get", run)
    wf = str(site.data.camera)
    assert ok(site, f"/api/workflows/{wf}") == cli_json(site, "workflow", "show", wf)
    output = trace["nodes"][0]["output"]
    assert ok(site, f"/api/values/{output}") == cli_json(site, "value", "get", output)
    assert ok(site, "/api/runs", limit=3) == cli_json(site, "runs", "list", "--limit", "3")
    assert ok(site, "/api/operations") == cli_json(site, "op", "list")


def test_descendants_trace(site: Site) -> None:
    h = str(site.data.photo_execution)
    down = ok(site, f"/api/executions/{h}/trace", direction="descendants")
    hashes = {n["hash"] for n in down["nodes"]}
    assert str(site.data.proven_final) in hashes and h == down["root"]
    assert all(n["kind"] == "execution" for n in down["nodes"])
    one_hop = ok(site, f"/api/executions/{h}/trace", direction="descendants", depth=1)
    assert len(one_hop["nodes"]) < len(down["nodes"])


# filters and pages ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params,flt",
    [
        ({"status": "failed"}, lambda d: ExecutionFilter(statuses=(Status.FAILED,))),
        (
            {"status": ["failed", "completed"]},
            lambda d: ExecutionFilter(statuses=(Status.FAILED, Status.COMPLETED)),
        ),
        ({"workflow": "camera"}, lambda d: ExecutionFilter(workflow=d.camera)),
        ({"run": "proven_run", "segment": "3"}, lambda d: ExecutionFilter(run=d.proven_run, segment=3)),
        ({"parent": "photo_execution"}, lambda d: ExecutionFilter(parent=d.photo_execution)),
    ],
)
def test_filters_match_the_sdk(site: Site, params: dict[str, Any], flt) -> None:
    data = site.data
    query = {
        k: (str(getattr(data, v)) if isinstance(v, str) and hasattr(data, v) else v)
        for k, v in params.items()
    }
    expected = [str(e.hash) for e in site.node.executions.iterate(flt(data))]
    got = [e["hash"] for e in ok(site, "/api/executions", **query)["executions"]]
    assert got == expected and got


def test_find_by_value_filters_match_the_sdk(site: Site) -> None:
    exif = site.node.executions.get(site.data.photo_execution).output
    assert exif is not None
    for name in ("input", "output"):
        expected = [str(e.hash) for e in site.node.executions.iterate(ExecutionFilter(**{name: exif}))]
        got = [e["hash"] for e in ok(site, "/api/executions", **{name: str(exif)})["executions"]]
        assert got == expected and got, name
    refused(site, "/api/executions", 400, "output", "not a CID", params={"output": "exif"})


def test_operation_filter_is_the_version_id(site: Site) -> None:
    boom = site.node.operations.resolve_name("test/boom")
    got = ok(site, "/api/executions", operation=str(boom))["executions"]
    assert [e["hash"] for e in got] == [str(site.data.failed_execution)]


def test_keyset_pages_walk_every_execution_once(site: Site) -> None:
    everything = [str(e.hash) for e in site.node.executions.iterate()]
    seen: list[str] = []
    token = None
    while True:
        page = ok(site, "/api/executions", page_size=7, **({"page_token": token} if token else {}))
        seen += [e["hash"] for e in page["executions"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert seen == everything and len(everything) > 14


# bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params,fragments",
    [
        ({"status": "done"}, ["status", "'done'", "created, in_progress, completed, failed"]),
        ({"run": "xyz"}, ["run", "not a CID"]),
        ({"workflow": "bafy"}, ["workflow"]),
        ({"segment": "-1"}, ["segment", "at least 0"]),
        ({"segment": "one"}, ["segment", "not an integer"]),
        ({"page_size": "0"}, ["page_size", "between 1 and 1000"]),
        ({"page_size": "5000"}, ["page_size"]),
        ({"page_token": "garbage!"}, ["invalid page token"]),
        ({"staus": "failed"}, ["unknown query parameter 'staus'"]),
        ({"run": ["a", "b"]}, ["'run' is given 2 times"]),
    ],
)
def test_malformed_filter_is_400_with_the_reason(
    site: Site, params: dict[str, Any], fragments: list[str]
) -> None:
    refused(site, "/api/executions", 400, *fragments, params=params)


def test_page_token_of_another_filter_is_refused(site: Site) -> None:
    token = ok(site, "/api/executions", page_size=2)["next_page_token"]
    refused(
        site,
        "/api/executions",
        400,
        "different filter",
        params={"page_size": 2, "page_token": token, "status": "completed"},
    )


@pytest.mark.parametrize(
    "path",
    [
        f"/api/executions/{UNKNOWN}",
        f"/api/executions/{UNKNOWN}/trace",
        f"/api/runs/{UNKNOWN}",
        f"/api/workflows/{UNKNOWN}",
        f"/api/values/{UNKNOWN}",
        f"/api/values/{UNKNOWN}/raw",
        f"/api/values/{UNKNOWN}/block",
    ],
)
def test_unknown_id_is_404_naming_it(site: Site, path: str) -> None:
    refused(site, path, 404, UNKNOWN)


@pytest.mark.parametrize("path", ["/api/executions/not-a-cid", "/api/runs/b%21%21", "/api/values/Qm123"])
def test_malformed_id_is_400(site: Site, path: str) -> None:
    refused(site, path, 400, "not a CID")


def test_trace_direction_and_unknown_route(site: Site) -> None:
    refused(
        site,
        f"/api/executions/{site.data.proven_final}/trace",
        400,
        "direction",
        "sideways",
        params={"direction": "sideways"},
    )
    refused(site, "/api/nothing-here", 404, "/api/nothing-here")
    response = site.http.post("/api/executions")
    assert response.status_code == 405 and response.json()["status"] == 405


def test_refused_requests_change_nothing(site: Site) -> None:
    before = site.node.executions.latest_seq()
    for params in ({"status": "x"}, {"page_token": "y"}):
        site.get("/api/executions", params=params)
    site.http.post(f"/executions/{UNKNOWN}/verify")
    assert site.node.executions.latest_seq() == before


# values ---------------------------------------------------------------------------------------
def test_image_value_raw_and_block(site: Site) -> None:
    photo = site.node.executions.get(site.data.photo_execution).inputs[0]
    raw = site.get(f"/api/values/{photo}/raw")
    assert raw.status_code == 200 and raw.headers["content-type"] == "image/jpeg"
    assert raw.headers["x-content-type-options"] == "nosniff"
    assert raw.content.startswith(b"\xff\xd8\xff")
    block = site.get(f"/api/values/{photo}/block")
    assert block.headers["content-type"] == "application/vnd.ipld.dag-cbor"
    assert "attachment" in block.headers["content-disposition"]
    # The block is what the CID names: blake2b-256 of the bytes is the CID's digest.
    assert hashlib.blake2b(block.content, digest_size=32).digest() == CID.parse(str(photo)).cid_bytes[-32:]


def test_string_value_raw_is_text(site: Site) -> None:
    final = site.node.executions.get(site.data.proven_final)
    raw = site.get(f"/api/values/{final.output}/raw")
    assert raw.headers["content-type"] == "text/plain; charset=utf-8"
    assert raw.text == "L35-99812"


# live updates ----------------------------------------------------------------------------------
def read_events(lines: Iterator[str], count: int) -> list[dict[str, Any]]:
    """The next ``count`` SSE events (id, event, data) from a stream's lines."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for line in lines:
        if line == "":
            if "data" in current:
                events.append(current)
                if len(events) == count:
                    return events
            current = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            current[field] = value.lstrip(" ")
    raise AssertionError(f"stream ended after {len(events)} of {count} events")


def test_updates_replay_then_resume_after_last_event_id(fresh_site: Site) -> None:
    site = fresh_site
    stored = sorted(site.node.executions.iterate(), key=lambda e: e.seq)
    with site.http.stream("GET", "/api/executions/updates", params={"since_seq": 0}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        first = read_events(response.iter_lines(), 5)
    assert [int(e["id"]) for e in first] == [e.seq for e in stored[:5]]
    assert all(e["event"] == "execution" for e in first)
    assert json.loads(first[0]["data"])["hash"] == str(stored[0].hash)
    # A reconnecting EventSource sends the last id it saw: the stream resumes right after it.
    with site.http.stream(
        "GET", "/api/executions/updates", params={"since_seq": 0}, headers={"Last-Event-ID": first[-1]["id"]}
    ) as response:
        following = read_events(response.iter_lines(), 3)
    assert [int(e["id"]) for e in following] == [e.seq for e in stored[5:8]]


def test_updates_stream_live_changes_matching_the_filter(fresh_site: Site) -> None:
    site = fresh_site
    counter = site.data.counter
    with site.http.stream("GET", "/api/executions/updates", params={"workflow": str(counter)}) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("retry:")  # subscribed: sent before anything happens
        state, _ = site.node.runs.run(counter, {0: [1000]})
        events = read_events(lines, 2)
    documents = [json.loads(e["data"]) for e in events]
    assert [d["run"] for d in documents] == [str(state.id)] * 2
    assert [(d["segment"], d["step"]) for d in documents] == [(0, 0), (0, 1)]


@pytest.mark.parametrize(
    "headers,params,fragment",
    [
        ({"Last-Event-ID": "abc"}, {}, "Last-Event-ID"),
        ({}, {"since_seq": "-3"}, "since_seq"),
        ({}, {"status": "nope"}, "status"),
    ],
)
def test_updates_bad_input_is_400(site: Site, headers, params, fragment) -> None:
    response = site.get("/api/executions/updates", headers=headers, params=params)
    assert response.status_code == 400 and fragment in response.json()["error"]
