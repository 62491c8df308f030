"""Sandboxed, deterministic operations in WebAssembly (catenary-wasm-abi/1, docs/wasm-abi.md).

A module is content-addressed by its bytes (CIDv1, raw codec, blake2b-256) and stored in the
value store; its operation version is ``{operation, implementation: {kind: "wasm", module}}``.
Each call gets a fresh instance with a fuel budget and a memory cap, no imports, and NaN
canonicalization, so the same inputs give the same output (and use the same fuel) anywhere.

Importing this package imports ``wasmtime``; the rest of catenary imports it only when a
store holds a wasm operation or a module is being added.
"""

from catenary.errors import InvalidModuleError, WasmExecutionError
from catenary.extras import require_extra

require_extra("wasm")

from catenary.operations.wasm.abi import ABI_MARKER, MANIFEST_SECTION, check_module, parse_manifest  # noqa: E402
from catenary.operations.wasm.operation import WasmOperation, from_module, load_stored, register, wasm_bytes  # noqa: E402
from catenary.operations.wasm.runtime import (  # noqa: E402
    ABI,
    DEFAULT_FUEL,
    DEFAULT_MEMORY,
    Invocation,
    WasmLimits,
    WasmModule,
    module_cid,
)

__all__ = [
    "ABI",
    "ABI_MARKER",
    "DEFAULT_FUEL",
    "DEFAULT_MEMORY",
    "InvalidModuleError",
    "Invocation",
    "MANIFEST_SECTION",
    "WasmExecutionError",
    "WasmLimits",
    "WasmModule",
    "WasmOperation",
    "check_module",
    "from_module",
    "load_stored",
    "module_cid",
    "parse_manifest",
    "register",
    "wasm_bytes",
]
