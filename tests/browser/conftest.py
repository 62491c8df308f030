"""The JavaScript library (js/) against the Python engine: bundles and runs made by one are
checked by the other. Node.js runs the library directly here; tests/web/test_browser_verify.py
runs the built page and workflow modules in Chromium with these fixtures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catenary.cid import CID, block, decode

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "wasm"
CATENARY = Path(sys.executable).parent / "catenary"
NONCE = "000102030405060708090a0b0c0d0e0f"


def manifest(name: str, *segments: tuple[list[int], list[Any]]) -> dict[str, Any]:
    return {
        "data": {
            "name": name,
            "creators": ["tests"],
            "description": "",
            "groups": [],
            "segments": [
                {
                    "inputs": inputs,
                    "sequence": [
                        {"op": s, "config": {}} if isinstance(s, str) else {"op": s[0], "config": s[1]}
                        for s in steps
                    ],
                }
                for inputs, steps in segments
            ],
        }
    }


# Three segments of the repository's WASM examples only: what `workflow build` accepts.
THREE = manifest(
    "three",
    ([-1], ["example/reverse", "example/reverse"]),
    ([0], ["example/reverse", "example/adler32"]),
    ([1], [("example/has-key", {"key": "a"})]),
)
# WASM mixed with std steps (Python): the browser re-executes the first, checks the others.
MIXED = manifest(
    "mixed",
    ([-1], ["std/utf8-encode", "example/reverse", "example/adler32"]),
    ([-1], [("example/has-key", {"key": "a"})]),
    ([1, 0], ["std/if"]),
)


class Cli:
    """The `catenary` command on one data dir, as a user runs it."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "CATENARY_HOME": str(home)}

    def run(self, *args: str, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [str(CATENARY), *args], capture_output=True, text=True, env=self.env, timeout=300, cwd=cwd
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"catenary {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def workflow(self, tmp: Path, data: dict[str, Any]) -> str:
        path = tmp / f"{data['data']['name']}.json"
        path.write_text(json.dumps(data))
        return self.json("workflow", "create", str(path))["id"]

    def verify_bundle(self, path: Path) -> dict[str, Any]:
        proc = self.run("verify-bundle", str(path), "--json", check=False)
        assert proc.returncode in (0, 1), proc.stderr
        return json.loads(proc.stdout)


def node_js(*args: str) -> Any:
    """Run tests/browser/js_check.mjs with Node.js; its JSON answer."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (Node.js) is not installed; the JavaScript library tests need it")
    if not (ROOT / "js" / "node_modules" / "@ipld" / "car").exists():
        pytest.fail("js/node_modules is missing: run `make js` (installs the pinned packages)")
    proc = subprocess.run(
        [node, str(Path(__file__).parent / "js_check.mjs"), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def wasm_cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cli, Path]]:
    """A data dir with the three example modules added."""
    tmp = tmp_path_factory.mktemp("wasm")
    cli = Cli(tmp / "home")
    for name in ("reverse", "adler32", "has-key"):
        cli.run("op", "add", str(EXAMPLES / f"{name}.wat"))
    yield cli, tmp


@pytest.fixture(scope="module")
def mixed_bundle(wasm_cli: tuple[Cli, Path]) -> Path:
    cli, tmp = wasm_cli
    wf = cli.workflow(tmp, MIXED)
    final = cli.json("run", wf, "--input", "0=text:hello", "--input", '1={"a": 1}')["final"]
    path = tmp / "mixed.car"
    cli.run("export", final, "-o", str(path))
    return path


@pytest.fixture(scope="module")
def demo_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The proof bundle `make demo` writes, made by running the demo script in a copy."""
    tmp = tmp_path_factory.mktemp("demo")
    shutil.copytree(
        ROOT / "examples" / "camera-ownership", tmp / "demo", ignore=shutil.ignore_patterns("out")
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CATENARY_HOME": str(tmp / "home"),
        "PATH": f"{CATENARY.parent}:{os.environ['PATH']}",
    }
    proc = subprocess.run(
        ["sh", str(tmp / "demo" / "demo.sh")], capture_output=True, text=True, env=env, cwd=tmp, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return tmp / "demo" / "out" / "proof.car"


def same_verdicts(python: dict[str, Any], js: dict[str, Any]) -> None:
    """The browser's verdicts are Python's, except that a Python operation it did not run is
    `not-re-executed` where Python (which has it) says `verified`."""
    expected = {e["hash"]: e["verdict"] for e in python["executions"]}
    got = {e["hash"]: e["verdict"] for e in js["executions"]}
    assert set(got) == set(expected)
    kinds = {e["hash"]: e["kind"] for e in js["executions"]}
    for hash_, verdict in expected.items():
        if kinds[hash_] == "python" and verdict == "verified":
            assert got[hash_] == "not-re-executed", hash_
        else:
            assert got[hash_] == verdict, (hash_, got[hash_], verdict)


def with_dissent(bundle: Path, out: Path, forged: bool = False) -> tuple[str, str, str]:
    """``bundle`` with a signed dissent on example/reverse's execution: another key re-executed
    it and got another output (validate signs that, docs/network.md); with ``forged``, one byte
    of its signature flipped. (execution, the dissent's CID, its signer)."""
    from catenary.model.enums import Role
    from catenary.trust import attestation
    from catenary.trust.identity import Identity
    from tests.trust.conftest import Car

    car = Car(bundle.read_bytes())
    meta_cid = next(
        link
        for link in car.index["executions"]
        if name_of(car, car.value(link)["execution"]) == "example/reverse"
    )
    meta = car.value(meta_cid)
    dissenter = Identity.generate()
    row = attestation.sign(dissenter, meta["execution"], meta["key"], block(b"not reversed")[0], Role.DISSENT)
    cid, data = row.cid, row.data
    if forged:
        value = decode(data)
        value["signature"] = bytes([value["signature"][0] ^ 1]) + value["signature"][1:]
        cid, data = block(value)
    car.blocks[cid] = data
    car.replace(meta_cid, {**meta, "attestations": [*meta["attestations"], cid]})
    out.write_bytes(car.bytes())
    return str(meta["execution"]), str(cid), dissenter.id


def name_of(car: Any, execution: CID) -> str:
    """The operation name of ``execution`` in a parsed bundle."""
    operation = car.value(execution)["operation"]
    return str(car.value(car.value(operation)["operation"])["name"])
