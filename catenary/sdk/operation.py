"""Operations known to a node."""

from __future__ import annotations

import builtins
from typing import Any

from catenary.cid import CID, encode
from catenary.errors import MissingExtraError, NotFoundError, StoreReadOnlyError
from catenary.model import OperationManifest, OperationVersion
from catenary.model.results import OperationInfo as OperationInfo
from catenary.operations import Operation, Registry
from catenary.store import Store


class OperationManager:
    """Registered operation versions: those in this process and those recorded in the store."""

    def __init__(self, store: Store, registry: Registry) -> None:
        self._store = store
        self._registry = registry

    def publish(self) -> None:
        """Record this process's operations in the store (so other processes can resolve them),
        with each Python version's source text, so that ``export`` needs no ``--ops``. On a
        read-only data dir they stay unrecorded: reading commands must still work there."""
        try:
            for op in self._registry:
                if self._store.get_version(op.version_id) is None:
                    source = op.version.implementation.get("source") if op.version.kind == "python" else None
                    if isinstance(source, CID):
                        self._store.put_blocks(
                            [(source, encode(op.source))]
                        )  # first: never a version without it
                    self._store.put_operation(op.manifest, op.version)
        except StoreReadOnlyError:
            pass

    def register(self, op: Operation) -> OperationInfo:
        """Make a Python operation object executable by this node and record it (idempotent)."""
        self._registry.add(op)
        self.publish()
        return OperationInfo(op.manifest, op.version, True)

    def load_wasm(self) -> None:
        """Make the stored ``wasm`` versions executable here when the store holds their modules."""
        stored = [
            (m, v)
            for m, v in self._store.list_versions()
            if v.kind == "wasm" and self._registry.get(v.id) is None
        ]
        if stored:
            try:
                from catenary.operations import wasm  # imports wasmtime: only when there is a module
            except MissingExtraError:
                return  # without the 'wasm' extra they stay listed, not available here
            wasm.load_stored(self._registry, stored, self._store.get_block)

    def add_wasm(
        self, module: bytes, manifest: OperationManifest | dict[str, Any] | None = None
    ) -> OperationInfo:
        """Validate a WebAssembly module (binary or WAT) against catenary-wasm-abi/1 and store it:
        the module bytes under their raw CID, then the manifest and version. Idempotent."""
        from catenary.operations import wasm

        op = wasm.from_module(wasm.wasm_bytes(module), manifest)
        self._store.put_blocks([(op.module_cid, op.module.data)])  # first: a version never lacks its code
        self._store.put_operation(op.manifest, op.version)
        wasm.register(self._registry, op)
        return OperationInfo(op.manifest, op.version, True)

    def register_remote(self, manifest: OperationManifest) -> OperationInfo:
        """Record an operation whose executions an external executor performs (kind ``remote``)."""
        version = OperationVersion(manifest.id, {"kind": "remote"})
        self._store.put_operation(manifest, version)
        return OperationInfo(manifest, version, False)

    def list(self) -> list[OperationInfo]:
        return [
            OperationInfo(m, v, self._registry.get(v.id) is not None) for m, v in self._store.list_versions()
        ]

    def get(self, version_id: CID) -> OperationInfo:
        return NotFoundError.require(self.lookup(version_id), "unknown operation version {}", version_id)

    def lookup(self, version_id: CID) -> OperationInfo | None:
        op = self._registry.get(version_id)
        if op is not None:
            return OperationInfo(op.manifest, op.version, True)
        stored = self._store.get_version(version_id)
        return None if stored is None else OperationInfo(stored[0], stored[1], False)

    def clear_cache(self, name: str | None = None) -> builtins.list[CID]:
        """Make later runs recompute instead of reusing the executions recorded so far: of every
        stored version of operation ``name``, or of all operations. History is kept.
        Returns the versions covered (empty for all)."""
        if name is None:
            self._store.clear_memo(None)
            return []
        versions = [v.id for m, v in self._store.list_versions() if m.name == name]
        if not versions:
            raise NotFoundError(
                f"no operation named {name!r} is recorded on this node (see `catenary op list`)"
            )
        self._store.clear_memo(versions)
        return versions

    def resolve_name(self, name: str) -> CID | None:
        """The version id this process uses for an operation name."""
        op = self._registry.by_name(name)
        return None if op is None else op.version_id
