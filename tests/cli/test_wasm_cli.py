"""`catenary op add` and WASM operations in CLI runs: real processes on a real data dir."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from catenary.operations.wasm import module_cid, wasm_bytes
from tests.operations.test_wasm import ECHO_MANIFEST, EXAMPLES, wat


class Cli:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def __call__(
        self, *args: str, code: int = 0, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        environ = {**os.environ, "CATENARY_HOME": str(self.data_dir), **(env or {})}
        proc = subprocess.run(
            [sys.executable, "-m", "catenary", *args],
            capture_output=True,
            text=True,
            env=environ,
            timeout=120,
        )
        assert proc.returncode == code, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc

    def json(self, *args: str, code: int = 0, env: dict[str, str] | None = None) -> dict:
        return json.loads(self(*args, "--json", code=code, env=env).stdout)

    def snapshot(self) -> dict[str, list]:
        db = sqlite3.connect(self.data_dir / "catenary.db")
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        dump = {t: sorted(db.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
        db.close()
        return dump


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "data")


def test_op_add_prints_the_version_id_and_is_idempotent(cli: Cli, tmp_path: Path):
    doc = cli.json("op", "add", str(EXAMPLES / "reverse.wat"))
    binary = tmp_path / "reverse.wasm"
    binary.write_bytes(wasm_bytes((EXAMPLES / "reverse.wat").read_bytes()))
    assert doc["name"] == "example/reverse" and doc["available"] is True
    assert doc["implementation"] == {"kind": "wasm", "module": str(module_cid(binary.read_bytes()))}
    line = cli("op", "add", str(binary)).stdout
    assert line.split()[:2] == [doc["version_id"], "example/reverse"]
    assert cli.json("op", "show", doc["version_id"]) == doc
    listed = [o for o in cli.json("op", "list")["operations"] if o["name"] == "example/reverse"]
    assert [o["version_id"] for o in listed] == [doc["version_id"]]


def test_op_add_with_a_sidecar_manifest(cli: Cli, tmp_path: Path):
    module = tmp_path / "echo.wat"
    module.write_text(wat(manifest=None))
    sidecar = tmp_path / "echo.json"
    sidecar.write_text(json.dumps(ECHO_MANIFEST))
    doc = cli.json("op", "add", str(module), "--manifest", str(sidecar))
    assert doc["name"] == "test/echo" and doc["inputs"] == ["any"]


def test_refused_modules_exit_2_name_the_module_and_change_nothing(cli: Cli, tmp_path: Path):
    cli("op", "add", str(EXAMPLES / "reverse.wat"))
    before = cli.snapshot()
    wasi = tmp_path / "wasi.wat"
    wasi.write_text(
        wat(imports='(import "wasi_snapshot_preview1" "random_get" (func (param i32 i32) (result i32)))')
    )
    broken = tmp_path / "broken.wasm"
    broken.write_bytes(b"\0asm\x01\0\0\0\x05\x03")
    bare = tmp_path / "bare.wat"
    bare.write_text(wat(manifest=None))
    cases = [
        (wasi, "imports wasi_snapshot_preview1.random_get; catenary-wasm-abi/1 allows no imports"),
        (broken, "not a valid WebAssembly module"),
        (bare, 'no operation manifest: embed one in a custom section "catenary.manifest" or give one'),
    ]
    for path, cause in cases:
        proc = cli("op", "add", str(path), "--json", code=2)
        cid = module_cid(wasm_bytes(path.read_bytes()))
        assert proc.stdout == ""
        assert proc.stderr.strip().startswith(f"error: wasm module {cid}: ") and cause in proc.stderr
    proc = cli("op", "add", str(tmp_path / "missing.wat"), code=2)
    assert "cannot read module" in proc.stderr
    assert cli.snapshot() == before


def test_a_workflow_mixing_std_and_wasm_runs_and_a_failing_module_exits_1(cli: Cli, tmp_path: Path):
    for name in ("reverse", "adler32", "has-key"):
        cli("op", "add", str(EXAMPLES / f"{name}.wat"))
    loop = tmp_path / "loop.wat"
    loop.write_text(wat("(loop $l (br $l)) (i32.const 0)", manifest={**ECHO_MANIFEST, "name": "test/loop"}))
    cli("op", "add", str(loop))
    flow = tmp_path / "flow.json"
    flow.write_text(
        json.dumps(
            {
                "data": {
                    "name": "mixed",
                    "creators": ["tests"],
                    "description": "",
                    "groups": [],
                    "segments": [
                        {
                            "inputs": [-1],
                            "sequence": [
                                {"op": "std/utf8-encode", "config": {}},
                                {"op": "example/reverse", "config": {}},
                                {"op": "example/adler32", "config": {}},
                            ],
                        },
                        {"inputs": [-1], "sequence": [{"op": "example/has-key", "config": {"key": "a"}}]},
                        {"inputs": [1, 0], "sequence": [{"op": "std/if", "config": {}}]},
                        {"inputs": [2], "sequence": [{"op": "test/loop", "config": {}}]},
                    ],
                }
            }
        )
    )
    wf = cli.json("workflow", "create", str(flow))["id"]
    proc = cli(
        "run",
        wf,
        "-i",
        "0=text:hello",
        "-i",
        '1={"a": 1}',
        "--json",
        code=1,
        env={"CATENARY_WASM_FUEL": "50000"},
    )
    doc = json.loads(proc.stdout)
    assert doc["done"] is False and doc["segment"] == 3
    assert "ran out of fuel: the budget of 50000 units is used up" in proc.stderr
    run = cli.json("runs", "get", doc["run"])
    assert run["status"] == "failed"
    assert [o["segment"] for o in run["outputs"]] == [0, 1, 2]
    result = cli.json("value", "get", run["outputs"][2]["output"])
    assert result == zlib.adler32(b"olleh")
