"""Verification by re-execution, and the record checks that come with it.

For each execution the :class:`Verifier` checks, in order:

1. the record: ``hash`` and ``key`` recompute from the stored fields (SPEC §2);
2. its place in the DAG: the workflow names this operation and config at this
   segment and step, and each input is what its parent produced (the previous
   step's output, an earlier segment's output, or the event's input for a ``-1`` slot);
3. the computation: the operation is called directly (no memoization, nothing cached
   is reused) on the decoded input values with the config, and the CID of what it
   returns is compared with the recorded ``output``.

Verdicts: ``verified``; ``mismatch`` (a recorded CID differs from the recomputed one:
``expected`` vs ``got``); ``unverifiable`` (the operation has no implementation here, a
value is missing, or the execution is not completed). Each comes with its reason.
The evidence (records, values, workflows) comes from the local store or from a bundle,
through the small :class:`Evidence` interface.
"""

from __future__ import annotations

from typing import Protocol

from catenary.cid import CID, cid_of, decode
from catenary.errors import CatenaryError
from catenary.model import Event, Execution, OperationManifest, OperationVersion, Status, Workflow
from catenary.model.enums import VerdictKind
from catenary.model.results import MISMATCH as MISMATCH
from catenary.model.results import UNVERIFIABLE as UNVERIFIABLE
from catenary.model.results import VERIFIED as VERIFIED
from catenary.model.results import Verdict as Verdict
from catenary.model.types import mismatch
from catenary.model.workflow import EXTERNAL
from catenary.operations import Registry
from catenary.trust.attestation import AttestationCheck

# How a mismatch of the computation itself starts (its ``got`` is the output computed here).
REEXECUTION_GAVE = "re-execution gave "

# (reason, expected, got): why a record is not where it says; the CIDs when two disagree.
Problem = tuple[str, CID | None, CID | None]


class Evidence(Protocol):
    """Where a verifier reads records and values: the local store or a bundle."""

    def execution(self, execution_hash: CID) -> Execution | None: ...

    def event(self, event_hash: CID) -> Event | None: ...

    def block(self, cid: CID) -> bytes | None: ...

    def workflow(self, workflow_id: CID) -> Workflow | None: ...

    def version(self, version_id: CID) -> tuple[OperationManifest, OperationVersion] | None: ...


def record_problem(e: Execution) -> tuple[str, CID, CID] | None:
    """``(what, recorded, recomputed)`` when the hash or key does not recompute, else None."""
    try:
        ids = e.invocation.preimages()
    except CatenaryError as exc:  # e.g. a config value that is not a string
        return (f"record cannot be hashed: {exc}", e.hash, e.hash)
    if ids.hash != e.hash:
        return ("hash", e.hash, ids.hash)
    if ids.key != e.key:
        return ("key", e.key, ids.key)
    return None


class Verifier:
    """Checks executions against one body of evidence with this process's operations."""

    def __init__(self, evidence: Evidence, registry: Registry) -> None:
        self.evidence = evidence
        self.registry = registry
        # key -> (output CID or None, why not): one re-execution per key per verification.
        self._results: dict[CID, tuple[CID | None, str | None]] = {}
        # Every execution of a trace names the same workflow (and a few versions): read and
        # parse each once, or verifying N executions of an N-step workflow costs N^2.
        self._workflows: dict[CID, Workflow | None] = {}
        self._versions: dict[CID, tuple[OperationManifest, OperationVersion] | None] = {}

    def workflow(self, workflow_id: CID) -> Workflow | None:
        if workflow_id not in self._workflows:
            self._workflows[workflow_id] = self.evidence.workflow(workflow_id)
        return self._workflows[workflow_id]

    def version(self, version_id: CID) -> tuple[OperationManifest, OperationVersion] | None:
        if version_id not in self._versions:
            self._versions[version_id] = self.evidence.version(version_id)
        return self._versions[version_id]

    def name(self, version_id: CID) -> str | None:
        op = self.registry.get(version_id)
        if op is not None:
            return op.name
        found = self.version(version_id)
        return found[0].name if found else None

    def verify(self, e: Execution, attestations: tuple[AttestationCheck, ...] = ()) -> Verdict:
        """The verdict for one execution (never raises for what it finds wrong)."""
        name = self.name(e.operation)

        def verdict(
            kind: VerdictKind, reason: str, expected: CID | None = None, got: CID | None = None
        ) -> Verdict:
            return Verdict(
                e.hash, kind, reason, e.operation, name, e.segment, e.step, expected, got, attestations
            )

        problem = record_problem(e)
        if problem is not None:
            what, recorded, recomputed = problem
            if recorded == recomputed:
                return verdict(MISMATCH, what)
            return verdict(
                MISMATCH,
                f"{what} does not recompute: recorded {recorded}, recomputed {recomputed}",
                recorded,
                recomputed,
            )
        link = self.link_problem(e)
        if link is not None:
            return verdict(MISMATCH, link[0], link[1], link[2])
        if e.status is not Status.COMPLETED or e.output is None:
            return verdict(
                UNVERIFIABLE,
                f"execution is {e.status.value}: only a completed execution has an output to re-compute",
            )
        got, why = self.reexecute(e)
        if why is not None and got is None and why.startswith("unverifiable: "):
            return verdict(UNVERIFIABLE, why[len("unverifiable: ") :])
        if why is not None:
            return verdict(MISMATCH, why, e.output, got)
        if got != e.output:
            return verdict(
                MISMATCH, f"{REEXECUTION_GAVE}{got}, the recorded output is {e.output}", e.output, got
            )
        return verdict(VERIFIED, "re-executed: same output", e.output, got)

    def reexecute(self, e: Execution) -> tuple[CID | None, str | None]:
        """Run the operation on the recorded inputs; ``(output CID, None)`` or ``(CID or None,
        why)``. A reason starting with ``unverifiable: `` means it could not be run here."""
        if e.key in self._results:
            return self._results[e.key]
        result = self._reexecute(e)
        self._results[e.key] = result
        return result

    def _reexecute(self, e: Execution) -> tuple[CID | None, str | None]:
        op = self.registry.get(e.operation)
        if op is None:
            return None, f"unverifiable: {self._missing(e.operation)}"
        values = []
        for i, cid in enumerate(e.inputs):
            data = self.evidence.block(cid)
            if data is None:
                return None, f"unverifiable: input {i} value {cid} is missing"
            try:
                value = decode(data)
            except CatenaryError as exc:
                return None, f"unverifiable: input {i} value {cid} is not DAG-CBOR: {exc}"
            problem = (
                mismatch(op.manifest.inputs[i], value, f"input {i}")
                if i < len(op.manifest.inputs)
                else f"input {i}: {op.name} takes {len(op.manifest.inputs)} input(s)"
            )
            if problem:
                return None, f"{problem} ({op.name} would refuse it)"
            values.append(value)
        try:
            output = op.func(*values, **dict(e.config))
        except Exception as exc:  # the operation's own failure is a finding, not a crash
            return None, f"re-execution failed: {type(exc).__name__}: {exc}"
        problem = mismatch(op.manifest.output, output, "output")
        if problem:
            return None, f"re-execution {problem} (declared by {op.name})"
        try:
            return cid_of(output), None
        except CatenaryError as exc:
            return None, f"re-execution output cannot be encoded: {exc}"

    def _missing(self, version_id: CID) -> str:
        """Why an operation version cannot run here, and what to do, by implementation kind."""
        label = f"{self.name(version_id) or 'operation'} version {version_id}"
        found = self.version(version_id)
        kind = found[1].kind if found else None
        if kind == "wasm":
            assert found is not None  # kind came from it
            return (
                f"{label} has no implementation here: its wasm module "
                f"{found[1].implementation.get('module')} is not available"
            )
        if kind == "remote":
            return (
                f"{label} has no implementation here: remote executors run it, and "
                f"catenary cannot re-execute it"
            )
        return f"{label} has no implementation here (load the module that defines it with --ops)"

    def link_problem(self, e: Execution) -> Problem | None:
        """Why ``e`` is not where its workflow and parents say it is, or None.

        Returns ``(reason, expected, got)``; the CIDs are set when two CIDs disagree.
        """
        if len(e.parents) != len(e.inputs) or not e.inputs:
            return (f"has {len(e.parents)} parents for {len(e.inputs)} inputs", None, None)
        workflow = self.workflow(e.workflow)
        if workflow is None:
            return (f"workflow {e.workflow} is missing", None, None)
        problem = _plan_problem(e, workflow)
        if problem is not None:
            return problem
        if e.step > 0:
            if len(e.inputs) != 1:
                return (
                    f"step {e.step} takes the previous step's output only, has {len(e.inputs)} inputs",
                    None,
                    None,
                )
            return self._parent_problem(e, 0, e.segment, e.step - 1)
        segment = workflow.segments[e.segment]
        if len(segment.inputs) != len(e.inputs):
            return (
                f"segment {e.segment} has {len(segment.inputs)} inputs, the execution {len(e.inputs)}",
                None,
                None,
            )
        external = 0
        for slot, source in enumerate(segment.inputs):
            if source == EXTERNAL:
                problem = self._event_problem(e, slot, external)
                external += 1
            else:
                last = len(workflow.segments[source].sequence) - 1
                problem = self._parent_problem(e, slot, source, last)
            if problem:
                return problem
        return None

    def _parent_problem(self, e: Execution, index: int, segment: int, step: int) -> Problem | None:
        """Why parent ``index`` of ``e`` is not segment ``segment`` step ``step`` of its run,
        having produced input ``index``, or None."""
        cid = e.parents[index]
        parent = self.evidence.execution(cid)
        if parent is None:
            return (f"parent {index} {cid} (segment {segment} step {step}) is missing", None, None)
        if (parent.segment, parent.step) != (segment, step) or parent.run != e.run:
            return (
                f"parent {index} {cid} is segment {parent.segment} step {parent.step} of run "
                f"{parent.run}, expected segment {segment} step {step} of run {e.run}",
                None,
                None,
            )
        if parent.output != e.inputs[index]:
            return (
                f"input {index} is {e.inputs[index]} but parent {cid} produced {parent.output}",
                parent.output,
                e.inputs[index],
            )
        return None

    def _event_problem(self, e: Execution, slot: int, external: int) -> Problem | None:
        """Why parent ``slot`` of ``e`` is not the event of its run and segment that carried
        input ``slot`` as its external input number ``external``, or None."""
        parent = e.parents[slot]
        event = self.evidence.event(parent)
        if event is None:
            return (
                f"parent {slot} {parent} should be the event carrying the external input, and it is missing",
                None,
                None,
            )
        if event.run != e.run or event.segment != e.segment:
            return (
                f"event {parent} is for segment {event.segment} of run {event.run}, not "
                f"segment {e.segment} of run {e.run}",
                None,
                None,
            )
        carried = event.inputs[external] if external < len(event.inputs) else None
        if carried != e.inputs[slot]:
            return (
                f"input {slot} is {e.inputs[slot]} but event {parent} carried {carried}",
                carried,
                e.inputs[slot],
            )
        return None


def _plan_problem(e: Execution, workflow: Workflow) -> Problem | None:
    """Why the workflow does not run ``e``'s operation and config at its segment and step."""
    if not 0 <= e.segment < len(workflow.segments):
        return (f"segment {e.segment} is not in workflow {e.workflow}", None, None)
    segment = workflow.segments[e.segment]
    if not 0 <= e.step < len(segment.sequence):
        return (f"step {e.step} is not in segment {e.segment} of the workflow", None, None)
    planned = segment.sequence[e.step]
    if planned.version_id != e.operation:
        return (
            f"the workflow runs {planned.version_id} at segment {e.segment} step {e.step}, not {e.operation}",
            planned.version_id,
            e.operation,
        )
    if dict(planned.config) != dict(e.config):
        return (f"the workflow's config there is {planned.config}, not {e.config}", None, None)
    return None
