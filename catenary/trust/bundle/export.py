"""Writing a proof bundle: an execution, its ancestry and everything needed to check it."""

from __future__ import annotations

from typing import Any, BinaryIO

from catenary.cid import CID, block, encode, raw_cid
from catenary.cid.car import write_car
from catenary.cid.cid import block_cid
from catenary.errors import NotFoundError, VerificationError
from catenary.model import Run, Workflow
from catenary.operations import Registry
from catenary.store import RunState, Store
from catenary.trust.bundle.layout import FORMAT


class _Blocks:
    """Blocks in the order they will be written, each once."""

    def __init__(self) -> None:
        self.items: dict[CID, bytes] = {}

    def add(self, cid: CID, data: bytes) -> CID:
        self.items.setdefault(cid, data)
        return cid

    def value(self, value: Any) -> CID:
        cid, data = block(value)
        return self.add(cid, data)


def export_bundle(store: Store, registry: Registry, execution_hash: CID,
                  stream: BinaryIO) -> dict[str, int]:
    """Write the proof bundle of an execution to ``stream``; returns counts of what it holds.

    Refuses (VerificationError) a record whose hash or key does not recompute: a bundle
    only carries what checks out here.
    """
    lineage = store.lineage(execution_hash, "ancestors", 0)
    if lineage is None:
        raise NotFoundError(f"unknown execution {execution_hash}")
    executions = sorted(lineage.executions, key=lambda e: (e.segment, e.step))
    blocks = _Blocks()
    metas: list[CID] = []
    body = _Blocks()

    def stored(cid: CID, what: str) -> bytes:
        data = store.get_block(cid)
        if data is None:
            raise NotFoundError(f"{what} {cid} is missing from this node's value store")
        return data

    runs: dict[CID, RunState] = {}
    for e in executions:
        ids = e.invocation.preimages()
        if ids.hash != e.hash:
            raise VerificationError(f"execution {e.hash}: its hash does not recompute from the stored "
                                    f"record; refusing to export it")
        if ids.key != e.key:
            raise VerificationError(f"execution {e.hash}: its key does not recompute; refusing to "
                                    f"export it")
        body.add(e.hash, ids.hash_block)
        body.add(ids.key, ids.key_block)
        for i, cid in enumerate(e.inputs):
            body.add(cid, stored(cid, f"input {i} of execution {e.hash}: value"))
        if e.output is not None:
            body.add(e.output, stored(e.output, f"output of execution {e.hash}: value"))
        links = []
        for row in store.list_attestations(e.hash):
            if row.data:
                links.append(body.add(row.cid, row.data))
        if e.run not in runs:
            state = store.get_run(e.run)
            if state is None:
                raise NotFoundError(f"run {e.run} of execution {e.hash} is missing")
            runs[e.run] = state
        meta = {
            "execution": e.hash, "key": e.key, "run": e.run, "status": e.status.value,
            "output": e.output, "error": e.error, "executor": e.executor,
            "cached_from": str(e.cached_from) if e.cached_from else None,
            "created_at": e.created_at, "started_at": e.started_at, "finished_at": e.finished_at,
            "attestations": links,
        }
        metas.append(blocks.value(meta))
    for event in lineage.events:
        body.add(*block(event.data()))
    workflows: dict[CID, Workflow] = {}
    run_metas = []
    in_bundle = {e.hash for e in executions}
    for state in runs.values():
        body.add(*block(Run(state.workflow, state.nonce).data()))
        outputs = [{"segment": o.segment, "output": o.output, "producer": o.producer,
                    "segment_time": float(o.segment_time)}
                   for o in sorted(state.outputs.values(), key=lambda o: o.segment)
                   if o.producer in in_bundle]
        run_metas.append(blocks.value({
            "run": state.id, "status": state.status, "next_segment": state.next_segment,
            "total_time": float(state.total_time), "error": state.error,
            "created_at": state.created_at, "updated_at": state.updated_at, "outputs": outputs}))
        if state.workflow not in workflows:
            workflow = store.get_workflow(state.workflow)
            if workflow is None:
                raise NotFoundError(f"workflow {state.workflow} is missing")
            workflows[state.workflow] = workflow
    for workflow in workflows.values():
        body.add(*block(workflow.data()))
        for segment in workflow.segments:
            for step in segment.sequence:
                _add_version(store, registry, step.version_id, body)
    index_cid, index_bytes = block({"format": FORMAT, "execution": execution_hash,
                                    "executions": metas, "runs": run_metas})
    ordered = [(index_cid, index_bytes), *blocks.items.items(), *body.items.items()]
    write_car(stream, [execution_hash, index_cid], ordered)
    return {"executions": len(executions), "events": len(lineage.events), "runs": len(runs),
            "blocks": len(ordered)}


def _add_version(store: Store, registry: Registry, version_id: CID, body: _Blocks) -> None:
    if version_id in body.items:
        return
    found = store.get_version(version_id)
    if found is None:
        raise NotFoundError(f"operation version {version_id} is missing")
    manifest, version = found
    body.add(*block(version.data()))
    body.add(*block(manifest.data()))
    source = version.implementation.get("source") if version.kind == "python" else None
    if isinstance(source, CID):
        op = registry.get(version_id)
        data = encode(op.source) if op is not None else store.get_block(source)
        if data is None or block_cid(data) != source:
            raise NotFoundError(f"the source text {source} of {manifest.name} (version {version_id}) is "
                                f"not on this node; export from the node that ran it")
        body.add(source, data)
    module = version.implementation.get("module") if version.kind == "wasm" else None
    if isinstance(module, CID):
        data = store.get_block(module)
        if data is None:
            raise NotFoundError(f"the wasm module {module} of {manifest.name} is not on this node")
        if raw_cid(data) != module:
            raise VerificationError(f"the stored wasm module {module} of {manifest.name} does not hash "
                                    f"to its CID; refusing to export it")
        body.add(module, data)
