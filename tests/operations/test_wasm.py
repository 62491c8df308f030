"""WASM operations without a node: the ABI checks at registration, the examples, the sandbox
(fuel, memory cap, traps, fresh instances, NaN canonicalization) and output validation."""

from __future__ import annotations

import json
import platform
import zlib
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from catenary.cid import CID, cid_of, encode
from catenary.errors import BadInputError, ManifestError
from catenary.operations.wasm import (
    WasmExecutionError,
    WasmLimits,
    WasmModule,
    WasmOperation,
    from_module,
    module_cid,
    runtime,
    wasm_bytes,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "wasm"

ECHO_MANIFEST = {
    "name": "test/echo",
    "description": "",
    "inputs": ["any"],
    "output": "any",
    "config": {},
    "groups": [],
}

# Echo input 0: the output is the input's (ptr, len).
ECHO = """(i32.store (local.get $ret) (i32.load (local.get $args)))
          (i32.store offset=4 (local.get $ret) (i32.load offset=4 (local.get $args)))
          (i32.const 0)"""

ALLOC = """(func (export "catenary_alloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (local.get $p))"""


def wat(
    run: str = ECHO,
    *,
    manifest: dict[str, Any] | None = ECHO_MANIFEST,
    extra: str = "",
    alloc: str = ALLOC,
    pages: int = 1,
    imports: str = "",
) -> str:
    """A module in WAT with the ABI's exports around a ``catenary_run`` body."""
    section = ""
    if manifest is not None:
        text = json.dumps(manifest).replace("\\", "\\\\").replace('"', '\\"')
        section = f'(@custom "catenary.manifest" "{text}")'
    return f"""(module {section}
      {imports}
      (memory (export "memory") {pages})
      (global $heap (mut i32) (i32.const 1024))
      (func (export "catenary_abi_1"))
      {alloc}
      {extra}
      (func (export "catenary_run") (param $args i32) (param $nargs i32) (param $config i32)
                                    (param $config_len i32) (param $ret i32) (result i32)
        {run}))"""


def build(source: str, manifest: Any = None, limits: WasmLimits | None = None) -> WasmOperation:
    return from_module(wasm_bytes(source.encode()), manifest, limits)


def returning(data: bytes, status: int = 0) -> str:
    """A run body that returns ``data`` (from a data segment at 16) with ``status``."""
    return f"""(i32.store (local.get $ret) (i32.const 16))
               (i32.store offset=4 (local.get $ret) (i32.const {len(data)}))
               (i32.const {status})"""


def data_segment(data: bytes) -> str:
    return '(data (i32.const 16) "' + "".join(f"\\{b:02x}" for b in data) + '")'


def example(name: str) -> WasmOperation:
    return from_module(wasm_bytes((EXAMPLES / f"{name}.wat").read_bytes(), name))


# -- the examples -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [b"", b"a", b"abc", bytes(range(24)), bytes(range(256)), b"x" * 70_000])
def test_reverse_reverses(value: bytes):
    assert example("reverse").func(value) == value[::-1]


@pytest.mark.parametrize("value", [b"", b"a", b"Wikipedia", bytes(range(256)) * 40, b"\xff" * 6000])
def test_adler32_matches_zlib(value: bytes):
    assert example("adler32").func(value) == zlib.adler32(value)


@pytest.mark.parametrize(
    "value,key,expected",
    [
        ({"a": 1}, "a", True),
        ({"a": 1}, "b", False),
        ({"ab": 1}, "a", False),
        ({"a": 1}, "ab", False),
        ({}, "a", False),
        ([{"a": 1}], "a", False),
        (None, "a", False),
        ("a", "a", False),
        ({"x": [1, {"target": b"zz"}], "y": 2}, "target", False),  # nested keys do not count
        (
            {
                "x": [1, {"q": b"z" * 300}, 2.5, None, True, -70000, 2**64 - 1],
                "yy": {"k": cid_of(1)},
                "name": "n" * 300,
                "target": 1,
            },
            "target",
            True,
        ),
    ],
)
def test_has_key(value: Any, key: str, expected: bool):
    assert example("has-key").func(value, key=key) is expected


def test_has_key_without_config_reports_its_error():
    op = example("has-key")
    with pytest.raises(WasmExecutionError) as info:
        op.func({"a": 1})
    assert str(info.value) == (
        f"wasm module {op.module_cid}: the module reported an error: "
        f'example/has-key: config "key" is required (the map key to look for)'
    )


def test_examples_carry_their_manifests():
    names = {example(n).name: example(n).manifest for n in ("reverse", "adler32", "has-key")}
    assert names["example/adler32"].inputs == ("bytes",) and names["example/adler32"].output == "int"
    assert names["example/has-key"].config == {"key": ()}


# -- identity and determinism ---------------------------------------------------------------------


def test_module_cid_is_raw_blake2b_of_the_bytes():
    import hashlib

    data = wasm_bytes(wat().encode())
    cid = module_cid(data)
    assert (
        cid.cid_bytes == bytes([1, 0x55, 0xA0, 0xE4, 2, 32]) + hashlib.blake2b(data, digest_size=32).digest()
    )
    assert str(cid).startswith("bafk2bza")


def test_version_names_the_module_and_is_stable():
    data = wasm_bytes((EXAMPLES / "reverse.wat").read_bytes())
    a, b = from_module(data), from_module(bytes(data))
    assert a.version_id == b.version_id
    assert a.version.data() == {
        "operation": a.manifest.id,
        "implementation": {"kind": "wasm", "module": module_cid(data)},
    }
    assert a.version_id == cid_of(
        {"operation": a.manifest.id, "implementation": {"kind": "wasm", "module": module_cid(data)}}
    )


def test_same_call_uses_the_same_fuel_on_another_module_object():
    data = wasm_bytes((EXAMPLES / "adler32.wat").read_bytes())
    value = bytes(range(256)) * 8
    runs = []
    for _ in range(2):
        module = WasmModule(module_cid(data), data)  # as another node would load it
        for _ in range(2):
            result = module.invoke([encode(value)], encode({}))
            runs.append((result.data, result.fuel, module.last_fuel))
    assert len(set(runs)) == 1
    assert runs[0][1] > len(value)  # it did count the loop


def test_each_call_gets_a_fresh_instance():
    counter = """(global.set $n (i32.add (global.get $n) (i32.const 1)))
                 (i32.store8 (i32.const 16) (global.get $n))
                 """ + returning(b"\x00")
    op = build(wat(counter, extra="(global $n (mut i32) (i32.const 0))"))
    assert [op.func(1), op.func(1), op.func(1)] == [1, 1, 1]


def test_nan_bits_are_canonical():
    # x / x for x = 0.0 read from the input (a CBOR float: fb + 8 bytes), returned as 8 bytes.
    nan = """(i32.store8 (i32.const 16) (i32.const 0x48))
             (i64.store (i32.const 17)
               (i64.reinterpret_f64
                 (f64.div (f64.load (i32.add (i32.load (local.get $args)) (i32.const 1)))
                          (f64.load (i32.add (i32.load (local.get $args)) (i32.const 1))))))
             """ + returning(b"\x00" * 9)
    source = wat(nan)
    assert build(source).func(0.0) == (0x7FF8000000000000).to_bytes(8, "little")
    if platform.machine() in ("x86_64", "AMD64"):
        # The premise: without canonicalization this CPU gives the negative NaN.
        config = wasmtime.Config()
        engine = wasmtime.Engine(config)
        store = wasmtime.Store(engine)
        module = wasmtime.Module(
            engine,
            wasmtime.wat2wasm(
                '(module (func (export "f") (param f64) (result i64)'
                " (i64.reinterpret_f64 (f64.div (local.get 0) (local.get 0)))))"
            ),
        )
        f = wasmtime.Instance(store, module, []).exports(store)["f"]
        assert f(store, 0.0) & (2**64 - 1) == 0xFFF8000000000000


def test_compiled_modules_are_cached_by_cid():
    data = wasm_bytes(wat(returning(b"\x07"), extra=data_segment(b"\x07")).encode())
    op = from_module(data)
    assert op.func(None) == 7
    compiled = runtime._compiled[op.module_cid]
    assert op.func(None) == 7 and runtime._compiled[op.module_cid] is compiled
    assert from_module(data).module.invoke([encode(None)], encode({})).value == 7
    assert runtime._compiled[op.module_cid] is compiled


# -- registration refusals ------------------------------------------------------------------------


def refused(data: bytes, manifest: Any = None, limits: WasmLimits | None = None) -> str:
    with pytest.raises(BadInputError) as info:
        from_module(data, manifest, limits)
    message = str(info.value)
    assert str(module_cid(data)) in message, message
    return message


def test_not_wasm_is_refused():
    message = refused(b"\0asm\x01\0\0\0garbage")
    assert "not a valid WebAssembly module" in message


def test_neither_wasm_nor_wat_is_refused():
    with pytest.raises(BadInputError, match=r"m.bin: neither a WebAssembly binary .*\(not UTF-8 at byte 0\)"):
        wasm_bytes(b"\xff\xfe\x00", "m.bin")
    with pytest.raises(BadInputError, match=r"m.wat: not valid WAT at line 1, column 19: "):
        wasm_bytes(b"(module (func $f (bogus)))", "m.wat")


@pytest.mark.parametrize(
    "imported",
    [
        '(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))',
        '(import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))',
        '(import "wasi_snapshot_preview1" "random_get" (func (param i32 i32) (result i32)))',
        '(import "env" "now" (func (result f64)))',
    ],
)
def test_imports_are_refused_by_name(imported: str):
    module, name = imported.split('"')[1], imported.split('"')[3]
    message = refused(wasm_bytes(wat(imports=imported).encode()))
    assert f"imports {module}.{name};" in message
    assert "allows no imports" in message


def test_imported_memory_is_refused():
    source = wat().replace(
        '(memory (export "memory") 1)', '(import "env" "memory" (memory 1)) (export "memory" (memory 0))'
    )
    assert "imports env.memory" in refused(wasm_bytes(source.encode()))


@pytest.mark.parametrize(
    "change,expected",
    [
        (
            lambda s: s.replace('(export "catenary_run")', '(export "run")'),
            "does not export catenary_run (func (param i32 i32 i32 i32 i32) (result i32))",
        ),
        (lambda s: s.replace('(memory (export "memory") 1)', "(memory 1)"), 'does not export "memory"'),
        (
            lambda s: s.replace("(param $size i32) (result i32)", "(param $size i64) (result i32)").replace(
                "(local.get $size)", "(i32.wrap_i64 (local.get $size))"
            ),
            "exports catenary_alloc as (func (param i64) (result i32)), "
            "expected (func (param i32) (result i32))",
        ),
        (
            lambda s: s.replace('(func (export "catenary_abi_1"))', ""),
            "does not export catenary_abi_1 (func)",
        ),
    ],
)
def test_missing_or_mistyped_exports_are_refused(change: Any, expected: str):
    assert expected in refused(wasm_bytes(change(wat()).encode()))


def test_a_start_function_that_traps_is_refused():
    source = wat(extra="(func $boom unreachable) (start $boom)")
    assert "cannot be instantiated: trap: unreachable instruction executed" in refused(
        wasm_bytes(source.encode())
    )


def test_initial_memory_over_the_cap_is_refused():
    data = wasm_bytes(wat(pages=4).encode())
    message = refused(data, limits=WasmLimits(memory=2 * 65536))
    assert "cannot be instantiated within the limits" in message


def test_manifest_is_required():
    message = refused(wasm_bytes(wat(manifest=None).encode()))
    assert 'no operation manifest: embed one in a custom section "catenary.manifest"' in message


def test_sidecar_manifest_is_used_and_may_repeat_the_embedded_one():
    data = wasm_bytes(wat(manifest=None).encode())
    op = from_module(data, ECHO_MANIFEST)
    assert op.name == "test/echo"
    assert from_module(wasm_bytes(wat().encode()), {"data": ECHO_MANIFEST}).name == "test/echo"


def test_sidecar_that_differs_from_the_embedded_manifest_is_refused():
    message = refused(wasm_bytes(wat().encode()), {**ECHO_MANIFEST, "name": "test/other"})
    assert "differs from the manifest given beside it (test/other" in message


def test_manifest_id_must_match():
    wrong = "bafy2bzaceacb32a2uqafk2cwb6paicq2hbeiox64qyqjry4y22234zd73sqzm"
    with pytest.raises(ManifestError, match=f"manifest: id: {wrong} does not match"):
        from_module(wasm_bytes(wat(manifest=None).encode()), {"id": wrong, "data": ECHO_MANIFEST})


@pytest.mark.parametrize(
    "manifest,expected",
    [
        ({**ECHO_MANIFEST, "inputs": ["bytez"]}, "catenary.manifest: inputs[0]: unknown type 'bytez'"),
        ({**ECHO_MANIFEST, "inputs": "bytes"}, "catenary.manifest: inputs: expected a list"),
        ({**ECHO_MANIFEST, "extra": 1}, "catenary.manifest: unknown key(s): extra"),
        (
            {k: v for k, v in ECHO_MANIFEST.items() if k != "output"},
            "catenary.manifest: missing key(s): output",
        ),
        ({**ECHO_MANIFEST, "config": {"k": "v"}}, "catenary.manifest: config.k: expected a list"),
    ],
)
def test_bad_embedded_manifest_names_the_path(manifest: dict[str, Any], expected: str):
    data = wasm_bytes(wat(manifest=manifest).encode())
    with pytest.raises(ManifestError) as info:
        from_module(data)
    assert expected in str(info.value) and str(module_cid(data)) in str(info.value)


def test_manifest_section_may_be_dag_cbor():
    text = "".join(f"\\{b:02x}" for b in encode(ECHO_MANIFEST))
    source = wat(manifest=None).replace("(module", f'(module (@custom "catenary.manifest" "{text}")', 1)
    assert from_module(wasm_bytes(source.encode())).manifest.data() == ECHO_MANIFEST


def test_std_names_are_reserved():
    message = refused(wasm_bytes(wat(manifest={**ECHO_MANIFEST, "name": "std/hash"}).encode()))
    assert "'std/hash' is under std/, which is reserved" in message


# -- execution failures: clear errors naming the module, the process goes on ----------------------


def failure(source: str, *inputs: Any, limits: WasmLimits | None = None, **config: str) -> WasmExecutionError:
    op = build(source, limits=limits)
    with pytest.raises(WasmExecutionError) as info:
        op.func(*inputs, **config)
    assert str(info.value).startswith(f"wasm module {op.module_cid}: ")
    assert info.value.fuel == op.last_fuel is not None
    return info.value


def test_endless_loop_runs_out_of_fuel():
    error = failure(wat("(loop $l (br $l)) (i32.const 0)"), 1, limits=WasmLimits(fuel=200_000))
    assert error.cause.startswith("ran out of fuel: the budget of 200000 units is used up")
    assert error.fuel == 200_000


def test_growing_memory_past_the_cap_fails():
    grow = """(block $refused (loop $more
                (br_if $refused (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
                (br $more)))
              unreachable"""
    error = failure(wat(grow), 1, limits=WasmLimits(memory=8 * 65536))
    assert error.cause == (
        "trap: unreachable instruction executed (memory is at the cap of 524288 "
        "bytes, so a memory.grow was refused)"
    )


def test_default_memory_cap_holds_too():
    grow = (
        "(drop (memory.grow (i32.const 4096))) (i32.store (i32.const 0x10000000) (i32.const 1)) (i32.const 0)"
    )
    error = failure(wat(grow), 1)
    assert error.cause.startswith("trap: out-of-bounds memory access")


def test_out_of_bounds_write_traps():
    error = failure(wat("(i32.store (i32.const -4) (i32.const 1)) (i32.const 0)"), 1)
    assert error.cause == "trap: out-of-bounds memory access"


def test_stack_overflow_traps():
    error = failure(wat("(call $down) (i32.const 0)", extra="(func $down (call $down))"), 1)
    assert error.cause == "trap: call stack exhausted"


@pytest.mark.parametrize(
    "output,expected",
    [
        (b"\xff", "output is not valid DAG-CBOR: bytes are not valid DAG-CBOR"),
        (
            b"\x18\x05",
            "output is not valid DAG-CBOR: bytes are not valid DAG-CBOR: integer not minimally encoded",
        ),
        (b"\x01\x02", "did not parse to end of buffer"),
        (b"\xa2\x61b\x01\x61a\x02", "non-canonical map key ordering"),
        (b"\xf9\x3c\x00", "output is not valid DAG-CBOR"),  # a 16-bit float
        (b"", "output is not valid DAG-CBOR"),
    ],
)
def test_output_must_be_canonical_dag_cbor(output: bytes, expected: str):
    error = failure(wat(returning(output), extra=data_segment(output) if output else ""), 1)
    assert expected in error.cause


def test_reported_error_and_unknown_status():
    message = b"bad input: no"
    error = failure(wat(returning(message, status=1), extra=data_segment(message)), 1)
    assert error.cause == "the module reported an error: bad input: no"
    error = failure(wat(returning(b"", status=7)), 1)
    assert error.cause == "catenary_run returned status 7; catenary-wasm-abi/1 has 0 (ok) and 1 (error)"


def test_output_outside_memory_fails():
    run = """(i32.store (local.get $ret) (i32.const 65000))
             (i32.store offset=4 (local.get $ret) (i32.const 1000)) (i32.const 0)"""
    error = failure(wat(run), 1)
    assert (
        error.cause == "catenary_run returned its output at [65000, 66000), outside its memory of 65536 bytes"
    )


def test_allocator_returning_a_bad_range_fails():
    alloc = '(func (export "catenary_alloc") (param i32) (result i32) (i32.const 65530))'
    error = failure(wat(alloc=alloc), b"some input")
    assert error.cause.startswith("catenary_alloc(") and "outside its memory of 65536 bytes" in error.cause


def test_a_failure_leaves_the_module_usable():
    op = build(
        wat(
            "(if (i32.eq (i32.load8_u (i32.load (local.get $args))) (i32.const 0xf5)) "
            "(then unreachable)) " + ECHO
        )
    )
    with pytest.raises(WasmExecutionError):
        op.func(True)
    assert op.func(False) is False and op.func({"a": [1]}) == {"a": [1]}


def test_a_stored_module_that_does_not_hash_to_its_cid_fails_at_run_time():
    data = wasm_bytes(wat().encode())
    other = module_cid(data + b"\0")
    with pytest.raises(WasmExecutionError, match=f"wasm module {other}: the module bytes hash to"):
        WasmModule(other, data).call(1)


def test_limits_from_env(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CATENARY_WASM_FUEL", "1234")
    monkeypatch.setenv("CATENARY_WASM_MEMORY", "131072")
    assert WasmLimits.from_env() == WasmLimits(1234, 131072)
    monkeypatch.setenv("CATENARY_WASM_FUEL", "lots")
    with pytest.raises(BadInputError, match=r"\$CATENARY_WASM_FUEL: 'lots' is not an integer"):
        WasmLimits.from_env()
    monkeypatch.delenv("CATENARY_WASM_FUEL")
    monkeypatch.delenv("CATENARY_WASM_MEMORY")
    assert WasmLimits.from_env() == WasmLimits(runtime.DEFAULT_FUEL, runtime.DEFAULT_MEMORY)


def test_wasm_operation_is_an_operation():
    from catenary.operations import Operation

    op = example("reverse")
    assert isinstance(op, Operation) and op.version.kind == "wasm"
    assert op(b"ab") == b"ba" and op.source == str(op.module_cid)
    assert isinstance(op.module_cid, CID)
