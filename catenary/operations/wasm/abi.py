"""What catenary-wasm-abi/1 asks of a module (docs/wasm-abi.md), checked at registration:
no imports, four exports with exact types, and an operation manifest, embedded in the
``catenary.manifest`` custom section or given beside the module.
"""

from __future__ import annotations

from typing import Any

import wasmtime

from catenary.cid import CID, decode
from catenary.cid.dagjson import parse as parse_dag_json
from catenary.errors import CatenaryError, ManifestError
from catenary.model import OperationManifest

MAGIC = b"\0asm"
MANIFEST_SECTION = "catenary.manifest"
ABI_MARKER = "catenary_abi_1"

# name -> (params, results); "memory" is checked apart.
FUNCTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    ABI_MARKER: ((), ()),
    "catenary_alloc": (("i32",), ("i32",)),
    "catenary_run": (("i32",) * 5, ("i32",)),
}


def signature(params: tuple[str, ...], results: tuple[str, ...]) -> str:
    """A function type in WAT notation, for error messages."""
    text = "(func"
    if params:
        text += " (param " + " ".join(params) + ")"
    if results:
        text += " (result " + " ".join(results) + ")"
    return text + ")"


def _kind(ty: Any) -> str:
    return {
        wasmtime.FuncType: "a function",
        wasmtime.MemoryType: "a memory",
        wasmtime.GlobalType: "a global",
        wasmtime.TableType: "a table",
    }.get(type(ty), "something")


def check_module(module: wasmtime.Module) -> str | None:
    """Why a compiled module does not follow the ABI, or None."""
    imports = [f"{i.module}.{i.name}" for i in module.imports]
    if imports:
        return (
            f"imports {', '.join(imports)}; catenary-wasm-abi/1 allows no imports (no WASI, "
            f"clock, random, filesystem or network access)"
        )
    exports = {e.name: e.type for e in module.exports}
    memory = exports.get("memory")
    if not isinstance(memory, wasmtime.MemoryType):
        found = "does not export" if memory is None else f"exports {_kind(memory)} as"
        return f'{found} "memory"; catenary-wasm-abi/1 needs its linear memory exported as "memory"'
    if memory.is_64 or memory.is_shared:
        return "its exported memory is 64-bit or shared; catenary-wasm-abi/1 takes a plain 32-bit memory"
    for name, (params, results) in FUNCTIONS.items():
        ty = exports.get(name)
        expected = signature(params, results)
        if ty is None:
            return f"does not export {name} {expected} (see docs/wasm-abi.md)"
        if not isinstance(ty, wasmtime.FuncType):
            return f"exports {_kind(ty)} as {name}, expected {expected}"
        actual = (tuple(str(p) for p in ty.params), tuple(str(r) for r in ty.results))
        if actual != (params, results):
            return f"exports {name} as {signature(*actual)}, expected {expected}"
    return None


def custom_sections(data: bytes, name: str) -> list[bytes]:
    """The payloads of the custom sections called ``name`` (in a module wasmtime validated)."""
    found = []
    pos = 8  # magic and version
    while pos < len(data):
        section = data[pos]
        size, pos = _leb128(data, pos + 1)
        end = pos + size
        if section == 0:
            length, start = _leb128(data, pos)
            if data[start : start + length] == name.encode():
                found.append(bytes(data[start + length : end]))
        pos = end
    return found


def _leb128(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def parse_manifest(document: Any, where: str) -> OperationManifest:
    """An operation manifest from parsed DAG-JSON / DAG-CBOR: the SPEC §2 map, or
    ``{"id"?, "data": map}`` as workflow manifests are written. Errors name ``where``."""
    if isinstance(document, dict) and "data" in document and set(document) <= {"id", "data"}:
        data = document["data"]
        claimed = document.get("id")
    else:
        data, claimed = document, None
    try:
        manifest = _manifest(data)
    except ManifestError as exc:
        raise ManifestError(f"{where}: {exc.path}" if exc.path else where, exc.reason) from exc
    if claimed is not None and str(claimed) != str(manifest.id):
        raise ManifestError(
            f"{where}: id", f"{claimed} does not match the manifest, whose id is {manifest.id}"
        )
    return manifest


def _manifest(data: Any) -> OperationManifest:
    # from_data checks the keys and the types; the shapes of the containers are checked here,
    # so that a string where a list belongs is an error and not a list of characters.
    if not isinstance(data, dict):
        raise ManifestError(
            "", "an operation manifest is a map {name, description, inputs, output, config, groups}"
        )
    shapes = {"name": str, "description": str, "inputs": list, "config": dict, "groups": list}
    for key, kind in shapes.items():
        if key in data and not isinstance(data[key], kind):
            raise ManifestError(key, f"expected a {'string' if kind is str else kind.__name__}")
    for key, allowed in data.get("config", {}).items():
        if not isinstance(allowed, list):
            raise ManifestError(f"config.{key}", "expected a list of allowed values")
    for i, group in enumerate(data.get("groups", [])):
        if not isinstance(group, str):
            raise ManifestError(f"groups[{i}]", "expected a string")
    return OperationManifest.from_data(data)


def embedded_manifest(cid: CID, data: bytes) -> OperationManifest | None:
    """The manifest in the module's ``catenary.manifest`` section (DAG-JSON or DAG-CBOR)."""
    sections = custom_sections(data, MANIFEST_SECTION)
    if not sections:
        return None
    where = f"wasm module {cid}: custom section {MANIFEST_SECTION}"
    if len(sections) > 1:
        raise ManifestError(where, f"appears {len(sections)} times; give one")
    payload = sections[0]
    try:
        if payload.lstrip()[:1] == b"{":
            document = parse_dag_json(payload.decode("utf-8"), "DAG-JSON")
        else:
            document = decode(payload)
    except UnicodeDecodeError as exc:
        raise ManifestError(where, f"not UTF-8 at byte {exc.start}") from exc
    except CatenaryError as exc:
        raise ManifestError(where, str(exc)) from exc
    return parse_manifest(document, where)
