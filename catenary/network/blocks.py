"""A node's records and values as IPLD blocks, looked up by CID.

Values, attestations, python source texts and WASM modules are stored as blocks. The
records (executions and their keys, events, runs, workflows, operation versions and
manifests, emitted events) are stored as rows: their block is re-encoded from the row, as
the bundle export does, and served only if it hashes to the CID asked for. So a corrupt row
is never served under a CID it does not match: the gateway answers 404 for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from catenary.cid import CID, block, decode, encode
from catenary.cid.cid import BLAKE2B_256, DAG_CBOR, RAW, SHA2_256, block_cid, kind_of, raw_cid, raw_sha256_cid
from catenary.model import Run
from catenary.model.filter import ExecutionFilter
from catenary.operations import Registry
from catenary.store import Store

_HASHERS: dict[tuple[int, int], Callable[[bytes], CID]] = {
    (DAG_CBOR, BLAKE2B_256): block_cid,
    (RAW, BLAKE2B_256): raw_cid,
    (RAW, SHA2_256): raw_sha256_cid,
}


def holds(cid: CID, data: bytes) -> bool:
    """Whether ``data`` hashes to ``cid`` (a CID kind catenary makes; any other: False)."""
    hasher = _HASHERS.get(kind_of(cid) or (0, 0))
    return hasher is not None and hasher(data) == cid


def links(cid: CID, data: bytes) -> Iterator[CID]:
    """The links of a block in the order they appear in it (a raw block has none)."""
    if cid.codec != DAG_CBOR:
        return
    stack = [decode(data)]
    while stack:
        item = stack.pop()
        if isinstance(item, CID):
            yield item
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


class BlockSource:
    """Every block a node holds, by CID (one lookup per kind of record, cheapest first)."""

    def __init__(self, store: Store, registry: Registry) -> None:
        self._store = store
        self._registry = registry

    def get(self, cid: CID) -> bytes | None:
        """The block's bytes, checked against ``cid``; None when this node does not hold it."""
        if kind_of(cid) is None:
            return None
        for lookup in (self._stored, self._execution, self._key, self._record, self._operation):
            data = lookup(cid)
            if data is not None:
                return data if holds(cid, data) else None
        return None

    def _stored(self, cid: CID) -> bytes | None:
        return self._store.get_block(cid)

    def _execution(self, cid: CID) -> bytes | None:
        e = self._store.get_execution(cid)
        return e.invocation.preimages().hash_block if e is not None else None

    def _key(self, cid: CID) -> bytes | None:
        found, _ = self._store.list_executions(ExecutionFilter(key=cid), 1, None)
        return found[0].invocation.preimages().key_block if found else None

    def _record(self, cid: CID) -> bytes | None:
        store = self._store
        event = store.get_event(cid)
        if event is not None:
            return block(event.data())[1]
        run = store.get_run(cid)
        if run is not None:
            return block(Run(run.workflow, run.nonce).data())[1]
        workflow = store.get_workflow(cid)
        if workflow is not None:
            return block(workflow.data())[1]
        emitted = store.get_emitted_event(cid)
        if emitted is not None:
            return block(emitted.event.data_map())[1]
        return None

    def _operation(self, cid: CID) -> bytes | None:
        found = self._store.get_version(cid)
        if found is not None:
            return block(found[1].data())[1]
        # Manifests and python source texts are reached from a version: look among them.
        for manifest, version in self._store.list_versions():
            data = block(manifest.data())
            if data[0] == cid:
                return data[1]
            if version.implementation.get("source") == cid:
                op = self._registry.get(version.id)
                return encode(op.source) if op is not None else None
        return None
