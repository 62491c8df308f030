"""Reading a bundle: its blocks checked against their CIDs, then each record decoded and
checked against the shape of its kind (:mod:`catenary.trust.bundle.layout`). Every problem
is recorded once, naming the block or execution it concerns; only what checked out is kept."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from catenary.cid import CID, block_cid, decode, raw_cid
from catenary.cid.car import CarFile
from catenary.cid.cid import BLAKE2B_256, DAG_CBOR, RAW, kind_of
from catenary.errors import CatenaryError
from catenary.limits import cut, shown
from catenary.model import Event, Execution, Invocation, OperationManifest, OperationVersion, Status, Workflow
from catenary.model.emitted import SignedEvent
from catenary.store import RunState, SegmentOutput
from catenary.trust import attestation
from catenary.trust.attestation import AttestationCheck
from catenary.trust.bundle.layout import fits, has_keys, keys

if TYPE_CHECKING:
    from catenary.statements.dsse import Envelope

T = TypeVar("T")
What: TypeAlias = "str | Callable[[], str]"


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
    modules: dict[CID, CID] = field(default_factory=dict)
    statements: dict[CID, Envelope] = field(
        default_factory=dict
    )  # signed claims over the root  # wasm version id -> module CID
    emitted: dict[CID, SignedEvent] = field(default_factory=dict)  # trust.bundle.emitted

    # Evidence for the Verifier: the same five lookups as sdk.trust.StoreEvidence (a pair the
    # duplicate finder lists), one protocol read from two sources.
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
class Reader:
    """Decodes a bundle's blocks, recording each problem once with the block it concerns."""

    def __init__(self, blocks: dict[CID, bytes], problems: list[str]) -> None:
        self.blocks = blocks
        self.problems = problems
        self.used: set[CID] = set()
        self._missing: set[CID] = set()
        self._seen = set(problems)  # a set: a bundle with many problems stays linear to read

    def problem(self, text: str) -> None:
        text = cut(text)  # a problem may quote a block's field: keep the line short
        if text not in self._seen:
            self._seen.add(text)
            self.problems.append(text)

    def raw(self, cid: Any, what: What, module: bool = False) -> bytes | None:
        """The block's bytes, or None with the problem recorded. ``what`` may be a function
        giving the text: most blocks are there, and formatting CIDs is not free. Only a
        ``module`` (a wasm version's code) may be a raw block; every other link must name
        a dag-cbor block, whatever its bytes."""
        if not isinstance(cid, CID):
            self.problem(f"{_what(what)}: expected a link, got {type(cid).__name__}")
            return None
        if (kind_of(cid) == (RAW, BLAKE2B_256)) != module:
            self.problem(
                f"{_what(what)}: {cid} is not a "
                f"{'raw' if module else 'dag-cbor'} blake2b-256 CID"
                + ("" if module else " (only a wasm module may be a raw block)")
            )
            return None
        data = self.blocks.get(cid)
        if data is None:
            if cid not in self._missing:
                self._missing.add(cid)
                self.problem(f"missing block {cid} ({_what(what)})")
            return None
        self.used.add(cid)
        return data

    def attempt(self, step: Callable[[], T], problem: Callable[[CatenaryError], str]) -> T | None:
        """``step()``, or None with ``problem(its error)`` recorded."""
        try:
            return step()
        except CatenaryError as exc:
            self.problem(problem(exc))
            return None

    def get(self, cid: Any, what: What) -> Any:
        data = self.raw(cid, what)
        if data is None:
            return None
        return self.attempt(
            lambda: decode(data), lambda exc: f"block {cid} ({_what(what)}) is not DAG-CBOR: {exc}"
        )

    def map(self, cid: Any, what: What, kind: str) -> dict[str, Any] | None:
        """The block as a map with exactly the keys of its ``kind`` (layout.SHAPES)."""
        value = self.get(cid, what)
        if value is None:
            return None
        expected = keys(kind)
        if not isinstance(value, dict) or not has_keys(kind, value):
            got = sorted(value) if isinstance(value, dict) else type(value).__name__
            self.problem(
                f"block {cid} ({_what(what)}) has the wrong shape: expected keys "
                f"{', '.join(sorted(expected))}, got {got}"
            )
            return None
        return value

    def described(
        self,
        link: Any,
        kind: str,
        record_kind: str,
        what: What,
        wrong_record: Callable[[Any], str],
        wrong_meta: Callable[[Any], str],
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """A metadata block of ``kind`` and the record block it names under the key
        ``record_kind`` (a run, an execution's pre-image), both of the right shape; else None
        with the problem recorded (``wrong_*`` word it, given the record's link)."""
        meta = self.map(link, kind, kind)
        if meta is None:
            return None
        record = self.map(meta[record_kind], what, record_kind)
        if record is None:
            return None
        if not fits(record_kind, record):
            self.problem(wrong_record(meta[record_kind]))
            return None
        if not fits(kind, meta):
            self.problem(wrong_meta(meta[record_kind]))
            return None
        return meta, record

    def parse(self, cid: Any, what: What, parse: Callable[[Any], T], invalid: str) -> T | None:
        """The block parsed by ``parse`` (a record's ``from_data``); its refusal is recorded
        as ``invalid: reason``."""
        data = self.get(cid, what)
        if data is None:
            return None
        return self.attempt(lambda: parse(data), lambda exc: f"{invalid}: {exc}")


def _what(what: What) -> str:
    return what() if callable(what) else what


def read_blocks(car: CarFile, problems: list[str]) -> dict[CID, bytes]:
    """The blocks whose bytes hash to their CID; each other one is a problem."""
    blocks: dict[CID, bytes] = {}
    for number, item in enumerate(car.blocks):
        where = f"section {number} at byte {item.offset}"
        kind = kind_of(item.cid)
        if kind == (DAG_CBOR, BLAKE2B_256):
            actual = block_cid(item.data)
        elif kind == (RAW, BLAKE2B_256):  # a WASM module; only a wasm version may link it
            actual = raw_cid(item.data)
        else:
            problems.append(
                f"block {item.cid} ({where}) is neither a dag-cbor nor a raw blake2b-256 "
                f"CID; catenary bundles hold no other kind"
            )
            continue
        if actual != item.cid:
            problems.append(
                f"block {item.cid} ({where}): its bytes hash to {actual}, not to its CID (altered or corrupt)"
            )
            continue
        blocks.setdefault(item.cid, item.data)
    return blocks


def read_records(
    reader: Reader, bundle: Bundle, index: dict[str, Any]
) -> dict[CID, tuple[AttestationCheck, ...]]:
    """Read the runs and executions the index lists; returns the attestation checks by
    execution. (The events are read from the executions that name them: :func:`read_event`.)"""
    checks: dict[CID, tuple[AttestationCheck, ...]] = {}
    for link in index["runs"]:
        _read_run(reader, bundle, link)
    for link in index["executions"]:
        _read_execution(reader, bundle, link, checks)
    return checks


def read_event(reader: Reader, bundle: Bundle, cid: CID, what: What) -> None:
    event = reader.map(cid, what, "event")
    if event is None:
        return
    if not fits("event", event):
        reader.problem(f"event {cid}: run must be a link, segment an int, inputs links")
        return
    bundle.events[cid] = Event.from_data(event)
    for j, value in enumerate(event["inputs"]):
        read_value(reader, bundle, value, lambda: f"input {j} of event {cid}")  # noqa: B023 - called at once


def read_value(reader: Reader, bundle: Bundle, cid: Any, what: What) -> None:
    if isinstance(cid, CID) and cid in bundle.values:
        return
    data = reader.raw(cid, what)
    if data is None:
        return
    decoded = reader.attempt(
        lambda: (decode(data),),  # a tuple: a value may be null
        lambda exc: f"block {cid} ({_what(what)}) is not DAG-CBOR: {exc}",
    )
    if decoded is not None:
        bundle.values.add(cid)


def _read_run(reader: Reader, bundle: Bundle, link: Any) -> None:
    found = reader.described(
        link,
        "run metadata",
        "run",
        f"run of run metadata {link}",
        lambda run: f"run {run}: workflow must be a link and nonce bytes",
        lambda _run: f"run metadata {link}: a field has the wrong type",
    )
    if found is None:
        return
    meta, run = found
    outputs = {}
    for out in meta["outputs"]:
        if not (isinstance(out, dict) and set(out) == keys("run output") and fits("run output", out)):
            reader.problem(f"run metadata {link}: an output entry has the wrong shape")
            return
        reader.raw(out["output"], f"segment {out['segment']} output of run {meta['run']}")
        outputs[out["segment"]] = SegmentOutput(
            out["segment"], out["output"], out["producer"], float(out["segment_time"])
        )
    bundle.runs[meta["run"]] = RunState(
        meta["run"],
        run["workflow"],
        run["nonce"],
        meta["status"],
        meta["next_segment"],
        float(meta["total_time"]),
        meta["error"],
        meta["created_at"],
        meta["updated_at"],
        outputs,
    )


def read_workflow(reader: Reader, bundle: Bundle, workflow_id: CID) -> None:
    workflow = reader.parse(
        workflow_id, "workflow", Workflow.from_data, f"workflow {workflow_id} is not a valid manifest"
    )
    if workflow is None:
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


def _read_version(reader: Reader, bundle: Bundle, version_id: CID) -> None:
    data = reader.map(version_id, "operation version", "operation version")
    if data is None:
        return
    link = data["operation"]  # a crafted one may be a value 100,000 levels deep: quote it shown()
    manifest = reader.parse(
        link,
        f"operation manifest of version {version_id}",
        OperationManifest.from_data,
        f"operation manifest {link if isinstance(link, CID) else shown(link)} is invalid",
    )
    if manifest is None:
        return
    implementation = data["implementation"]
    if not isinstance(implementation, dict) or implementation.get("kind") not in ("python", "wasm", "remote"):
        reader.problem(f"operation version {version_id}: unknown implementation {shown(implementation)}")
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
        found = reader.raw(module, f"wasm module of {manifest.name} ({version_id})", module=True)
        if found is not None and isinstance(module, CID):  # raw() finds only a link
            bundle.sources.add(module)
            bundle.modules[version_id] = module
    bundle.versions[version_id] = (manifest, OperationVersion(data["operation"], implementation))


def _read_execution(
    reader: Reader, bundle: Bundle, link: Any, checks: dict[CID, tuple[AttestationCheck, ...]]
) -> None:
    found = reader.described(
        link,
        "execution metadata",
        "execution",
        lambda: f"execution named by execution metadata {link}",
        lambda hash_: f"execution {hash_}: its pre-image has a field of the wrong type",
        lambda hash_: f"execution {hash_}: its metadata block {link} has a field of the wrong type",
    )
    if found is None:
        return
    meta, pre = found
    hash_ = meta["execution"]
    invocation = Invocation(
        pre["workflow"],
        pre["segment"],
        pre["step"],
        pre["operation"],
        pre["config"],
        tuple(pre["parents"]),
        tuple(pre["inputs"]),
    )
    ids = invocation.preimages()  # its hash is the block's own CID, checked when read
    if ids.key != meta["key"]:
        reader.problem(
            f"execution {hash_}: key does not recompute (recorded {meta['key']}, recomputed {ids.key})"
        )
    else:
        reader.raw(meta["key"], lambda: f"key of execution {hash_}")
    try:
        cached_from = CID.parse(meta["cached_from"]) if meta["cached_from"] else None
    except CatenaryError as exc:
        reader.problem(f"execution {hash_}: cached_from is not a CID: {exc}")
        return
    e = invocation.record(
        meta["run"],
        Status(meta["status"]),
        ids=dataclasses.replace(ids, hash=hash_, key=meta["key"]),
        output=meta["output"],
        error=meta["error"],
        executor=meta["executor"],
        cached_from=cached_from,
        created_at=meta["created_at"],
        started_at=meta["started_at"],
        finished_at=meta["finished_at"],
    )
    if hash_ in bundle.executions:
        reader.problem(f"execution {hash_} has two metadata blocks in the bundle index")
        return
    bundle.executions[hash_] = e
    for i, value in enumerate(e.inputs):
        read_value(reader, bundle, value, lambda: f"input {i} of execution {hash_}")  # noqa: B023 - called at once
    if e.output is not None:
        read_value(reader, bundle, e.output, lambda: f"output of execution {hash_}")
    checks[hash_] = _read_attestations(reader, bundle, e, meta["attestations"])


def _read_attestations(
    reader: Reader, bundle: Bundle, e: Execution, links: list[Any]
) -> tuple[AttestationCheck, ...]:
    """Check each attestation block on ``e``, with the role its signer had; keep the blocks."""
    checked = []
    rows = []
    for att in links:
        data = reader.raw(att, lambda: f"attestation of execution {e.hash}")
        if data is None:
            continue
        role = attestation.role_of(data, e.executor, e.cached_from, e.output)
        result = attestation.check(att, data, e.hash, e.key, e.output, role)
        checked.append(result)
        rows.append((att, data, result.signer or ""))
        if not result.valid:
            reader.problem(f"attestation {att} on execution {e.hash} is invalid: {result.reason}")
    bundle.attestations[e.hash] = rows
    return tuple(checked)
