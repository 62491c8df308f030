"""Running a module: one engine per process, compiled modules cached by CID, a fresh sandboxed
instance per call with a fuel budget and a memory cap (docs/wasm-abi.md).

The hot path (export lookup, calls, memory access) goes through the ``wasmtime`` package's
ctypes bindings (``wasmtime._ffi``) instead of its high-level ``Func.__call__`` and
``Instance.exports``: those look up types and wrap values on every call, and an invocation
through them costs about 190 µs here against about 50 µs this way (the target is 200 µs).
The signatures were checked against the ABI when the module was compiled
(:func:`catenary.operations.wasm.abi.check_module`), which is what makes the unchecked call
sound. pyproject pins wasmtime to one major version for this
reason, and because fuel accounting may change between versions.
"""

from __future__ import annotations

import ctypes
import os
import struct
import threading
from ctypes import POINTER, byref
from dataclasses import dataclass
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

from catenary.cid import CID, decode, encode, raw_cid
from catenary.errors import (  # the WASM errors were defined here; still importable from here
    BadInputError,
    CatenaryError,
    EncodingError,
    InvalidModuleError,
    WasmExecutionError,
)

ABI = "catenary-wasm-abi/1"
PAGE = 65536
DEFAULT_FUEL = 1_000_000_000
DEFAULT_MEMORY = 256 * 1024 * 1024
MAX_TABLE_ELEMENTS = 1_000_000

STATUS_OK = 0
STATUS_ERROR = 1


def module_cid(data: bytes) -> CID:
    """CID of module bytes: CIDv1, codec raw (0x55), multihash blake2b-256 (``bafk2bza...``)."""
    return raw_cid(data)


@dataclass(frozen=True)
class WasmLimits:
    """Per-call limits. The same limits on every node make failures reproducible too."""

    fuel: int = DEFAULT_FUEL
    memory: int = DEFAULT_MEMORY  # bytes of linear memory

    def __post_init__(self) -> None:
        if self.fuel < 1 or self.memory < PAGE:
            raise BadInputError(
                f"wasm limits: fuel must be >= 1 and memory >= {PAGE} bytes, "
                f"got fuel={self.fuel} memory={self.memory}"
            )

    @classmethod
    def from_env(cls) -> WasmLimits:
        """The ABI defaults, or ``$CATENARY_WASM_FUEL`` / ``$CATENARY_WASM_MEMORY``."""
        values = {}
        for field, var in (("fuel", "CATENARY_WASM_FUEL"), ("memory", "CATENARY_WASM_MEMORY")):
            text = os.environ.get(var)
            if text:
                try:
                    values[field] = int(text)
                except ValueError as exc:
                    raise BadInputError(f"${var}: {text!r} is not an integer") from exc
        return cls(**values)


_lock = threading.Lock()
_engine: wasmtime.Engine | None = None
_compiled: dict[CID, Compiled] = {}


def engine() -> wasmtime.Engine:
    """The process's engine. Its configuration is what makes execution deterministic."""
    global _engine
    with _lock:
        if _engine is None:
            config = wasmtime.Config()
            config.consume_fuel = True  # the deterministic instruction budget
            config.cranelift_nan_canonicalization = True  # NaN bits are the same on every CPU
            # Features whose results may differ between machines are off.
            config.wasm_threads = False
            config.shared_memory = False
            config.wasm_relaxed_simd = False
            _engine = wasmtime.Engine(config)
        return _engine


@dataclass(frozen=True)
class Compiled:
    """A compiled module and its pre-linked instantiator (no imports to link)."""

    module: wasmtime.Module
    pre: wasmtime.InstancePre


def compile_module(cid: CID, data: bytes, *, error: type[CatenaryError] = InvalidModuleError) -> Compiled:
    """Compile (once per process per CID) and check against the ABI; ``error`` is raised."""
    found = _compiled.get(cid)
    if found is not None:
        return found
    from catenary.operations.wasm.abi import check_module

    if module_cid(data) != cid:
        raise _error(error, cid, f"the module bytes hash to {module_cid(data)}, not to its CID")
    try:
        module = wasmtime.Module(engine(), data)
    except wasmtime.WasmtimeError as exc:
        raise _error(error, cid, f"not a valid WebAssembly module: {_first_line(exc)}") from exc
    problem = check_module(module)
    if problem:
        raise _error(error, cid, problem)
    compiled = Compiled(module, wasmtime.Linker(engine()).instantiate_pre(module))
    with _lock:
        _compiled.setdefault(cid, compiled)
    return compiled


def _error(kind: type[CatenaryError], cid: CID, cause: str) -> CatenaryError:
    if kind is WasmExecutionError:
        return WasmExecutionError(cid, cause)
    return kind(f"wasm module {cid}: {cause}")


@dataclass(frozen=True)
class Invocation:
    """One call's result: the output value, its canonical DAG-CBOR bytes, the fuel used."""

    value: Any
    data: bytes
    fuel: int


_NAMES = {
    name: ctypes.create_string_buffer(name.encode(), len(name))
    for name in ("memory", "catenary_alloc", "catenary_run")
}


def _export(ctx: Any, instance: wasmtime.Instance, name: str) -> Any:
    item = ffi.wasmtime_extern_t()
    buf = _NAMES[name]
    if not ffi.wasmtime_instance_export_get(ctx, byref(instance._instance), buf, len(buf), byref(item)):
        raise RuntimeError(f"export {name} vanished")  # check_module made sure it exists
    return item.of.memory if name == "memory" else item.of.func


def _memory(ctx: Any, memory: Any) -> tuple[int, int]:
    """Where the instance's linear memory is, and its size (both change when it grows)."""
    size = ffi.wasmtime_memory_data_size(ctx, byref(memory))
    address = ctypes.cast(ffi.wasmtime_memory_data(ctx, byref(memory)), ctypes.c_void_p).value
    return address or 0, size


class _Failure(Exception):
    def __init__(self, cause: str) -> None:
        self.cause = cause


def _call(ctx: Any, func: Any, raw: Any, nargs: int) -> None:
    trap = POINTER(ffi.wasm_trap_t)()
    error = ffi.wasmtime_func_call_unchecked(ctx, byref(func), raw, nargs, byref(trap))
    if error:
        raise _Failure(_first_line(wasmtime.WasmtimeError._from_ptr(error)))
    if trap:
        raise _Failure(_trap_cause(wasmtime.Trap._from_ptr(trap)))


_TRAPS = {
    wasmtime.TrapCode.OUT_OF_FUEL: "ran out of fuel",
    wasmtime.TrapCode.MEMORY_OUT_OF_BOUNDS: "trap: out-of-bounds memory access",
    wasmtime.TrapCode.UNREACHABLE: "trap: unreachable instruction executed",
    wasmtime.TrapCode.STACK_OVERFLOW: "trap: call stack exhausted",
    wasmtime.TrapCode.INTEGER_DIVISION_BY_ZERO: "trap: integer division by zero",
    wasmtime.TrapCode.INTEGER_OVERFLOW: "trap: integer overflow",
    wasmtime.TrapCode.BAD_CONVERSION_TO_INTEGER: "trap: invalid conversion to integer",
    wasmtime.TrapCode.TABLE_OUT_OF_BOUNDS: "trap: out-of-bounds table access",
    wasmtime.TrapCode.INDIRECT_CALL_TO_NULL: "trap: indirect call to a null table entry",
    wasmtime.TrapCode.BAD_SIGNATURE: "trap: indirect call signature mismatch",
}


def _trap_cause(trap: wasmtime.Trap) -> str:
    code = trap.trap_code
    if code in _TRAPS:
        return _TRAPS[code]
    return f"trap: {_first_line(trap)}"


def _first_line(exc: Any) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class WasmModule:
    """A module's bytes, addressed by CID, and how to call it (compiled on first use)."""

    def __init__(self, cid: CID, data: bytes, limits: WasmLimits | None = None) -> None:
        self.cid = cid
        self.data = bytes(data)
        self.limits = limits or WasmLimits.from_env()
        self._local = threading.local()

    @property
    def last_fuel(self) -> int | None:
        """Fuel used by this thread's last call of this module (None before the first)."""
        return getattr(self._local, "fuel", None)

    def _store(self) -> wasmtime.Store:
        """A fresh store for one instance: its fuel budget and its memory and table caps."""
        store = wasmtime.Store(engine())
        store.set_limits(
            memory_size=self.limits.memory,
            table_elements=MAX_TABLE_ELEMENTS,
            instances=1,
            tables=8,
            memories=1,
        )
        store.set_fuel(self.limits.fuel)
        return store

    def probe(self) -> None:
        """Instantiate once, as registration does: runs the start function (if any) under the
        limits and checks that the initial memory fits the cap; raises InvalidModuleError."""
        compiled = compile_module(self.cid, self.data)
        store = self._store()
        try:
            compiled.pre.instantiate(store)
        except wasmtime.Trap as exc:
            raise InvalidModuleError(
                f"wasm module {self.cid}: cannot be instantiated: {_trap_cause(exc)}"
            ) from exc
        except wasmtime.WasmtimeError as exc:
            raise InvalidModuleError(
                f"wasm module {self.cid}: cannot be instantiated within the limits: {_first_line(exc)}"
            ) from exc

    def call(self, *inputs: Any, **config: str) -> Any:
        """Run the module on decoded values, as the engine calls an operation's function."""
        return self.invoke([encode(v) for v in inputs], encode(config)).value

    def invoke(self, inputs: list[bytes], config: bytes) -> Invocation:
        """Run the module on DAG-CBOR inputs and config; raise :class:`WasmExecutionError`."""
        compiled = compile_module(self.cid, self.data, error=WasmExecutionError)
        fuel = self.limits.fuel
        store = self._store()
        ctx = store._context()
        memory = None
        try:
            try:
                instance = compiled.pre.instantiate(store)
            except wasmtime.Trap as exc:
                raise _Failure(f"while instantiating: {_trap_cause(exc)}") from exc
            except wasmtime.WasmtimeError as exc:
                raise _Failure(f"cannot instantiate: {_first_line(exc)}") from exc
            memory = _export(ctx, instance, "memory")
            status, payload = self._run(ctx, instance, memory, inputs, config)
        except _Failure as failure:
            used = fuel - store.get_fuel()
            self._local.fuel = used
            cause = failure.cause
            if cause.endswith("ran out of fuel"):
                cause += (
                    f": the budget of {fuel} units is used up (an endless loop, or more work "
                    f"than one call may do)"
                )
            elif memory is not None and _memory(ctx, memory)[1] + PAGE > self.limits.memory:
                cause += (
                    f" (memory is at the cap of {self.limits.memory} bytes, so a memory.grow was refused)"
                )
            raise WasmExecutionError(self.cid, cause, used) from failure
        used = fuel - store.get_fuel()
        self._local.fuel = used
        if status != STATUS_OK:
            message = payload.decode("utf-8", "replace")
            if len(message) > 1000:
                message = message[:1000] + "..."
            if status == STATUS_ERROR:
                raise WasmExecutionError(self.cid, f"the module reported an error: {message}", used)
            raise WasmExecutionError(
                self.cid, f"catenary_run returned status {status}; {ABI} has 0 (ok) and 1 (error)", used
            )
        try:
            value = decode(payload)
        except EncodingError as exc:
            raise WasmExecutionError(self.cid, f"output is not valid DAG-CBOR: {exc}", used) from exc
        if encode(value) != payload:
            raise WasmExecutionError(
                self.cid, "output is not canonical DAG-CBOR (re-encoding it gives other bytes)", used
            )
        return Invocation(value, payload, used)

    @staticmethod
    def _run(
        ctx: Any, instance: wasmtime.Instance, memory: Any, inputs: list[bytes], config: bytes
    ) -> tuple[int, bytes]:
        """ABI steps 2-4: one catenary_alloc, then catenary_run; returns (status, payload).

        The region the allocator gives is, in order: the (ptr, len) table of the inputs, the
        8-byte return slot, the inputs' bytes, the config's bytes. It is built in Python and
        copied in with one memmove.
        """
        count = len(inputs)
        head = 8 * count + 8
        total = head + sum(map(len, inputs)) + len(config)
        raw = (ffi.wasmtime_val_raw * 5)()
        raw[0].i32 = _i32(total)
        _call(ctx, _export(ctx, instance, "catenary_alloc"), raw, 5)
        base = raw[0].i32 & 0xFFFFFFFF
        address, size = _memory(ctx, memory)
        if base + total > size:
            raise _Failure(
                f"catenary_alloc({total}) returned {base}, a range outside its memory of {size} bytes"
            )
        table: list[int] = []
        pos = base + head
        for data in inputs:
            table += (pos, len(data))
            pos += len(data)
        ret = base + head - 8
        region = struct.pack(f"<{2 * count + 2}I", *table, 0, 0) + b"".join(inputs) + config
        ctypes.memmove(address + base, region, total)
        raw[0].i32, raw[1].i32, raw[2].i32, raw[3].i32, raw[4].i32 = (
            _i32(base),
            count,
            _i32(pos),
            len(config),
            _i32(ret),
        )
        _call(ctx, _export(ctx, instance, "catenary_run"), raw, 5)
        status = raw[0].i32
        address, size = _memory(ctx, memory)  # the call may have grown (moved) the memory
        start, length = struct.unpack("<II", ctypes.string_at(address + ret, 8))
        if start + length > size:
            what = "output" if status == STATUS_OK else "message"
            raise _Failure(
                f"catenary_run returned its {what} at [{start}, {start + length}), "
                f"outside its memory of {size} bytes"
            )
        return status, ctypes.string_at(address + start, length)


def _i32(value: int) -> int:
    """An unsigned 32-bit address as the signed i32 the raw value union holds."""
    return value - (1 << 32) if value >= 1 << 31 else value
