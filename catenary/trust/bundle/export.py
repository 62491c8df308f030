"""Writing a proof bundle: an execution, its ancestry and everything needed to check it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from catenary.cid import CID, block, encode, raw_cid
from catenary.cid.car import write_car
from catenary.cid.cid import block_cid
from catenary.errors import NotFoundError, VerificationError
from catenary.model import Execution, Run
from catenary.model.emitted import SignedEvent
from catenary.operations import Registry
from catenary.statements import bundle as statement_blocks
from catenary.store import RunState, Store
from catenary.trust.bundle.layout import FORMAT

if TYPE_CHECKING:
    from catenary.statements.dsse import Envelope


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


def export_bundle(
    store: Store,
    registry: Registry,
    execution_hash: CID,
    stream: BinaryIO,
    statements: Sequence[Envelope] = (),
) -> dict[str, int]:
    """Write the proof bundle of an execution to ``stream``; returns counts of what it holds.
    ``statements``: signed statements over this execution to carry (:mod:`catenary.statements`).

    Refuses (VerificationError) a record whose hash or key does not recompute: a bundle
    only carries what checks out here.
    """
    found = store.ancestry(execution_hash)  # through result events into upstream runs
    if found is None:
        raise NotFoundError(f"unknown execution {execution_hash}")
    lineage, emitted = found
    executions = sorted(lineage.executions, key=lambda e: (e.segment, e.step))
    # Metadata blocks first (after the index), then the records and values they reach.
    metas, body = _Blocks(), _Blocks()
    runs: dict[CID, RunState] = {}
    execution_metas = [metas.value(_execution(store, e, body, runs)) for e in executions]
    for event in lineage.events:
        body.add(*block(event.data()))
    in_bundle = {e.hash for e in executions}
    run_metas = [metas.value(_run(state, in_bundle, body)) for state in runs.values()]
    for workflow_id in dict.fromkeys(state.workflow for state in runs.values()):
        workflow = store.get_workflow(workflow_id)
        if workflow is None:
            raise NotFoundError(f"workflow {workflow_id} is missing")
        body.add(*block(workflow.data()))
        for segment in workflow.segments:
            for step in segment.sequence:
                _add_version(store, registry, step.version_id, body)
    index: dict[str, Any] = {
        "format": FORMAT,
        "execution": execution_hash,
        "executions": execution_metas,
        "runs": run_metas,
    }
    if emitted:  # absent otherwise: a bundle without events reads as before
        index["emitted"] = [metas.value(_emitted(store, signed, body)) for signed in emitted]
    statement_blocks.add(index, statements, metas.add)
    index_cid, index_bytes = block(index)
    ordered = [(index_cid, index_bytes), *metas.items.items(), *body.items.items()]
    write_car(stream, [execution_hash, index_cid], ordered)
    return {
        "executions": len(executions),
        "events": len(lineage.events),
        "runs": len(runs),
        "emitted": len(emitted),
        "blocks": len(ordered),
    }


def _execution(store: Store, e: Execution, body: _Blocks, runs: dict[CID, RunState]) -> dict[str, Any]:
    """Add an execution's pre-images, values and attestations to ``body`` (its run to
    ``runs``); return its metadata block."""
    ids = e.invocation.preimages()
    if ids.hash != e.hash:
        raise VerificationError(
            f"execution {e.hash}: its hash does not recompute from the stored record; refusing to export it"
        )
    if ids.key != e.key:
        raise VerificationError(f"execution {e.hash}: its key does not recompute; refusing to export it")
    body.add(e.hash, ids.hash_block)
    body.add(ids.key, ids.key_block)
    for i, cid in enumerate(e.inputs):
        body.add(cid, _stored(store, cid, f"input {i} of execution {e.hash}: value"))
    if e.output is not None:
        body.add(e.output, _stored(store, e.output, f"output of execution {e.hash}: value"))
    links = [body.add(row.cid, row.data) for row in store.list_attestations(e.hash) if row.data]
    if e.run not in runs:
        state = store.get_run(e.run)
        if state is None:
            raise NotFoundError(f"run {e.run} of execution {e.hash} is missing")
        runs[e.run] = state
    return {
        "execution": e.hash,
        "key": e.key,
        "run": e.run,
        "status": e.status.value,
        "output": e.output,
        "error": e.error,
        "executor": e.executor,
        "cached_from": str(e.cached_from) if e.cached_from else None,
        "created_at": e.created_at,
        "started_at": e.started_at,
        "finished_at": e.finished_at,
        "attestations": links,
    }


def _emitted(store: Store, signed: SignedEvent, body: _Blocks) -> dict[str, Any]:
    """Add an emitted event's record and data to ``body``; return its metadata block (the
    record's link and the emitter's signature over its id)."""
    e = signed.event
    body.add(*block(e.data_map()))
    body.add(e.data, _stored(store, e.data, f"data of emitted event {e.id}: value"))
    return {"event": e.id, "signature": signed.signature}


def _run(state: RunState, in_bundle: set[CID], body: _Blocks) -> dict[str, Any]:
    """Add a run's block to ``body``; return its metadata block, with the segment outputs
    whose producers are in the bundle."""
    body.add(*block(Run(state.workflow, state.nonce).data()))
    outputs = [
        {
            "segment": o.segment,
            "output": o.output,
            "producer": o.producer,
            "segment_time": float(o.segment_time),
        }
        for o in sorted(state.outputs.values(), key=lambda o: o.segment)
        if o.producer in in_bundle
    ]
    return {
        "run": state.id,
        "status": state.status,
        "next_segment": state.next_segment,
        "total_time": float(state.total_time),
        "error": state.error,
        "created_at": state.created_at,
        "updated_at": state.updated_at,
        "outputs": outputs,
    }


def _stored(store: Store, cid: CID, what: str) -> bytes:
    return NotFoundError.require(
        store.get_block(cid), "{} {} is missing from this node's value store", what, cid
    )


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
            raise NotFoundError(
                f"the source text {source} of {manifest.name} (version {version_id}) is "
                f"not on this node; export from the node that ran it"
            )
        body.add(source, data)
    module = version.implementation.get("module") if version.kind == "wasm" else None
    if isinstance(module, CID):
        data = store.get_block(module)
        if data is None:
            raise NotFoundError(f"the wasm module {module} of {manifest.name} is not on this node")
        if raw_cid(data) != module:
            raise VerificationError(
                f"the stored wasm module {module} of {manifest.name} does not hash "
                f"to its CID; refusing to export it"
            )
        body.add(module, data)
