"""The JavaScript library in Node.js against the repository's golden vectors and against
bundles the Python engine makes, byte-flipped copies included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from catenary.cid.car import car_bytes, read_car
from tests.browser.conftest import ROOT, Cli, node_js, same_verdicts, with_dissent

VECTORS = ROOT / "tests" / "cid" / "golden_vectors.json"


def test_golden_vectors() -> None:
    vectors = json.loads(VECTORS.read_text())["vectors"]
    seen = node_js("golden", str(VECTORS))
    assert len(seen) == len(vectors) == 61
    for vector, js in zip(vectors, seen):
        assert js["cid"] == vector["cid"], vector["name"]  # BLAKE2b and the CID, in JS
        assert js["reencoded"] == vector["bytes"], vector["name"]  # canonical DAG-CBOR, in JS


def test_a_python_bundle_gets_the_verdicts_of_verify_bundle(wasm_cli, mixed_bundle: Path) -> None:
    cli, _ = wasm_cli
    python = cli.verify_bundle(mixed_bundle)
    (js,) = node_js("verify", str(mixed_bundle))
    assert python["verdict"] == "verified" and python["problems"] == [] == js["problems"]
    same_verdicts(python, js)
    # WASM executions were re-executed from the bundle's modules; std ones only checked.
    by_name = {e["name"]: e["verdict"] for e in js["executions"]}
    assert by_name == {
        "std/utf8-encode": "not-re-executed",
        "example/reverse": "verified",
        "example/adler32": "verified",
        "example/has-key": "verified",
        "std/if": "not-re-executed",
    }
    assert js["verdict"] == "checked"
    assert all(a["valid"] for e in js["executions"] for a in e["attestations"])


def test_flipped_bytes_fail_in_javascript_as_in_python(wasm_cli, mixed_bundle: Path, tmp_path) -> None:
    """A byte flipped anywhere: whenever Python refuses the copy, JavaScript does too."""
    cli, _ = wasm_cli
    data = mixed_bundle.read_bytes()
    positions = list(range(0, len(data), max(1, len(data) // 40)))
    files = []
    for position in positions:
        copy = bytearray(data)
        copy[position] ^= 0x01
        path = tmp_path / f"flip-{position}.car"
        path.write_bytes(bytes(copy))
        files.append(path)
    reports = node_js("verify", *map(str, files))
    for path, js in zip(files, reports):
        proc = cli.run("verify-bundle", str(path), "--json", check=False)
        if proc.returncode == 2:
            assert js["verdict"] in ("unreadable", "failed"), path.name
            continue
        python = json.loads(proc.stdout)
        assert python["verdict"] == "failed", path.name
        assert js["verdict"] == "failed", (path.name, js["verdict"])


def test_a_flipped_output_names_its_execution(wasm_cli, mixed_bundle, tmp_path) -> None:
    """One byte flipped in the block of example/reverse's output: both verifiers fail the
    bundle and name that execution."""
    cli, _ = wasm_cli
    car = read_car(mixed_bundle.read_bytes())
    (js,) = node_js("verify", str(mixed_bundle))
    reverse = next(e for e in js["executions"] if e["name"] == "example/reverse")
    blocks = [
        (b.cid, b.data[:-1] + bytes([b.data[-1] ^ 1]) if str(b.cid) == reverse["expected"] else b.data)
        for b in car.blocks
    ]
    path = tmp_path / "flipped-output.car"
    path.write_bytes(car_bytes(car.roots, blocks))
    python = cli.verify_bundle(path)
    (js,) = node_js("verify", str(path))
    assert python["verdict"] == js["verdict"] == "failed"
    same_verdicts(python, js)  # adler32, whose input is gone, is unverifiable on both sides
    assert js["implicated"] == [reverse["hash"]]
    assert any(reverse["hash"] in p for p in python["problems"])


def test_a_statement_in_the_bundle_is_checked_in_javascript(wasm_cli, mixed_bundle, tmp_path) -> None:
    """A statement made with the CLI travels in the exported bundle: JavaScript reads it, checks
    its DSSE signature, and gives verify-bundle's verdicts; with one byte of its signature
    flipped (the block re-encoded, so every CID still holds), both sides refuse it."""
    from catenary.cid import block, decode, encode

    cli, tmp = wasm_cli
    final = str(read_car(mixed_bundle.read_bytes()).roots[0])
    made = cli.json(
        "statement",
        "create",
        "--proof",
        final,
        "--claim",
        '{"a": 1}',
        "--key",
        str(cli.home / "node_key.pem"),
    )
    path = tmp_path / "stated.car"
    cli.run("export", final, "-o", str(path))
    python = cli.verify_bundle(path)
    (js,) = node_js("verify", str(path))
    assert python["verdict"] == "verified" and python["problems"] == [] == js["problems"]
    same_verdicts(python, js)
    assert js["verdict"] == "checked"
    assert js["statements"] == [
        {"id": made["id"], "signer": made["claimant"], "valid": True, "reason": "signature verifies"}
    ]

    car = read_car(path.read_bytes())
    root, index_cid = car.roots
    data = {str(b.cid): b.data for b in car.blocks}
    envelope = decode(data[made["id"]])
    sig = bytearray(envelope["signatures"][0]["sig"])
    sig[10] ^= 0x01
    envelope["signatures"][0]["sig"] = bytes(sig)
    bad_cid, bad_data = block(envelope)
    index = decode(data[str(index_cid)])
    index["statements"] = [bad_cid]
    new_index, index_data = block(index)
    blocks = [(b.cid, b.data) for b in car.blocks if str(b.cid) not in (made["id"], str(index_cid))]
    bad = tmp_path / "forged.car"
    bad.write_bytes(car_bytes([root, new_index], [*blocks, (bad_cid, bad_data), (new_index, encode(index))]))
    assert encode(index) == index_data
    python = cli.run("verify-bundle", str(bad), "--json", check=False)
    assert python.returncode == 1
    failed = json.loads(python.stdout)
    assert failed["verdict"] == "failed"
    refused = cli.run("statement", "verify", str(bad), "--json", check=False)
    assert refused.returncode == 1
    (checked,) = json.loads(refused.stdout)["statements"]
    assert (checked["id"], checked["verdict"], checked["refused"]) == (str(bad_cid), "refused", "signature")
    (js,) = node_js("verify", str(bad))
    assert js["verdict"] == "failed"
    assert js["statements"][0]["valid"] is False
    assert any(str(bad_cid) in p and "signature" in p for p in js["problems"])
    # One problem naming the statement on both sides (Python's reason adds the signer).
    assert [p.split(":")[0] for p in js["problems"]] == [p.split(":")[0] for p in failed["problems"]]


def test_a_triggered_run_whose_event_has_a_cause_verifies_in_javascript(tmp_path) -> None:
    """A run started by a trigger: its input event links the emitted event (`cause`)."""
    from tests.browser.conftest import Cli, manifest

    cli = Cli(tmp_path / "home")
    wf = cli.workflow(tmp_path, manifest("caused", ([-1], ["std/utf8-encode"])))
    trigger = {"name": "go", "on": "text.ready", "workflow": wf, "inputs": ["$.text"]}
    cli.json("trigger", "create", json.dumps(trigger))
    cli.json("event", "emit", "text.ready", "--data", '{"text": "hello"}')
    (firing,) = cli.json("trigger", "history", "go")["firings"]
    final = cli.json("runs", "get", firing["run"])["outputs"][0]["producer"]
    path = tmp_path / "caused.car"
    cli.run("export", final, "-o", str(path))
    from catenary.cid import decode

    values = [decode(b.data) for b in read_car(path.read_bytes()).blocks]
    assert any(isinstance(v, dict) and set(v) == {"run", "segment", "inputs", "cause"} for v in values)
    python = cli.verify_bundle(path)
    (js,) = node_js("verify", str(path))
    assert python["verdict"] == "verified" and python["problems"] == [] == js["problems"]
    same_verdicts(python, js)
    assert js["verdict"] == "checked" and len(js["events"]) == 1


def test_memory_is_capped_as_wasmtime_caps_it(tmp_path) -> None:
    """memory.grow past 256 MiB is refused (-1), so the module's trap is reported with the note."""
    import wasmtime

    wat = """(module (memory (export "memory") 1)
      (func (export "catenary_abi_1"))
      (func (export "catenary_alloc") (param i32) (result i32) (i32.const 1024))
      (func (export "catenary_run") (param i32 i32 i32 i32 i32) (result i32)
        (loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
        unreachable))"""
    path = tmp_path / "grow.wasm"
    path.write_bytes(wasmtime.wat2wasm(wat))
    result = node_js("memory", str(path))
    assert result["error"].startswith("trap: ")
    assert "memory is at the cap of 268435456 bytes, so a memory.grow was refused" in result["error"]


def test_the_shipped_bundles_are_built_from_js_src(tmp_path) -> None:
    """catenary/web/static/catenary-browser.{js,mjs} are what `make js` builds from js/src."""
    import subprocess

    proc = subprocess.run(
        ["node", str(ROOT / "js" / "build.mjs"), str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("catenary-browser.js", "catenary-browser.mjs"):
        assert (tmp_path / name).read_bytes() == (ROOT / "catenary" / "web" / "static" / name).read_bytes(), (
            f"{name} is stale: run `make js` and commit it"
        )


def test_a_bad_nonce_is_refused_and_nothing_is_created(wasm_cli) -> None:
    cli, tmp = wasm_cli
    from tests.browser.conftest import THREE

    wf = cli.workflow(tmp, THREE)
    before = cli.json("runs", "list")
    for bad, why in (("zz", "expected 32 hex digits"), ("0011", "got 2 bytes")):
        proc = cli.run("new", wf, "--nonce", bad, check=False)
        assert proc.returncode == 2 and why in proc.stderr, proc.stderr
    assert cli.json("runs", "list") == before


def _same_acceptance(python: dict[str, Any], js: dict[str, Any]) -> None:
    """Equal standings, but where the browser could not re-execute a Python operation: its vote
    (the verifier's own, `self` under the policy) is then missing from the browser's votes."""
    verdicts = {e["hash"]: e["verdict"] for e in js["executions"]}
    assert set(python["acceptance"]) == set(js["acceptance"])
    for hash_, standing in python["acceptance"].items():
        if verdicts[hash_] != "not-re-executed":
            assert js["acceptance"][hash_] == standing, hash_
        else:
            mine = [v for v in standing["votes"] if v["role"] != "validator" or v["execution"] != hash_]
            assert js["acceptance"][hash_]["votes"] == mine, hash_


def test_a_dissent_gets_the_verdict_and_acceptance_of_verify_bundle(wasm_cli, mixed_bundle, tmp_path) -> None:
    """A valid dissent is no problem: both verifiers report it as a dissent by its signer with
    the output it got. Under the default policy it is not counted; under one that counts it, the
    key is split and the execution disputed, on both sides."""
    cli, _ = wasm_cli
    path = tmp_path / "dissent.car"
    execution, dissent, signer = with_dissent(mixed_bundle, path)
    judge = Cli(tmp_path / "judge")
    (judge.home).mkdir()
    for policy in (
        None,
        f'[[quorum]]\noperations = ["*"]\nkeys = ["self", "{signer}"]\nneed = 1\nexecutor = false\n',
    ):
        if policy:
            (judge.home / "policy.toml").write_text(policy)
        python = judge.verify_bundle(path)
        shown = tmp_path / "policy.json"
        shown.write_text(json.dumps(judge.json("policy", "show")))
        (js,) = node_js("verify", "--policy", str(shown), str(path))
        assert python["verdict"] == "verified" and python["problems"] == [] == js["problems"]
        same_verdicts(python, js)
        assert js["verdict"] == "checked"
        for mine, theirs in zip(js["executions"], python["executions"]):
            assert mine["attestations"] == theirs["attestations"]
        (row,) = [e for e in js["executions"] if e["hash"] == execution]
        (found,) = [a for a in row["attestations"] if a["cid"] == dissent]
        assert (found["signer"], found["role"], found["valid"]) == (signer, "dissent", True)
        assert row["verdict"] == "verified"
        _same_acceptance(python, js)
        standing = js["acceptance"][execution]
        assert (signer, "dissent", bool(policy)) in {
            (v["signer"], v["role"], v["counted"]) for v in standing["votes"]
        }
        assert standing["status"] == ("disputed" if policy else "accepted"), standing


def test_a_forged_dissent_is_refused_in_javascript_as_in_python(wasm_cli, mixed_bundle, tmp_path) -> None:
    cli, _ = wasm_cli
    path = tmp_path / "forged-dissent.car"
    execution, dissent, signer = with_dissent(mixed_bundle, path, forged=True)
    python = cli.verify_bundle(path)
    (js,) = node_js("verify", str(path))
    assert python["verdict"] == js["verdict"] == "failed"
    assert python["problems"] == js["problems"]
    assert any(dissent in p and "signature does not verify" in p for p in js["problems"])
    (row,) = [e for e in js["executions"] if e["hash"] == execution]
    (found,) = [a for a in row["attestations"] if a["cid"] == dissent]
    assert (found["signer"], found["role"], found["valid"]) == (signer, "dissent", False)
    assert all(v["signer"] != signer for v in js["acceptance"][execution]["votes"])  # void: no vote
