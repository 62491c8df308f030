"""An independent IPLD implementation reads the bundle: the official JavaScript packages
@ipld/car and @ipld/dag-cbor (with multiformats and @noble/hashes), installed by
`make test` under .tools/ (npm)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from catenary.cid.car import read_car

ROOT = Path(__file__).resolve().parent.parent.parent
TOOLS = ROOT / ".tools"
PACKAGES = ["@ipld/car", "@ipld/dag-cbor", "multiformats", "@noble/hashes"]


def _require_tools() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (Node.js) is not installed; the JavaScript interop test needs it")
    missing = [p for p in PACKAGES if not (TOOLS / "node_modules" / p / "package.json").exists()]
    if missing:
        pytest.fail(
            f"npm packages missing under {TOOLS}: {', '.join(missing)}; run `make test` "
            f"(or: npm install --prefix .tools {' '.join(PACKAGES)})"
        )
    return node


def test_javascript_ipld_reads_the_bundle(bundle, tmp_path) -> None:
    node = _require_tools()
    path = tmp_path / "trace.car"
    path.write_bytes(bundle)
    proc = subprocess.run(
        [node, str(Path(__file__).parent / "read_car.mjs"), str(TOOLS), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    car = read_car(bundle)
    assert seen["roots"] == [str(r) for r in car.roots]
    assert seen["blocks"] == len({b.cid for b in car.blocks})
    assert seen["bad_cids"] == []  # every CID is the blake2b-256 of its bytes, per JS
    assert seen["missing"] == [] and seen["reached"] == seen["blocks"]  # one walkable DAG
    assert seen["format"] == "catenary-bundle/1" and seen["executions"] == 4
    assert seen["root_execution_keys"] == sorted(
        ["workflow", "segment", "step", "operation", "config", "parents", "inputs"]
    )


def test_javascript_notices_a_bad_block(bundle, tmp_path) -> None:
    """The JS check can fail: a block whose bytes changed is reported by it too."""
    node = _require_tools()
    from catenary.cid.car import car_bytes

    car = read_car(bundle)
    blocks = [(b.cid, b.data) for b in car.blocks]
    cid, data = blocks[-1]
    blocks[-1] = (cid, data[:-1] + bytes([data[-1] ^ 1]))
    path = tmp_path / "bad.car"
    path.write_bytes(car_bytes(car.roots, blocks))
    proc = subprocess.run(
        [node, str(Path(__file__).parent / "read_car.mjs"), str(TOOLS), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode == 0:
        assert json.loads(proc.stdout)["bad_cids"] == [str(cid)]
    else:
        assert "decode" in proc.stderr.lower() or "error" in proc.stderr.lower()
