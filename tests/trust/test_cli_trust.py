"""The trust commands as a user runs them: real processes, two data dirs, exit statuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from catenary.cid import decode
from catenary.cid.car import car_bytes, read_car

ROOT = Path(__file__).resolve().parent.parent.parent


def cli(data_dir: Path, *args: str, code: int = 0, ops: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CATENARY_HOME": str(data_dir),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    extra = ["--ops", "tests.ops_fixture"] if ops else []
    proc = subprocess.run(
        [sys.executable, "-m", "catenary", *extra, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == code, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A finished run on data dir A, exported to trace.car."""
    base = tmp_path_factory.mktemp("trust-cli")
    a = base / "a"
    manifest = base / "chain.json"
    from tests.trust.conftest import CHAIN

    manifest.write_text(json.dumps(CHAIN))
    wf = json.loads(cli(a, "workflow", "create", str(manifest), "--json").stdout)["id"]
    run = json.loads(cli(a, "run", wf, "-i", "0=1", "-i", "1=5", "--json").stdout)
    car = base / "trace.car"
    exported = json.loads(cli(a, "export", run["final"], "-o", str(car), "--json").stdout)
    return {"base": base, "a": a, "final": run["final"], "car": car, "export": exported}


def test_export_json(demo) -> None:
    doc = demo["export"]
    assert doc["root"] == demo["final"] and doc["executions"] == 4
    assert doc["bytes"] == demo["car"].stat().st_size
    assert read_car(demo["car"].read_bytes()).roots[0].__str__() == demo["final"]


def test_verify_and_trace_views(demo) -> None:
    doc = json.loads(cli(demo["a"], "verify", demo["final"], "--trace", "--json").stdout)
    assert doc["verdict"] == "verified" and len(doc["executions"]) == 4
    assert set(doc["executions"][0]) >= {"hash", "name", "verdict", "reason", "expected", "got"}
    human = cli(demo["a"], "verify", demo["final"]).stdout
    assert "verified" in human and "test/count" in human
    down = json.loads(
        cli(demo["a"], "exec", "trace", doc["executions"][0]["hash"], "--down", "--json").stdout
    )
    assert demo["final"] in {n["hash"] for n in down["nodes"]}
    assert all(n["kind"] == "execution" for n in down["nodes"])
    one = json.loads(cli(demo["a"], "exec", "trace", demo["final"], "--depth", "1", "--json").stdout)
    assert len(one["nodes"]) == 2 and len(one["edges"]) == 1
    dot = cli(demo["a"], "exec", "trace", demo["final"], "--dot").stdout
    assert dot.startswith("digraph trace {") and dot.count("->") == 5
    assert "test/count" in cli(demo["a"], "exec", "trace", demo["final"], "--down").stdout
    cli(demo["a"], "exec", "trace", demo["final"], "--dot", "--json", code=2)


def test_attestations_command(demo) -> None:
    doc = json.loads(cli(demo["a"], "exec", "attestations", demo["final"], "--json").stdout)
    [att] = doc["attestations"]
    assert att["valid"] is True and att["role"] == "executor" and att["signer"].startswith("did:key:z")
    assert "did:key:z" in cli(demo["a"], "exec", "attestations", demo["final"]).stdout


def test_verify_bundle_and_import_on_a_fresh_data_dir(demo) -> None:
    b = demo["base"] / "b"
    report = json.loads(cli(b, "verify-bundle", str(demo["car"]), "--json").stdout)
    assert report["verdict"] == "verified" and report["problems"] == []
    assert all(e["verdict"] == "verified" and e["attestations"][0]["valid"] for e in report["executions"])
    human = cli(b, "import", str(demo["car"])).stdout
    assert "imported" in human and "4 executions" in human
    got = json.loads(cli(b, "exec", "get", demo["final"], "--json").stdout)
    assert got["hash"] == demo["final"]
    cli(b, "exec", "trace", demo["final"])
    doc = json.loads(cli(b, "verify", demo["final"], "--json").stdout)
    assert doc["attested"] == [demo["final"]]  # B adds its validator attestation


def test_bad_bundles_exit_1_or_2_and_import_nothing(demo) -> None:
    c = demo["base"] / "c"
    data = demo["car"].read_bytes()
    truncated = demo["base"] / "truncated.car"
    truncated.write_bytes(data[: len(data) // 2 + 3])
    out = cli(c, "verify-bundle", str(truncated), code=2)
    assert out.stdout == "" and "CAR byte" in out.stderr
    cli(c, "import", str(truncated), code=2)
    cli(c, "verify-bundle", str(demo["base"] / "nope.car"), code=2)

    parsed = read_car(data)
    blocks = [(b.cid, b.data) for b in parsed.blocks]
    meta_cid = decode(blocks[0][1])["executions"][-1]
    tampered = [
        (cid, bytes(d[:-1]) + bytes([d[-1] ^ 1])) if cid == meta_cid else (cid, d) for cid, d in blocks
    ]
    bad = demo["base"] / "bad.car"
    bad.write_bytes(car_bytes(parsed.roots, tampered))
    out = cli(c, "verify-bundle", str(bad), "--json", code=1)
    doc = json.loads(out.stdout)
    assert doc["verdict"] == "failed" and any(str(meta_cid) in p for p in doc["problems"])
    assert "bundle does not verify" in out.stderr
    cli(c, "import", str(bad), code=1)
    assert json.loads(cli(c, "exec", "list", "--json").stdout)["executions"] == []

    no_ops = cli(c, "verify-bundle", str(demo["car"]), code=1, ops=False)
    assert "unverifiable" in no_ops.stdout and "has no implementation here" in no_ops.stdout


def test_verify_mismatch_exits_1(tmp_path) -> None:
    d = tmp_path / "d"
    manifest = tmp_path / "random.json"
    from tests.helpers import manifest as make

    manifest.write_text(json.dumps(make(([-1], ["trust/random"]), name="random")))
    args = ["--ops", "tests.trust.trust_ops"]
    wf = json.loads(cli(d, *args, "workflow", "create", str(manifest), "--json").stdout)["id"]
    final = json.loads(cli(d, *args, "run", wf, "-i", "0=8", "--json").stdout)["final"]
    out = cli(d, *args, "verify", final, "--json", code=1)
    doc = json.loads(out.stdout)
    assert doc["verdict"] == "mismatch" and doc["executions"][0]["expected"] != doc["executions"][0]["got"]
    assert "verification failed" in out.stderr
