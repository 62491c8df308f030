"""Proof bundles of workflows with WASM operations: the module blocks (raw codec) travel in
the bundle, a fresh node re-executes the WASM executions from them, import stores them, and
a tampered or forged module is caught and named."""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catenary import Node
from catenary.cid import CID
from catenary.cid.car import car_bytes, read_car
from catenary.errors import VerificationError
from catenary.operations.wasm import WasmOperation, module_cid, wasm_bytes
from catenary.trust.bundle import raw_cid
from tests.helpers import manifest
from tests.operations.test_wasm import ECHO_MANIFEST, EXAMPLES, wat
from tests.trust.conftest import Car

# std -> wasm -> wasm in segment 0; wasm with config in segment 1; std joining them.
MIXED = manifest(
    ([-1], ["std/utf8-encode", "example/reverse", "example/adler32"]),
    ([-1], [("example/has-key", {"key": "a"})]),
    ([1, 0], ["std/if"]),
    name="mixed",
)
WASM_NAMES = {"example/reverse", "example/adler32", "example/has-key"}


def add_examples(node: Node) -> dict[str, Any]:
    return {
        name: node.operations.add_wasm((EXAMPLES / f"{name.split('/')[1]}.wat").read_bytes())
        for name in sorted(WASM_NAMES)
    }


@pytest.fixture
def wasm_run(make_node: Callable[..., Node], tmp_path: Path) -> tuple[Node, Any, bytes]:
    """Node A after one run of MIXED: (node, last step result, exported bundle)."""
    a = make_node(data_dir=tmp_path / "a", operations=[])
    add_examples(a)
    wf = a.workflows.create(MIXED)
    _, result = a.runs.run(wf.id, {0: ["hello"], 1: [{"a": 1, "b": [2]}]})
    assert result.result == zlib.adler32(b"olleh")
    buffer = io.BytesIO()
    a.trust.export(result.final, buffer)
    return a, result, buffer.getvalue()


@pytest.fixture
def fresh(make_node: Callable[..., Node], tmp_path: Path) -> Node:
    """A node with the standard library only: no module, no --ops."""
    return make_node(data_dir=tmp_path / "fresh", operations=[])


def module_blocks(data: bytes) -> dict[CID, bytes]:
    return {b.cid: b.data for b in read_car(data).blocks if b.cid.codec == 0x55}


def test_export_carries_every_module_as_a_raw_block(wasm_run) -> None:
    a, _, data = wasm_run
    modules = module_blocks(data)
    wasm_ops = {op.module_cid: op for op in a.registry if isinstance(op, WasmOperation)}
    assert set(modules) == set(wasm_ops) and len(modules) == 3
    for cid, raw in modules.items():
        assert str(cid).startswith("bafk2bza") and module_cid(raw) == cid == raw_cid(raw)
        assert raw == wasm_ops[cid].module.data


def test_a_fresh_node_reexecutes_wasm_executions_from_the_bundle(wasm_run, fresh: Node) -> None:
    assert not any(isinstance(op, WasmOperation) for op in fresh.registry)
    report = fresh.trust.verify_bundle(wasm_run[2])
    assert report.problems == [] and report.overall == "verified"
    assert {v.name for v in report.verdicts} == WASM_NAMES | {"std/utf8-encode", "std/if"}
    assert all(v.verdict == "verified" and v.reason == "re-executed: same output" for v in report.verdicts)
    assert all(len(v.attestations) == 1 and v.attestations[0].valid for v in report.verdicts)
    # Verifying stores nothing and registers nothing on the node.
    assert not any(isinstance(op, WasmOperation) for op in fresh.registry)
    assert fresh.operations.list() == [
        i for i in fresh.operations.list() if i.manifest.name.startswith("std/")
    ]


def test_import_stores_the_modules_and_the_node_runs_them(
    wasm_run, fresh: Node, make_node: Callable[..., Node]
) -> None:
    a, result, data = wasm_run
    _, counts = fresh.trust.import_bundle(data)
    assert counts["executions"] == 5
    for cid, raw in module_blocks(data).items():
        assert fresh.store.get_block(cid) == raw
    # Usable at once in this process, and by any later process on this data dir.
    again = fresh.trust.verify(result.final, trace=True)
    assert again.ok and {v.name for v in again.verdicts} >= WASM_NAMES
    available = {i.manifest.name for i in fresh.operations.list() if i.available}
    assert WASM_NAMES <= available
    reopened = make_node(data_dir=fresh.data_dir, operations=[])
    wf = next(iter(reopened.workflows.list())).id
    _, other = reopened.runs.run(wf, {0: ["wasm"], 1: [{"b": 1}]}, fresh=True)
    assert other.done and other.result is None
    _, same = reopened.runs.run(wf, {0: ["abc"], 1: [{"a": 0}]}, fresh=True)
    assert same.result == zlib.adler32(b"cba")


def test_a_flipped_byte_in_a_module_is_caught_and_named(wasm_run, fresh: Node) -> None:
    data = wasm_run[2]
    car = read_car(data)
    reverse = next(op for op in wasm_run[0].registry if op.name == "example/reverse")
    blocks = [
        (b.cid, b.data[:100] + bytes([b.data[100] ^ 1]) + b.data[101:])
        if b.cid == reverse.module_cid
        else (b.cid, b.data)
        for b in car.blocks
    ]
    report = fresh.trust.verify_bundle(car_bytes(car.roots, blocks))
    assert report.overall == "failed"
    cid = str(reverse.module_cid)
    assert any(p.startswith(f"block {cid} (section") and "not to its CID" in p for p in report.problems)
    assert any(p.startswith(f"missing block {cid} (wasm module of example/reverse") for p in report.problems)
    [v] = [v for v in report.verdicts if v.operation == reverse.version_id]
    assert v.name == "example/reverse" and v.verdict == "unverifiable"
    assert v.reason.endswith(f"has no implementation here: its wasm module {cid} is not available")
    with pytest.raises(VerificationError, match="nothing was imported"):
        fresh.trust.import_verified(report)
    assert fresh.executions.list().executions == []
    assert fresh.store.get_block(reverse.module_cid) is None


def _forge_module(car: Car, old: CID, new_bytes: bytes) -> CID:
    """Swap a module for other bytes and re-link everything above it, as a forger would."""
    new = module_cid(new_bytes)
    car.substitute(old, new, new_bytes)
    return new


def test_a_forged_module_gives_a_mismatch_and_breaks_the_signatures(wasm_run, fresh: Node) -> None:
    a, _, data = wasm_run
    car = Car(data)
    reverse = next(op for op in a.registry if op.name == "example/reverse")
    # Same manifest, other code: an echo instead of a reversal.
    echo = wasm_bytes(
        wat(
            manifest={**ECHO_MANIFEST, "name": "example/reverse", "inputs": ["bytes"], "output": "bytes"}
        ).encode()
    )
    _forge_module(car, reverse.module_cid, echo)
    report = fresh.trust.verify_bundle(car.bytes())
    assert report.overall == "failed"
    by_name = {v.name: v for v in report.verdicts}
    assert by_name["example/reverse"].verdict == "mismatch"
    assert "re-execution gave" in by_name["example/reverse"].reason
    # Every execution's hash changed with the workflow: no old signature covers the new records.
    assert sum("is invalid: signature does not verify" in p for p in report.problems) == 5


def test_a_module_outside_the_abi_is_refused_by_name(wasm_run, fresh: Node) -> None:
    a, _, data = wasm_run
    car = Car(data)
    reverse = next(op for op in a.registry if op.name == "example/reverse")
    importing = wasm_bytes(wat(imports='(import "env" "now" (func (result i64)))').encode())
    new = _forge_module(car, reverse.module_cid, importing)
    report = fresh.trust.verify_bundle(car.bytes())
    assert report.overall == "failed"
    assert any(
        p.startswith(f"wasm module {new}: imports env.now") and "example/reverse" in p
        for p in report.problems
    )


def test_raw_blocks_are_only_accepted_as_modules(bundle: bytes, node_b: Node) -> None:
    """A raw block where a DAG-CBOR block belongs is refused, even if its bytes decode."""
    car = Car(bundle)
    index = car.index
    meta = car.value(index["executions"][0])
    value = meta["output"]
    raw = raw_cid(car.blocks[value])
    car.substitute(value, raw, car.blocks[value])
    report = node_b.trust.verify_bundle(car.bytes())
    assert report.overall == "failed"
    assert any(
        f"{raw} is not a dag-cbor blake2b-256 CID (only a wasm module may be a raw block)" in p
        for p in report.problems
    )


def test_other_codecs_and_hashes_are_still_refused(bundle: bytes, node_b: Node) -> None:
    from catenary.cid import raw_sha256_cid

    car = read_car(bundle)
    extra = b"not a module"
    blocks = [(b.cid, b.data) for b in car.blocks] + [(raw_sha256_cid(extra), extra), (raw_cid(extra), extra)]
    report = node_b.trust.verify_bundle(car_bytes(car.roots, blocks))
    assert report.overall == "failed"
    assert any(
        str(raw_sha256_cid(extra)) in p and "neither a dag-cbor nor a raw blake2b-256" in p
        for p in report.problems
    )
    assert any(str(raw_cid(extra)) in p and "not linked from the bundle" in p for p in report.problems)
