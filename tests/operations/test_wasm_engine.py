"""WASM operations through a real node: registration in the store, loading on start, workflows
that mix Python built-ins and WASM operations, determinism across data dirs, and failures that
are recorded without losing anything."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catenary import Node
from catenary.cid import CID, block_cid
from catenary.errors import BadInputError, ExecutionFailedError, NotFoundError
from catenary.model import Status
from catenary.model.filter import ExecutionFilter
from catenary.operations.wasm import WasmOperation, module_cid, wasm_bytes
from tests.helpers import check_hashes, manifest, snapshot
from tests.operations.test_wasm import ECHO_MANIFEST, EXAMPLES, data_segment, returning, wat

# Segment 0 reverses the UTF-8 of a text and checksums it (std -> wasm -> wasm); segment 1 asks
# whether a map has key "a" (wasm); segment 2 gives the checksum only if it has (std/if).
MIXED = manifest(
    ([-1], ["std/utf8-encode", "example/reverse", "example/adler32"]),
    ([-1], [("example/has-key", {"key": "a"})]),
    ([1, 0], ["std/if"]),
    name="mixed",
)


def add_examples(node: Node) -> dict[str, CID]:
    return {
        info.manifest.name: info.version_id
        for info in (
            node.operations.add_wasm((EXAMPLES / f"{n}.wat").read_bytes())
            for n in ("reverse", "adler32", "has-key")
        )
    }


def fuel(node: Node) -> dict[str, int | None]:
    return {op.name: op.last_fuel for op in node.registry if isinstance(op, WasmOperation)}


def outputs(node: Node, run: CID) -> dict[tuple[int, int], CID | None]:
    return {(e.segment, e.step): e.output for e in node.executions.iterate(ExecutionFilter(run=run))}


def test_mixed_workflow_runs_end_to_end(node: Node):
    versions = add_examples(node)
    wf = node.workflows.create(MIXED)
    state, result = node.runs.run(wf.id, {0: ["hello"], 1: [{"a": 1, "b": [2]}]})
    assert state.status == "completed" and result.done
    assert result.result == zlib.adler32(b"olleh")
    executions = list(node.executions.iterate(ExecutionFilter(run=state.id)))
    assert len(executions) == 5 and all(e.status == Status.COMPLETED for e in executions)
    assert {e.operation for e in executions} >= set(versions.values())
    for e in executions:
        check_hashes(e)
    _, result = node.runs.run(wf.id, {0: ["hello"], 1: [{"b": 1}]})
    assert result.result is None


def test_same_execution_twice_and_on_two_data_dirs_gives_same_cids_and_fuel(tmp_path: Path):
    seen = []
    for name in ("a", "b"):
        with Node(tmp_path / name) as node:
            add_examples(node)
            wf = node.workflows.create(MIXED)
            for _ in range(2):
                state, _ = node.runs.run(wf.id, {0: ["hello wasm"], 1: [{"a": None}]}, fresh=True)
                seen.append((wf.id, outputs(node, state.id), fuel(node)))
    assert all(s == seen[0] for s in seen)
    assert all(isinstance(f, int) and f > 0 for f in seen[0][2].values())


def test_memoized_wasm_execution_is_not_run_again(node: Node):
    add_examples(node)
    wf = node.workflows.create(manifest(([-1], ["example/reverse"])))
    node.runs.run(wf.id, {0: [b"abc"]})
    op = node.registry.by_name("example/reverse")
    op.module._local.fuel = None
    state, result = node.runs.run(wf.id, {0: [b"abc"]})
    assert result.result == b"cba" and op.last_fuel is None
    assert next(node.executions.iterate(ExecutionFilter(run=state.id))).cached_from is not None


def test_registration_stores_the_module_and_is_idempotent(node: Node):
    source = (EXAMPLES / "reverse.wat").read_bytes()
    first = node.operations.add_wasm(source)
    again = node.operations.add_wasm(wasm_bytes(source))  # the binary of the same WAT
    assert first.version_id == again.version_id
    data = wasm_bytes(source)
    cid = module_cid(data)
    assert first.version.implementation == {"kind": "wasm", "module": cid}
    assert node.store.get_block(cid) == data
    assert [i.version_id for i in node.operations.list() if i.manifest.name == "example/reverse"] == [
        first.version_id
    ]


def test_a_new_node_loads_the_stored_modules(make_node: Callable[..., Node]):
    first = make_node()
    versions = add_examples(first)
    first.close()
    node = make_node()
    for name, version in versions.items():
        op = node.registry.get(version)
        assert isinstance(op, WasmOperation) and op.name == name
        assert node.operations.get(version).available
    wf = node.workflows.create(manifest(([-1], ["example/reverse", "example/adler32"])))
    assert node.runs.run(wf.id, {0: [b"xyz"]})[1].result == zlib.adler32(b"zyx")


def test_a_version_without_its_module_is_known_but_not_runnable(node: Node, data_dir: Path, ops: Any):
    info = node.operations.add_wasm((EXAMPLES / "reverse.wat").read_bytes())
    with Node(data_dir.parent / "other", operations=["tests.ops_fixture"]) as other:
        other.store.put_operation(info.manifest, info.version)  # the record, not the code
        other.operations.load_wasm()
        assert other.registry.get(info.version_id) is None
        assert other.operations.get(info.version_id).available is False
        wf = other.workflows.create(
            {
                "data": {
                    **manifest(([-1], []))["data"],
                    "segments": [
                        {"inputs": [-1], "sequence": [{"version_id": str(info.version_id), "config": {}}]}
                    ],
                }
            }
        )
        with pytest.raises(NotFoundError, match="has no implementation on this node"):
            other.runs.run(wf.id, {0: [b"a"]})


def test_a_python_operation_keeps_its_name(node: Node):
    python = node.registry.by_name("test/inc")
    info = node.operations.add_wasm(
        wat(manifest={**ECHO_MANIFEST, "name": "test/inc", "inputs": ["int"], "output": "int"}).encode()
    )
    assert node.registry.by_name("test/inc") is python
    assert node.registry.get(info.version_id) is not None  # runnable by its version id


def test_a_refused_module_changes_nothing(node: Node, db_path: Path):
    before = snapshot(db_path)
    source = wat(
        imports='(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))'
    )
    with pytest.raises(BadInputError, match=r"imports wasi_snapshot_preview1\.fd_write"):
        node.operations.add_wasm(source.encode())
    with pytest.raises(BadInputError, match="not a valid WebAssembly module"):
        node.operations.add_wasm(b"\0asm\x01\0\0\0\x01")
    assert snapshot(db_path) == before


LOOP = "(loop $l (br $l)) (i32.const 0)"
OOB = "(i32.store (i32.const -4) (i32.const 1)) (i32.const 0)"
GROW = (
    "(block $b (loop $l (br_if $b (i32.eq (memory.grow (i32.const 1)) (i32.const -1))) (br $l))) unreachable"
)


@pytest.mark.parametrize(
    "body,extra,cause",
    [
        (LOOP, "", "ran out of fuel: the budget of 100000 units is used up"),
        (GROW, "", "trap: unreachable instruction executed (memory is at the cap of 1048576 bytes"),
        (OOB, "", "trap: out-of-bounds memory access"),
        (returning(b"\x18\x01"), data_segment(b"\x18\x01"), "output is not valid DAG-CBOR"),
    ],
    ids=["fuel", "memory", "out-of-bounds", "bad-output"],
)
def test_a_failing_module_fails_its_execution_and_loses_nothing(
    make_node: Callable[..., Node], monkeypatch: pytest.MonkeyPatch, body: str, extra: str, cause: str
):
    monkeypatch.setenv("CATENARY_WASM_FUEL", "100000")
    monkeypatch.setenv("CATENARY_WASM_MEMORY", str(16 * 65536))
    node = make_node()
    add_examples(node)
    bad = node.operations.add_wasm(
        wat(body, extra=extra, manifest={**ECHO_MANIFEST, "name": "test/bad", "inputs": ["bytes"]}).encode()
    )
    wf = node.workflows.create(
        manifest(
            ([-1], ["std/utf8-encode", "example/reverse"]), ([0], ["example/adler32"]), ([0], ["test/bad"])
        )
    )
    run = node.runs.new(wf.id)
    node.runs.next(run.id, ["keep me"])
    node.runs.next(run.id)
    with pytest.raises(ExecutionFailedError) as info:
        node.runs.next(run.id)
    module = bad.version.implementation["module"]
    assert f"segment 2 step 0 (test/bad): WasmExecutionError: wasm module {module}: {cause}" in str(
        info.value
    )
    state = node.runs.get(run.id)
    assert state.status == "failed" and sorted(state.outputs) == [0, 1]
    executions = {(e.segment, e.step): e for e in node.executions.iterate(ExecutionFilter(run=run.id))}
    assert executions[(2, 0)].status == Status.FAILED and cause in executions[(2, 0)].error
    assert all(executions[k].status == Status.COMPLETED for k in [(0, 0), (0, 1), (1, 0)])
    reversed_cid = executions[(0, 1)].output
    assert node.values.get(reversed_cid) == b"em peek"
    assert block_cid(node.values.get_bytes(reversed_cid)) == reversed_cid
    # The process goes on: the same node runs the good part again.
    again = node.workflows.create(manifest(([-1], ["std/utf8-encode", "example/reverse"])))
    assert node.runs.run(again.id, {0: ["ok"]}, fresh=True)[1].result == b"ko"
