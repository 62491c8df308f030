"""Issue 8's end-to-end example as a user runs it: a workflow mixing std/* and the WASM examples
runs on data dir A, is exported, and verifies and imports on a fresh data dir B that has no
module and no --ops, every WASM execution re-executed from the bundle's own module bytes."""

from __future__ import annotations

import json
import zlib

import pytest

from catenary.cid import CID
from catenary.cid.car import car_bytes, read_car
from tests.helpers import allow_anonymous
from tests.operations.test_wasm import EXAMPLES
from tests.trust.test_cli_trust import cli
from tests.trust.test_interop_js import TOOLS, _require_tools
from tests.trust.test_wasm_bundle import MIXED, WASM_NAMES


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("wasm-bundle")
    a = base / "a"
    modules = {}
    for name in ("reverse", "adler32", "has-key"):
        doc = json.loads(cli(a, "op", "add", str(EXAMPLES / f"{name}.wat"), "--json", ops=False).stdout)
        modules[doc["name"]] = doc["implementation"]["module"]
    flow = base / "mixed.json"
    flow.write_text(json.dumps(MIXED))
    wf = json.loads(cli(a, "workflow", "create", str(flow), "--json", ops=False).stdout)["id"]
    run = json.loads(cli(a, "run", wf, "-i", "0=text:hello", "-i", '1={"a": 1}', "--json", ops=False).stdout)
    assert run["result"] == zlib.adler32(b"olleh")
    car = base / "mixed.car"
    cli(a, "export", run["final"], "-o", str(car), ops=False)
    return {"base": base, "wf": wf, "final": run["final"], "car": car, "modules": modules}


def test_verify_bundle_and_import_on_a_fresh_data_dir(mixed) -> None:
    b = mixed["base"] / "b"
    report = json.loads(cli(b, "verify-bundle", str(mixed["car"]), "--json", ops=False).stdout)
    assert report["verdict"] == "verified" and report["problems"] == []
    assert {e["name"] for e in report["executions"]} == WASM_NAMES | {"std/utf8-encode", "std/if"}
    assert all(e["verdict"] == "verified" and e["attestations"][0]["valid"] for e in report["executions"])
    human = cli(b, "verify-bundle", str(mixed["car"]), ops=False).stdout
    assert "example/has-key" in human and "verdict  verified (5 verified)" in human

    cli(b, "import", str(mixed["car"]), ops=False)
    ops = {o["name"]: o for o in json.loads(cli(b, "op", "list", "--json", ops=False).stdout)["operations"]}
    for name, module in mixed["modules"].items():
        assert ops[name]["available"] is True and ops[name]["implementation"]["module"] == module
    doc = json.loads(cli(b, "verify", mixed["final"], "--trace", "--json", ops=False).stdout)
    assert doc["verdict"] == "verified" and len(doc["attested"]) == 5  # B's validator attestations
    # B runs the imported WASM operations on new inputs.
    run = json.loads(
        cli(b, "run", mixed["wf"], "-i", "0=text:wasm", "-i", '1={"a": 2}', "--json", ops=False).stdout
    )
    assert run["result"] == zlib.adler32(b"msaw")


def test_a_tampered_module_block_is_caught_and_named(mixed) -> None:
    c = mixed["base"] / "c"
    car = read_car(mixed["car"].read_bytes())
    target = CID.parse(mixed["modules"]["example/adler32"])
    blocks = [
        (b.cid, b.data[:-1] + bytes([b.data[-1] ^ 0x80]) if b.cid == target else b.data) for b in car.blocks
    ]
    bad = mixed["base"] / "tampered.car"
    bad.write_bytes(car_bytes(car.roots, blocks))
    out = cli(c, "verify-bundle", str(bad), "--json", code=1, ops=False)
    doc = json.loads(out.stdout)
    assert doc["verdict"] == "failed"
    assert any(p.startswith(f"block {target} (section") and "not to its CID" in p for p in doc["problems"])
    assert any(f"missing block {target} (wasm module of example/adler32" in p for p in doc["problems"])
    assert [e["verdict"] for e in doc["executions"] if e["name"] == "example/adler32"] == ["unverifiable"]
    assert "bundle does not verify" in out.stderr
    cli(c, "import", str(bad), code=1, ops=False)
    assert json.loads(cli(c, "exec", "list", "--json", ops=False).stdout)["executions"] == []
    listed = json.loads(cli(c, "op", "list", "--json", ops=False).stdout)["operations"]
    assert not any(o["name"] in WASM_NAMES for o in listed)


def test_javascript_ipld_reads_the_wasm_bundle(mixed) -> None:
    """The raw module blocks are plain IPLD too: the JS reader checks their CIDs and walks to them."""
    import subprocess
    from pathlib import Path

    node = _require_tools()
    proc = subprocess.run(
        [node, str(Path(__file__).parent / "read_car.mjs"), str(TOOLS), str(mixed["car"])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["bad_cids"] == [] and seen["missing"] == []
    assert (
        seen["reached"] == seen["blocks"] == len({b.cid for b in read_car(mixed["car"].read_bytes()).blocks})
    )
    assert seen["raw_blocks"] == 3 and seen["executions"] == 5


def test_a_running_node_verifies_wasm_executions_imported_after_it_started(mixed) -> None:
    """`catenary serve` loaded no module when it started; `verify --node` after a local
    import still re-executes the WASM executions, from the modules the import stored."""
    import os
    import signal
    import subprocess
    import sys

    d = allow_anonymous(mixed["base"] / "d")  # `verify --node` below passes no --key
    proc = subprocess.Popen(
        [sys.executable, "-m", "catenary", "serve", "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CATENARY_HOME": str(d)},
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on "), proc.stderr.read()
        cli(d, "import", str(mixed["car"]), ops=False)
        doc = json.loads(
            cli(
                d, "--node", line.split()[-1], "verify", mixed["final"], "--trace", "--json", ops=False
            ).stdout
        )
        assert doc["verdict"] == "verified" and len(doc["attested"]) == 5
        assert {e["name"] for e in doc["executions"]} >= WASM_NAMES
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
