"""WASM operations: an :class:`~catenary.operations.Operation` whose function runs a module,
so the engine calls, type-checks and records it exactly like a Python operation."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import wasmtime

from catenary.cid import CID
from catenary.errors import BadInputError, InvalidModuleError
from catenary.model import OperationManifest, OperationVersion
from catenary.operations.decorator import Operation
from catenary.operations.registry import Registry
from catenary.operations.wasm.abi import MAGIC, MANIFEST_SECTION, embedded_manifest, parse_manifest
from catenary.operations.wasm.runtime import WasmLimits, WasmModule, compile_module, module_cid

RESERVED_PREFIX = "std/"


class WasmOperation(Operation):
    """An operation implemented by a WebAssembly module (implementation kind ``wasm``).

    ``func`` is the module's :meth:`~WasmModule.call`; ``source`` is the module's CID text.
    """

    def __init__(
        self,
        manifest: OperationManifest,
        version: OperationVersion,
        func: Callable[..., Any],
        source: str,
        module: WasmModule,
    ) -> None:
        super().__init__(manifest, version, func, source)
        self.module = module

    @classmethod
    def build(cls, manifest: OperationManifest, module: WasmModule) -> WasmOperation:
        version = OperationVersion(manifest.id, {"kind": "wasm", "module": module.cid})
        return cls(manifest, version, module.call, str(module.cid), module)

    @property
    def module_cid(self) -> CID:
        return self.module.cid

    @property
    def last_fuel(self) -> int | None:
        """Fuel used by this thread's last execution of the module (deterministic)."""
        return self.module.last_fuel


def wasm_bytes(data: bytes, name: str = "module") -> bytes:
    """Module bytes from a binary module, or from WAT text compiled with wasmtime's wat2wasm."""
    if data[:4] == MAGIC:
        return bytes(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInputError(
            f"{name}: neither a WebAssembly binary (it does not start with \\0asm) "
            f"nor WAT text (not UTF-8 at byte {exc.start})"
        ) from exc
    try:
        return bytes(wasmtime.wat2wasm(text))
    except wasmtime.WasmtimeError as exc:
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        # wat2wasm says where as "--> <anon>:LINE:COLUMN" on its second line
        place = re.search(r"^--> .*:(\d+):(\d+)$", lines[1] if len(lines) > 1 else "")
        where = f" at line {place[1]}, column {place[2]}" if place else ""
        raise BadInputError(f"{name}: not valid WAT{where}: {lines[0] if lines else exc}") from exc


def from_module(
    data: bytes, manifest: OperationManifest | dict[str, Any] | None = None, limits: WasmLimits | None = None
) -> WasmOperation:
    """Validate a binary module against catenary-wasm-abi/1 and build its operation.

    The manifest is the module's ``catenary.manifest`` section, or ``manifest`` (a sidecar);
    when both are there they must be the same. Raises a BadInputError naming the module CID.
    """
    cid = module_cid(data)
    compile_module(cid, data)  # valid WASM, no imports, the ABI's exports
    embedded = embedded_manifest(cid, data)
    given = parse_manifest(manifest, "manifest") if isinstance(manifest, dict) else manifest
    if embedded is not None and given is not None and embedded.id != given.id:
        raise InvalidModuleError(
            f"wasm module {cid}: its {MANIFEST_SECTION} section ({embedded.name}, {embedded.id}) "
            f"differs from the manifest given beside it ({given.name}, {given.id}); give one"
        )
    chosen = embedded or given
    if chosen is None:
        raise InvalidModuleError(
            f"wasm module {cid}: no operation manifest: embed one in a custom "
            f'section "{MANIFEST_SECTION}" or give one (--manifest FILE)'
        )
    if chosen.name.startswith(RESERVED_PREFIX):
        raise InvalidModuleError(
            f"wasm module {cid}: the name {chosen.name!r} is under "
            f"{RESERVED_PREFIX}, which is reserved for the standard library"
        )
    module = WasmModule(cid, data, limits)
    module.probe()
    return WasmOperation.build(chosen, module)


def register(registry: Registry, op: WasmOperation, *, bind_name: bool = True) -> None:
    """Add ``op`` to a registry. A Python operation of this process keeps its name, so that a
    stored module can never change what an ``{"op": NAME}`` shorthand means for it; without
    ``bind_name`` (a module that came in a bundle) no name changes at all."""
    held = registry.by_name(op.name)
    registry.add(op, bind_name=bind_name)
    if held is not None and not isinstance(held, WasmOperation):
        registry.add(held)


def load_stored(
    registry: Registry,
    versions: Iterable[tuple[OperationManifest, OperationVersion]],
    get_block: Callable[[CID], bytes | None],
    *,
    bind_names: bool = True,
) -> list[WasmOperation]:
    """Register the stored ``wasm`` versions whose module bytes are at hand; compiled lazily.
    ``bind_names`` false registers them by version id only (see :func:`register`)."""
    limits = WasmLimits.from_env()
    loaded = []
    for manifest, version in versions:
        cid = version.implementation.get("module")
        if version.kind != "wasm" or not isinstance(cid, CID):
            continue
        data = get_block(cid)
        if data is None:  # the version is known here, its code is not: it stays unavailable
            continue
        op = WasmOperation.build(manifest, WasmModule(cid, data, limits))
        if op.version_id != version.id:  # a version block that is not exactly {operation, kind, module}
            continue
        register(registry, op, bind_name=bind_names)
        loaded.append(op)
    return loaded
