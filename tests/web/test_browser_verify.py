"""The page and the workflow modules in Debian's headless Chromium (Playwright, as tests/web):
the verify page opened from a file with no server, the page served by the explorer, a
three-segment WASM workflow run with new()/next() whose bundle a node accepts, and a looping
module stopped by the time limit."""

from __future__ import annotations

import base64
import functools
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from catenary.cid.car import car_bytes, read_car

# The fixtures that make bundles and runs with the CLI (tests/browser/conftest.py); this module
# lives here to share the session's one Chromium (a second Playwright would clash with it).
from tests.browser.conftest import (  # noqa: F401
    NONCE,
    ROOT,
    THREE,
    Cli,
    demo_bundle,
    manifest,
    mixed_bundle,
    same_verdicts,
    wasm_cli,
    with_dissent,
)

PAGE = ROOT / "catenary" / "web" / "static" / "verify.html"
LOOP = """(module
  (@custom "catenary.manifest" "{\\"name\\": \\"test/loop\\", \\"description\\": \\"never returns\\", \\"inputs\\": [\\"bytes\\"], \\"output\\": \\"bytes\\", \\"config\\": {}, \\"groups\\": []}")
  (memory (export "memory") 1)
  (func (export "catenary_abi_1"))
  (func (export "catenary_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "catenary_run") (param i32 i32 i32 i32 i32) (result i32)
    (loop $forever (br $forever))
    (i32.const 0)))
"""  # noqa: E501 - the manifest is one WAT string


def verify_in_page(page: Page, path: Path) -> dict[str, Any]:
    page.evaluate("window.catenaryReport = null")
    page.set_input_files("#file", str(path))
    # A function, not an expression: Playwright evals expressions, which the explorer's CSP refuses.
    page.wait_for_function("() => window.catenaryReport != null", timeout=60_000)
    return page.evaluate("window.catenaryReport")


def flip_execution_block(bundle: Path, execution: str, out: Path) -> None:
    car = read_car(bundle.read_bytes())
    blocks = [
        (b.cid, b.data[:-1] + bytes([b.data[-1] ^ 1]) if str(b.cid) == execution else b.data)
        for b in car.blocks
    ]
    out.write_bytes(car_bytes(car.roots, blocks))


def test_the_page_from_a_file_verifies_the_demo_bundle_and_names_a_tampered_execution(
    demo_bundle: Path, page: Page, tmp_path: Path
) -> None:
    cli = Cli(tmp_path / "fresh")
    python = cli.verify_bundle(demo_bundle)
    page.goto(PAGE.as_uri())  # no server at all: file://
    js = verify_in_page(page, demo_bundle)
    assert python["verdict"] == "verified"
    assert js["verdict"] == "checked" and js["problems"] == []  # std/* are Python: not re-run here
    same_verdicts(python, js)
    assert page.locator("#verdict").inner_text() == "checked"
    assert page.locator("#graph g.node").count() == len(js["executions"]) == 7

    # One byte of a middle execution's own record flipped: both verifiers fail, naming it.
    target = sorted(js["executions"], key=lambda e: (e["segment"], e["step"]))[3]["hash"]
    tampered = tmp_path / "tampered.car"
    flip_execution_block(demo_bundle, target, tampered)
    python = cli.verify_bundle(tampered)
    js = verify_in_page(page, tampered)
    assert python["verdict"] == js["verdict"] == "failed"
    same_verdicts(python, js)  # its child's parent is gone: a mismatch on both sides
    assert target in js["implicated"] and target not in {e["hash"] for e in js["executions"]}
    assert any(target in p for p in python["problems"])
    assert page.locator("#verdict").inner_text() == "failed"
    row = page.locator(f'#executions tr.implicated[data-hash="{target}"]')
    assert row.count() == 1 and "failed" in row.inner_text()
    assert page.locator("#problems li").count() == len(js["problems"])


def test_the_page_shows_a_dissent_and_each_standing(mixed_bundle: Path, page: Page, tmp_path: Path) -> None:
    """A valid dissent is named beside the attestations, not a problem; a forged one fails."""
    path = tmp_path / "dissent.car"
    execution, dissent, signer = with_dissent(mixed_bundle, path)
    page.goto(PAGE.as_uri())
    js = verify_in_page(page, path)
    assert js["verdict"] == "checked" and js["problems"] == []
    row = page.locator(f'#executions tr[data-hash="{execution}"]')
    assert "2/2 valid, 1 dissent" in row.inner_text() and "accepted" in row.inner_text()
    votes = js["acceptance"][execution]["votes"]
    assert {"signer": signer, "role": "dissent", "counted": False} in [
        {k: v[k] for k in ("signer", "role", "counted")} for v in votes
    ]
    forged = tmp_path / "forged.car"
    with_dissent(mixed_bundle, forged, forged=True)
    js = verify_in_page(page, forged)
    assert js["verdict"] == "failed" and page.locator("#verdict").inner_text() == "failed"
    assert any("signature does not verify" in p for p in js["problems"])


def test_the_explorer_serves_the_page(mixed_bundle: Path, page: Page, tmp_path: Path, wasm_cli) -> None:
    from catenary.sdk import Node
    from catenary.web import WebServer

    node = Node(tmp_path / "data")
    server = WebServer(node, "127.0.0.1:0").start()
    try:
        page.goto(server.url + "/verify")
        assert page.url.endswith("/static/verify.html")
        js = verify_in_page(page, mixed_bundle)
    finally:
        server.stop()
        node.close()
    same_verdicts(wasm_cli[0].verify_bundle(mixed_bundle), js)
    assert {e["name"]: e["verdict"] for e in js["executions"]}["example/adler32"] == "verified"


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
    }

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """Serve a directory over loopback HTTP (module scripts need http:, not file:)."""
    servers = []

    def start(directory: Path) -> str:
        httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(_Handler, directory=str(directory))
        )
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


RUN_THREE = """async ([nonce, input]) => {
  const w = await import('./workflow.mjs')
  const steps = [w.new(nonce)]
  const bytes = Uint8Array.from(atob(input), (c) => c.charCodeAt(0))
  for (const inputs of [[bytes], [], []]) steps.push(await w.next(inputs))
  const bundle = w.exportBundle()
  let text = ''
  for (const b of bundle) text += String.fromCharCode(b)
  return { steps, bundle: btoa(text) }
}"""


def test_a_wasm_workflow_runs_in_chromium_with_the_hashes_of_a_node(
    wasm_cli, serve, page: Page, tmp_path: Path
) -> None:
    cli, tmp = wasm_cli
    wf = cli.workflow(tmp, THREE)
    cli.run("workflow", "build", wf, "-o", str(tmp_path / "build"))
    page.goto(serve(tmp_path / "build") + "/")
    got = page.evaluate(RUN_THREE, [NONCE, base64.b64encode(b"hello").decode()])
    created, *steps = got["steps"]

    # The same run on the node, with the same nonce.
    run = cli.run("new", wf, "--nonce", NONCE).stdout.strip()
    (tmp_path / "in.bin").write_bytes(b"hello")
    expected = [
        cli.json("next", run, "-i", f"@{tmp_path / 'in.bin'}"),
        cli.json("next", run),
        cli.json("next", run),
    ]
    assert created == {"run": run, "nonce": NONCE}
    for mine, theirs in zip(steps, expected):
        for field in ("run", "segment", "done", "result", "final"):
            assert mine[field] == theirs[field], field
        assert mine["segment_time"] >= 0 and mine["total_time"] >= mine["segment_time"]
    assert steps[-1]["done"] is True and steps[-1]["result"] is False

    bundle = tmp_path / "browser.car"
    bundle.write_bytes(base64.b64decode(got["bundle"]))
    fresh = Cli(tmp_path / "fresh")
    report = fresh.verify_bundle(bundle)
    assert report["verdict"] == "verified", report
    node_bundle = tmp_path / "node.car"
    cli.run("export", expected[-1]["final"], "-o", str(node_bundle))
    assert {e["hash"] for e in report["executions"]} == {
        e["hash"] for e in cli.verify_bundle(node_bundle)["executions"]
    }
    assert "5 executions" in fresh.run("import", str(bundle)).stdout


def test_a_looping_module_is_stopped_and_reported_failed(wasm_cli, serve, page: Page, tmp_path) -> None:
    cli, tmp = wasm_cli
    (tmp_path / "loop.wat").write_text(LOOP)
    cli.run("op", "add", str(tmp_path / "loop.wat"))
    wf = cli.workflow(tmp, manifest("loop", ([-1], ["test/loop"])))
    cli.run("workflow", "build", wf, "-o", str(tmp_path / "build"))
    page.goto(serve(tmp_path / "build") + "/")
    started = time.monotonic()
    outcome = page.evaluate("""async () => {
      globalThis.CATENARY_TIME_LIMIT_MS = 1000
      const w = await import('./workflow.mjs')
      w.new()
      try { await w.next([new Uint8Array([1, 2])]); return { ok: true } }
      catch (e) { return { ok: false, message: e.message, execution: e.execution,
                           status: w.workflow.executions.get(e.execution).status } }
    }""")
    assert time.monotonic() - started < 15
    assert outcome["ok"] is False and outcome["status"] == "failed"
    assert "stopped after the time limit of 1000 ms" in outcome["message"]
    assert outcome["message"].startswith(
        "segment 0 step 0 (test/loop): WasmExecutionError: wasm module bafk2bza"
    )
    assert page.evaluate("1 + 1") == 2  # the tab is not hung
