"""Proof bundles: an execution and everything needed to check it, as one CARv1 file.

Layout (docs/trust.md draws it): the CAR header has two roots,

* ``roots[0]``: the execution's own block, i.e. its hashed pre-image, whose CID is the
  execution ``hash``. From it, links reach the workflow, the operation versions (and
  through them the operation manifests and python source texts), the parent executions,
  the events, the run, and the input values.
* ``roots[1]``: the bundle index ``{format: "catenary-bundle/1", execution: link,
  executions: [link], runs: [link]}``. Each ``executions`` entry is a metadata block
  carrying what an execution's hash does not cover::

      {execution: link, key: link, run: link, status, output: link | null, error,
       executor, cached_from: string | null, created_at, started_at, finished_at,
       attestations: [link]}

  ``key`` links the key pre-image block, ``output`` the output value, ``attestations``
  the signed attestation blocks. ``cached_from`` is CID text, not a link: the execution
  that did the work may be outside the bundle. Each ``runs`` entry is
  ``{run: link, status, next_segment, total_time, error, created_at, updated_at,
  outputs: [{segment, output: link, producer: link, segment_time}]}``.

Every block is DAG-CBOR named by CIDv1 dag-cbor blake2b-256, except the code of WASM
operations: each module is one ``raw`` block (CIDv1 raw blake2b-256, ``bafk2bza...``), linked
from its operation version. Any IPLD implementation can read the file and walk it from the
roots. A node that verifies the bundle runs those modules from the bundle's own bytes, so it
re-executes WASM executions without having any module beforehand.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Sequence

from catenary.cid import CID, block, cid_of, decode, encode
from catenary.cid.car import read_car, write_car
from catenary.cid.cid import block_cid
from catenary.errors import CatenaryError, NotFoundError, UnreadableBundleError, VerificationError
from catenary.model import (
    Event, Execution, OperationManifest, OperationVersion, Run, Status, Workflow, hash_data, key_data,
)
from catenary.operations import Registry
from catenary.statements import bundle as statement_blocks
from catenary.store import AttestationRow, ImportBatch, RunState, SegmentOutput, Store
from catenary.trust import attestation
from catenary.trust.attestation import AttestationCheck
from catenary.trust.verify import MISMATCH, UNVERIFIABLE, VERIFIED, Verdict, Verifier

if TYPE_CHECKING:
    from catenary.statements.dsse import Envelope

FORMAT = "catenary-bundle/1"
_DAG_CBOR_BLAKE2B = bytes([0x01, 0x71, 0xA0, 0xE4, 0x02, 0x20])
# WASM modules are the one other kind of block: raw bytes, blake2b-256 (docs/wasm-abi.md).
_RAW_BLAKE2B = bytes([0x01, 0x55, 0xA0, 0xE4, 0x02, 0x20])
_META_KEYS = {"execution", "key", "run", "status", "output", "error", "executor", "cached_from",
              "created_at", "started_at", "finished_at", "attestations"}
_RUN_KEYS = {"run", "status", "next_segment", "total_time", "error", "created_at", "updated_at",
             "outputs"}


# -- export ---------------------------------------------------------------------------------

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
                  stream: BinaryIO, statements: Sequence[Envelope] = ()) -> dict[str, int]:
    """Write the proof bundle of an execution to ``stream``; returns counts of what it holds.
    ``statements``: signed statements over this execution to carry (:mod:`catenary.statements`).

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
        preimage = encode(hash_data(e.workflow, e.segment, e.step, e.operation, dict(e.config),
                                    list(e.parents), list(e.inputs)))
        if block_cid(preimage) != e.hash:
            raise VerificationError(f"execution {e.hash}: its hash does not recompute from the stored "
                                    f"record; refusing to export it")
        key_cid, key_bytes = block(key_data(e.operation, dict(e.config), list(e.inputs)))
        if key_cid != e.key:
            raise VerificationError(f"execution {e.hash}: its key does not recompute; refusing to "
                                    f"export it")
        body.add(e.hash, preimage)
        body.add(key_cid, key_bytes)
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
    index = {"format": FORMAT, "execution": execution_hash, "executions": metas, "runs": run_metas}
    statement_blocks.add(index, statements, blocks.add)
    index_cid, index_bytes = block(index)
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


def raw_cid(data: bytes) -> CID:
    """CID of a raw block (a WASM module): CIDv1, raw, blake2b-256. Computed here, not by
    ``catenary.operations.wasm``, so that reading a bundle never needs wasmtime."""
    return CID(_RAW_BLAKE2B + hashlib.blake2b(data, digest_size=32).digest())


# -- reading and checking -------------------------------------------------------------------------

@dataclass
class Bundle:
    """What a bundle holds, decoded. Only what checked out is in here."""

    root: CID
    blocks: dict[CID, bytes] = field(default_factory=dict)
    executions: dict[CID, Execution] = field(default_factory=dict)
    attestations: dict[CID, list[tuple[CID, bytes, str]]] = field(default_factory=dict)  # cid, block, signer
    events: dict[CID, Event] = field(default_factory=dict)
    runs: dict[CID, RunState] = field(default_factory=dict)
    workflows: dict[CID, Workflow] = field(default_factory=dict)
    versions: dict[CID, tuple[OperationManifest, OperationVersion]] = field(default_factory=dict)
    sources: set[CID] = field(default_factory=set)  # python source texts and wasm modules
    values: set[CID] = field(default_factory=set)
    modules: dict[CID, CID] = field(default_factory=dict)  # wasm version id -> module CID
    statements: dict[CID, Envelope] = field(default_factory=dict)  # signed claims over the root

    # Evidence for the Verifier
    def execution(self, execution_hash: CID) -> Execution | None:
        return self.executions.get(execution_hash)

    def event(self, event_hash: CID) -> Event | None:
        return self.events.get(event_hash)

    def block(self, cid: CID) -> bytes | None:
        return self.blocks.get(cid)

    def workflow(self, workflow_id: CID) -> Workflow | None:
        return self.workflows.get(workflow_id)

    def version(self, version_id: CID) -> tuple[OperationManifest, OperationVersion] | None:
        return self.versions.get(version_id)


@dataclass
class BundleReport:
    """The outcome of :func:`verify_bundle`: one verdict per execution, the problems found
    with the bundle itself (each naming its block or execution), and the overall verdict."""

    root: CID | None
    verdicts: list[Verdict]
    problems: list[str]
    blocks: int
    bundle: Bundle | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.verdicts) and all(v.ok for v in self.verdicts)

    @property
    def overall(self) -> str:
        if self.ok:
            return VERIFIED
        if not self.problems and self.verdicts and all(v.verdict != MISMATCH for v in self.verdicts):
            return UNVERIFIABLE
        return "failed"

    def summary(self) -> str:
        counts = {k: sum(1 for v in self.verdicts if v.verdict == k)
                  for k in (VERIFIED, MISMATCH, UNVERIFIABLE)}
        text = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
        if self.problems:
            text += f"; {len(self.problems)} problem(s): " + "; ".join(self.problems[:3])
            if len(self.problems) > 3:
                text += f"; ... ({len(self.problems) - 3} more)"
        return text or "nothing to verify"


class _Reader:
    """Decodes a bundle's blocks, recording each problem once with the block it concerns."""

    def __init__(self, blocks: dict[CID, bytes], problems: list[str]) -> None:
        self.blocks = blocks
        self.problems = problems
        self.used: set[CID] = set()
        self._missing: set[CID] = set()

    def problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    def raw(self, cid: Any, what: str | Callable[[], str], module: bool = False) -> bytes | None:
        """The block's bytes, or None with the problem recorded. ``what`` may be a function
        giving the text: most blocks are there, and formatting CIDs is not free. Only a
        ``module`` (a wasm version's code) may be a raw block; every other link must name
        a dag-cbor block, whatever its bytes."""
        if not isinstance(cid, CID):
            self.problem(f"{_what(what)}: expected a link, got {type(cid).__name__}")
            return None
        if (cid.cid_bytes[:6] == _RAW_BLAKE2B) != module:
            self.problem(f"{_what(what)}: {cid} is not a "
                         f"{'raw' if module else 'dag-cbor'} blake2b-256 CID"
                         + ("" if module else " (only a wasm module may be a raw block)"))
            return None
        data = self.blocks.get(cid)
        if data is None:
            if cid not in self._missing:
                self._missing.add(cid)
                self.problem(f"missing block {cid} ({_what(what)})")
            return None
        self.used.add(cid)
        return data

    def get(self, cid: Any, what: str | Callable[[], str]) -> Any:
        data = self.raw(cid, what)
        if data is None:
            return None
        try:
            return decode(data)
        except CatenaryError as exc:
            self.problem(f"block {cid} ({_what(what)}) is not DAG-CBOR: {exc}")
            return None

    def map(self, cid: Any, what: str | Callable[[], str], keys: set[str]) -> dict[str, Any] | None:
        value = self.get(cid, what)
        if value is None:
            return None
        if not isinstance(value, dict) or set(value) != keys:
            got = sorted(value) if isinstance(value, dict) else type(value).__name__
            self.problem(f"block {cid} ({_what(what)}) has the wrong shape: expected keys "
                         f"{', '.join(sorted(keys))}, got {got}")
            return None
        return value


def _what(what: str | Callable[[], str]) -> str:
    return what() if callable(what) else what


def _typed(value: Any, kind: type | tuple[type, ...], nullable: bool = False) -> bool:
    if value is None:
        return nullable
    if kind is int or kind == (int,):
        return type(value) is int
    return isinstance(value, kind) and not isinstance(value, bool)


def verify_bundle(data: bytes, registry: Registry,
                  on_progress: Callable[[int, int], None] | None = None) -> BundleReport:
    """Check a bundle completely, offline: every block's CID against its bytes, every
    record's hash and key, the DAG's links, every signature, and every execution whose
    operation this process has, by re-execution.

    Raises UnreadableBundleError (exit 2) when the file is not a readable CAR / bundle;
    everything else is reported in the returned :class:`BundleReport`.
    """
    car = read_car(data)
    problems: list[str] = []
    blocks: dict[CID, bytes] = {}
    for number, item in enumerate(car.blocks):
        where = f"section {number} at byte {item.offset}"
        prefix = item.cid.cid_bytes[:6]
        if prefix == _DAG_CBOR_BLAKE2B:
            actual = block_cid(item.data)
        elif prefix == _RAW_BLAKE2B:  # a WASM module; only a wasm version may link it (below)
            actual = raw_cid(item.data)
        else:
            problems.append(f"block {item.cid} ({where}) is neither a dag-cbor nor a raw blake2b-256 "
                            f"CID; catenary bundles hold no other kind")
            continue
        if actual != item.cid:
            problems.append(f"block {item.cid} ({where}): its bytes hash to {actual}, not to its CID "
                            f"(altered or corrupt)")
            continue
        blocks.setdefault(item.cid, item.data)
    if len(car.roots) != 2:
        raise UnreadableBundleError(f"not a catenary bundle: the CAR has {len(car.roots)} root(s), "
                                    f"expected 2 (the execution, then the bundle index)")
    root, index_cid = car.roots
    bundle = Bundle(root)
    bundle.blocks = blocks
    reader = _Reader(blocks, problems)
    index = reader.map(index_cid, "bundle index", statement_blocks.index_keys(
        {"format", "execution", "executions", "runs"}, blocks.get(index_cid)))
    report = BundleReport(root, [], problems, len(car.blocks), bundle)
    if index is None:
        return report
    if index["format"] != FORMAT:
        reader.problem(f"bundle index {index_cid}: format {index['format']!r} is not {FORMAT!r}")
        return report
    if index["execution"] != root:
        reader.problem(f"bundle index {index_cid} names execution {index['execution']}, the CAR root "
                       f"is {root}")
    if not isinstance(index["executions"], list) or not isinstance(index["runs"], list):
        reader.problem(f"bundle index {index_cid}: executions and runs must be lists of links")
        return report

    if statement_blocks.INDEX_KEY in index:
        bundle.statements = statement_blocks.read(reader, index[statement_blocks.INDEX_KEY])
    checks: dict[CID, tuple[AttestationCheck, ...]] = {}
    for link in index["runs"]:
        _read_run(reader, bundle, link)
    for link in index["executions"]:
        _read_execution(reader, bundle, link, checks)
    if root not in bundle.executions:
        reader.problem(f"the root execution {root} has no metadata block in the bundle index")
    for e in list(bundle.executions.values()):
        for i, parent in enumerate(e.parents):
            if parent in bundle.executions or parent in bundle.events:
                continue
            event = reader.map(parent, lambda: f"parent {i} of execution {e.hash}", {"run", "segment", "inputs"})
            if event is not None:
                if type(event["segment"]) is not int or not isinstance(event["inputs"], list) or \
                        not all(isinstance(x, CID) for x in event["inputs"]) or \
                        not isinstance(event["run"], CID):
                    reader.problem(f"event {parent}: run must be a link, segment an int, inputs links")
                    continue
                bundle.events[parent] = Event(event["run"], event["segment"], tuple(event["inputs"]))
                for j, value in enumerate(event["inputs"]):
                    _read_value(reader, bundle, value, lambda: f"input {j} of event {parent}")
        if e.run not in bundle.runs:
            reader.problem(f"execution {e.hash}: its run {e.run} has no run block in the bundle index")
    for event in bundle.events.values():
        if event.run not in bundle.runs:
            reader.problem(f"event {event.hash}: its run {event.run} is not in the bundle")
    for state in bundle.runs.values():
        if state.workflow not in bundle.workflows:
            _read_workflow(reader, bundle, state.workflow)
        for out in state.outputs.values():
            producer = bundle.executions.get(out.producer)
            if producer is None:
                reader.problem(f"run {state.id}: segment {out.segment}'s producer {out.producer} is not "
                               f"in the bundle")
            elif producer.output != out.output or producer.segment != out.segment:
                reader.problem(f"run {state.id}: segment {out.segment} output {out.output} is not what "
                               f"its producer {out.producer} recorded ({producer.output})")
    for e in bundle.executions.values():
        state = bundle.runs.get(e.run)
        if state is not None and e.workflow != state.workflow:
            reader.problem(f"execution {e.hash}: its workflow {e.workflow} is not the workflow of its "
                           f"run {e.run} ({state.workflow})")

    verifier = Verifier(bundle, _with_modules(registry, bundle, reader))
    ordered = sorted(bundle.executions.values(), key=lambda e: (e.segment, e.step))
    for number, e in enumerate(ordered):
        report.verdicts.append(verifier.verify(e, checks.get(e.hash, ())))
        if on_progress:
            on_progress(number + 1, len(ordered))
    for cid in blocks:
        if cid not in reader.used and cid != index_cid:
            reader.problem(f"block {cid} is not linked from the bundle (unexpected extra block)")
    return report


def _with_modules(registry: Registry, bundle: Bundle, reader: _Reader) -> Registry:
    """``registry`` plus the bundle's WASM operations this process lacks, run from the module
    bytes in the bundle: a fresh node re-executes them with nothing installed. The caller's
    registry is not changed (verifying stores nothing). Each module is checked against
    catenary-wasm-abi/1 as ``op add`` would, and a refused one is a problem naming it."""
    wanted = [bundle.versions[v] for v in bundle.modules if registry.get(v) is None]
    if not wanted:
        return registry
    from catenary.operations import wasm  # imports wasmtime: only for a bundle with modules

    extended = Registry(list(registry))
    for op in wasm.load_stored(extended, wanted, bundle.blocks.get):
        try:
            op.module.probe()
        except CatenaryError as exc:
            reader.problem(f"{exc} (the module of {op.name}, version {op.version_id})")
    for manifest, version in wanted:
        if extended.get(version.id) is None:
            reader.problem(f"operation version {version.id} ({manifest.name}) is not "
                           f"{{operation, implementation: {{kind: \"wasm\", module}}}} exactly; its "
                           f"module cannot be run")
    return extended


def _read_value(reader: _Reader, bundle: Bundle, cid: Any, what: str | Callable[[], str]) -> None:
    if isinstance(cid, CID) and cid in bundle.values:
        return
    data = reader.raw(cid, what)
    if data is None:
        return
    try:
        decode(data)
    except CatenaryError as exc:
        reader.problem(f"block {cid} ({_what(what)}) is not DAG-CBOR: {exc}")
        return
    bundle.values.add(cid)


def _read_run(reader: _Reader, bundle: Bundle, link: Any) -> None:
    meta = reader.map(link, "run metadata", _RUN_KEYS)
    if meta is None:
        return
    run = reader.map(meta["run"], f"run of run metadata {link}", {"workflow", "nonce"})
    if run is None:
        return
    if not isinstance(run["workflow"], CID) or not isinstance(run["nonce"], bytes):
        reader.problem(f"run {meta['run']}: workflow must be a link and nonce bytes")
        return
    fields_ok = (isinstance(meta["status"], str) and _typed(meta["next_segment"], int)
                 and isinstance(meta["total_time"], (int, float)) and _typed(meta["created_at"], int)
                 and _typed(meta["updated_at"], int) and _typed(meta["error"], str, True)
                 and isinstance(meta["outputs"], list))
    if not fields_ok:
        reader.problem(f"run metadata {link}: a field has the wrong type")
        return
    outputs = {}
    for out in meta["outputs"]:
        if not (isinstance(out, dict) and set(out) == {"segment", "output", "producer", "segment_time"}
                and _typed(out["segment"], int) and isinstance(out["output"], CID)
                and isinstance(out["producer"], CID) and isinstance(out["segment_time"], (int, float))):
            reader.problem(f"run metadata {link}: an output entry has the wrong shape")
            return
        reader.raw(out["output"], f"segment {out['segment']} output of run {meta['run']}")
        outputs[out["segment"]] = SegmentOutput(out["segment"], out["output"], out["producer"],
                                                float(out["segment_time"]))
    bundle.runs[meta["run"]] = RunState(
        meta["run"], run["workflow"], run["nonce"], meta["status"], meta["next_segment"],
        float(meta["total_time"]), meta["error"], meta["created_at"], meta["updated_at"], outputs)


def _read_workflow(reader: _Reader, bundle: Bundle, workflow_id: CID) -> None:
    data = reader.get(workflow_id, "workflow")
    if data is None:
        return
    try:
        workflow = Workflow.from_data(data)
    except CatenaryError as exc:
        reader.problem(f"workflow {workflow_id} is not a valid manifest: {exc}")
        return
    for segment in workflow.segments:
        for step in segment.sequence:
            if step.version_id not in bundle.versions:
                _read_version(reader, bundle, step.version_id)

    def lookup(version_id: CID) -> OperationManifest | None:
        found = bundle.versions.get(version_id)
        return found[0] if found else None

    if all(s.version_id in bundle.versions for seg in workflow.segments for s in seg.sequence):
        try:
            workflow.validate(lookup)
        except CatenaryError as exc:
            reader.problem(f"workflow {workflow_id} breaks a workflow rule: {exc}")
            return
    bundle.workflows[workflow_id] = workflow


def _read_version(reader: _Reader, bundle: Bundle, version_id: CID) -> None:
    data = reader.map(version_id, "operation version", {"operation", "implementation"})
    if data is None:
        return
    manifest_data = reader.get(data["operation"], f"operation manifest of version {version_id}")
    if manifest_data is None:
        return
    try:
        manifest = OperationManifest.from_data(manifest_data)
    except CatenaryError as exc:
        reader.problem(f"operation manifest {data['operation']} is invalid: {exc}")
        return
    implementation = data["implementation"]
    if not isinstance(implementation, dict) or implementation.get("kind") not in ("python", "wasm",
                                                                                   "remote"):
        reader.problem(f"operation version {version_id}: unknown implementation {implementation!r}")
        return
    if implementation["kind"] == "python":
        text = reader.get(implementation.get("source"), f"source of {manifest.name} ({version_id})")
        if text is None:
            return
        if not isinstance(text, str):
            reader.problem(f"source {implementation['source']} of {manifest.name} is not a string")
            return
        bundle.sources.add(implementation["source"])
    elif implementation["kind"] == "wasm":
        module = implementation.get("module")
        # Without its module the version is still known (its name shows in the verdicts), but
        # it cannot run; the missing block is a problem, so such a bundle never imports.
        if reader.raw(module, f"wasm module of {manifest.name} ({version_id})", module=True) is not None:
            bundle.sources.add(module)
            bundle.modules[version_id] = module
    bundle.versions[version_id] = (manifest, OperationVersion(data["operation"], implementation))


def _read_execution(reader: _Reader, bundle: Bundle, link: Any,
                    checks: dict[CID, tuple[AttestationCheck, ...]]) -> None:
    meta = reader.map(link, "execution metadata", _META_KEYS)
    if meta is None:
        return
    hash_ = meta["execution"]
    where = lambda: f"execution metadata {link}"  # noqa: E731 - formatted only on a problem
    pre = reader.map(hash_, lambda: f"execution named by {where()}",
                     {"workflow", "segment", "step", "operation", "config", "parents", "inputs"})
    if pre is None:
        return
    shapes = (isinstance(pre["workflow"], CID) and _typed(pre["segment"], int)
              and _typed(pre["step"], int) and isinstance(pre["operation"], CID)
              and isinstance(pre["config"], dict)
              and all(isinstance(v, str) for v in pre["config"].values())
              and isinstance(pre["parents"], list) and all(isinstance(p, CID) for p in pre["parents"])
              and isinstance(pre["inputs"], list) and all(isinstance(p, CID) for p in pre["inputs"]))
    if not shapes:
        reader.problem(f"execution {hash_}: its pre-image has a field of the wrong type")
        return
    if not (isinstance(meta["key"], CID) and isinstance(meta["run"], CID)
            and meta["status"] in {s.value for s in Status}
            and (meta["output"] is None or isinstance(meta["output"], CID))
            and _typed(meta["error"], str, True) and _typed(meta["executor"], str, True)
            and _typed(meta["cached_from"], str, True) and _typed(meta["created_at"], int)
            and _typed(meta["started_at"], int, True) and _typed(meta["finished_at"], int, True)
            and isinstance(meta["attestations"], list)):
        reader.problem(f"execution {hash_}: its metadata block {link} has a field of the wrong type")
        return
    recomputed_key = cid_of(key_data(pre["operation"], pre["config"], pre["inputs"]))
    if recomputed_key != meta["key"]:
        reader.problem(f"execution {hash_}: key does not recompute (recorded {meta['key']}, "
                       f"recomputed {recomputed_key})")
    else:
        reader.raw(meta["key"], lambda: f"key of execution {hash_}")
    try:
        cached_from = CID.parse(meta["cached_from"]) if meta["cached_from"] else None
    except CatenaryError as exc:
        reader.problem(f"execution {hash_}: cached_from is not a CID: {exc}")
        return
    e = Execution(
        hash=hash_, key=meta["key"], workflow=pre["workflow"], run=meta["run"], segment=pre["segment"],
        step=pre["step"], operation=pre["operation"], config=pre["config"],
        parents=tuple(pre["parents"]), inputs=tuple(pre["inputs"]), status=Status(meta["status"]),
        output=meta["output"], error=meta["error"], executor=meta["executor"], cached_from=cached_from,
        created_at=meta["created_at"], started_at=meta["started_at"], finished_at=meta["finished_at"],
        seq=0)
    if hash_ in bundle.executions:
        reader.problem(f"execution {hash_} has two metadata blocks in the bundle index")
        return
    bundle.executions[hash_] = e
    for i, value in enumerate(e.inputs):
        _read_value(reader, bundle, value, lambda: f"input {i} of execution {hash_}")
    if e.output is not None:
        _read_value(reader, bundle, e.output, lambda: f"output of execution {hash_}")
    found = []
    rows = []
    for att in meta["attestations"]:
        data = reader.raw(att, lambda: f"attestation of execution {hash_}")
        if data is None:
            continue
        result = attestation.check(att, data, e.hash, e.key, e.output)
        role = attestation.role_for(result.signer or "", e.executor, e.cached_from)
        result = dataclasses.replace(result, role=role)
        found.append(result)
        rows.append((att, data, result.signer or ""))
        if not result.valid:
            reader.problem(f"attestation {att} on execution {hash_} is invalid: {result.reason}")
    checks[hash_] = tuple(found)
    bundle.attestations[hash_] = rows


# -- import ----------------------------------------------------------------------------------------

def import_bundle(store: Store, registry: Registry, data: bytes) -> tuple[BundleReport, dict[str, int]]:
    """Verify a bundle and, only if everything holds, load it into ``store`` in one
    transaction. Raises VerificationError (nothing stored) when it does not verify."""
    report = verify_bundle(data, registry)
    return report, load_bundle(store, report)


def load_bundle(store: Store, report: BundleReport) -> dict[str, int]:
    """Load a bundle that :func:`verify_bundle` found to hold completely; refuses any other
    report (VerificationError, nothing stored). Returns how many records of each kind were new."""
    bundle = report.bundle
    if not report.ok or bundle is None:
        raise VerificationError(f"bundle does not verify ({report.overall}): {report.summary()}; "
                                f"nothing was imported")
    wanted = bundle.values | bundle.sources
    runs = []
    for state in bundle.runs.values():
        missing = [s for s in range(state.next_segment) if s not in state.outputs]
        if state.status == "running" and missing:
            # The bundle holds the ancestry of one execution, not the whole run: the run
            # cannot be stepped further here, so it is recorded as ended, with the reason.
            state = RunState(state.id, state.workflow, state.nonce, "failed", state.next_segment,
                             state.total_time, f"imported from a bundle without the output of "
                             f"segment(s) {', '.join(map(str, missing))}; start a new run here "
                             f"(memoization reuses the imported results)",
                             state.created_at, state.updated_at, state.outputs)
        runs.append(state)
    attestations = []
    for hash_, rows in bundle.attestations.items():
        e = bundle.executions[hash_]
        for cid, raw, signer in rows:
            attestations.append(AttestationRow(hash_, cid, raw, signer,
                                               attestation.role_for(signer, e.executor, e.cached_from)))
    batch = ImportBatch(
        blocks=[(cid, bundle.blocks[cid]) for cid in wanted],
        operations=list(bundle.versions.values()),
        workflows=list(bundle.workflows.values()),
        runs=runs,
        events=list(bundle.events.values()),
        executions=sorted(bundle.executions.values(), key=lambda e: (e.segment, e.step)),
        attestations=attestations,
        now=time.time_ns())
    return store.import_batch(batch)
