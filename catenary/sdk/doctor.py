"""Check a data dir's invariants, and repair what is safe to repair.

What is checked (each a :class:`Finding` when it does not hold):
- the database's own integrity check passes;
- every execution's ``hash`` and ``key`` recompute from its stored fields;
- every completed execution's output value and every input value is in the value store;
- every parent is a known execution or event;
- every execution fits its workflow and run (catenary/model/placement.py, the rule the engine
  and ``Execution.Create`` follow): its run is of its workflow, and segment, step, operation,
  config, parents and inputs are where the workflow puts them;
  (repair: quarantine it, docs/trust.md "Quarantine": the record is kept, but memoization,
  execution lists and updates no longer serve it, and later checks count it as quarantined);
- no execution is ``in_progress`` without an owner (repair: mark it failed, with the reason);
- every failed execution and failed run carries an error;
- every run's recorded segment outputs are exactly segments 0..next_segment-1, each made by a
  completed execution of that run with that output; a completed run has all its segments;
- every running run submitted to a node is driven: its lease has not lapsed (repair: this
  node takes it over and drives it to the end here; a serving node on the same database
  would take it over on its own, docs/design.md "Runs owned by nodes").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from catenary.cid import CID
from catenary.errors import CatenaryError
from catenary.model import Execution, RunStatus, Status, Workflow
from catenary.model.filter import ExecutionFilter
from catenary.model.placement import lineage_misplacement
from catenary.store import Quarantined, RunState, Store

UNOWNED_REASON = "recovered by catenary doctor: in_progress with no owner (its process died)"
QUARANTINE_REASON = "quarantined by catenary doctor: does not fit its workflow: "


@dataclass(frozen=True)
class Finding:
    """One broken invariant: what, about which record, and whether --repair fixes it."""

    check: str
    subject: str
    message: str
    repairable: bool = False


@dataclass(frozen=True)
class Repair:
    """What ``--repair`` did to one record: ``failed`` (an orphaned claim) or ``quarantined``."""

    action: str
    subject: str
    reason: str


@dataclass(frozen=True)
class Report:
    findings: list[Finding]
    executions: int
    runs: int
    repairs: list[Repair] = field(default_factory=list)
    quarantined: int = 0  # executions out of service (a past --repair), not checked again

    @property
    def repaired(self) -> int:
        return len(self.repairs)

    @property
    def ok(self) -> bool:
        return not self.findings


class Doctor:
    """Walks the whole store once; cost is linear in its size."""

    def __init__(
        self,
        store: Store,
        workflow_segments: dict[CID, int] | None = None,
        drive: Callable[[CID], RunState] | None = None,
    ) -> None:
        self._store = store
        self._drive = drive  # takes a run over and drives it to the end (the node's run driver)
        self._segments: dict[CID, int] = dict(workflow_segments or {})
        self._runs: dict[CID, CID] = {}  # run -> its workflow
        self._workflows: dict[CID, Workflow] = {}

    def check(self, repair: bool = False) -> Report:
        findings = [Finding("integrity", "database", p) for p in self._store.integrity_problems()]
        executions = self._check_executions(findings)
        runs = self._check_runs(findings)
        findings += self._undriven()
        repairs = self._repair(findings) if repair else []
        quarantined = {q.execution for q in self._store.list_quarantined()}
        for run, segment, producer in self._outputs_by(quarantined):
            findings.append(
                Finding("run", run, f"segment {segment} output comes from quarantined execution {producer}")
            )
        return Report(findings, executions, runs, repairs, len(quarantined))

    def _outputs_by(self, producers: set[CID]) -> list[tuple[str, int, CID]]:
        """(run, segment, producer) of each segment output one of ``producers`` made: a run
        resting on a quarantined record is reported, as no repair can redo its work."""
        found = []
        for producer in producers:
            e = self._store.get_execution(producer)
            state = None if e is None else self._store.get_run(e.run)
            if state is not None:
                out = state.outputs.get(e.segment) if e is not None else None
                if out is not None and out.producer == producer:
                    found.append((str(state.id), out.segment, producer))
        return found

    def _undriven(self) -> list[Finding]:
        """Running runs submitted to a node whose lease lapsed: nothing drives them."""
        return [
            Finding(
                "undriven",
                str(lease.run),
                f"running, but nothing drives it: the lease of {lease.holder} lapsed "
                f"(its node died or was stopped)",
                self._drive is not None,
            )
            for lease in self._store.lapsed_run_leases(limit=1000)
            if lease.status == RunStatus.RUNNING
        ]

    def _repair(self, findings: list[Finding]) -> list[Repair]:
        """Fix the findings that are safe to fix, removing them from ``findings``."""
        repairs = []
        for finding in [f for f in findings if f.repairable]:
            if finding.check == "undriven" and self._drive is not None:
                try:
                    state = self._drive(CID.parse(finding.subject))
                except CatenaryError as exc:  # taken over meanwhile, or not drivable here
                    finding_note = f"not continued here: {exc}"
                    findings[findings.index(finding)] = Finding("undriven", finding.subject, finding_note)
                    continue
                repairs.append(Repair("driven", finding.subject, f"continued by this node: {state.status}"))
                findings.remove(finding)
                continue
            if finding.check == "placement":
                reason = QUARANTINE_REASON + finding.message
                self._store.quarantine([Quarantined(CID.parse(finding.subject), time.time_ns(), reason)])
                repairs.append(Repair("quarantined", finding.subject, reason))
                findings.remove(finding)
                continue
            updated = self._store.transition(
                CID.parse(finding.subject),
                Status.IN_PROGRESS,
                Status.FAILED,
                now=time.time_ns(),
                error=UNOWNED_REASON,
            )
            if updated is not None:
                repairs.append(Repair("failed", finding.subject, UNOWNED_REASON))
                findings.remove(finding)
        return repairs

    def _check_executions(self, findings: list[Finding]) -> int:
        count = 0
        before = None
        known_values: set[CID] = set()
        while True:
            page, before = self._store.list_executions(ExecutionFilter(), 1000, before)
            for e in page:
                count += 1
                subject = str(e.hash)
                if e.recomputed_hash() != e.hash:
                    findings.append(
                        Finding("hash", subject, f"hash does not recompute (got {e.recomputed_hash()})")
                    )
                if e.recomputed_key() != e.key:
                    findings.append(
                        Finding("key", subject, f"key does not recompute (got {e.recomputed_key()})")
                    )
                wanted = list(e.inputs) + ([e.output] if e.output else [])
                for cid in wanted:
                    if cid not in known_values:
                        if self._store.get_block(cid) is None:
                            findings.append(Finding("value", subject, f"value {cid} is missing"))
                        else:
                            known_values.add(cid)
                if e.status is Status.COMPLETED and e.output is None:
                    findings.append(Finding("output", subject, "completed without an output"))
                if e.status is Status.FAILED and not e.error:
                    findings.append(Finding("error", subject, "failed without an error"))
                if e.status is Status.IN_PROGRESS and not e.executor:
                    findings.append(Finding("owner", subject, "in_progress with no owner", repairable=True))
                missing = False
                for parent in dict.fromkeys(e.parents):
                    if self._store.get_execution(parent) is None and self._store.get_event(parent) is None:
                        findings.append(Finding("parent", subject, f"parent {parent} is unknown"))
                        missing = True
                if not missing:
                    problem = self._placement(e)
                    if problem:
                        findings.append(Finding("placement", subject, problem, repairable=True))
            if before is None:
                return count

    def _placement(self, e: Execution) -> str | None:
        """Why ``e`` does not sit where its workflow and run put it, or None."""
        run = self._runs.get(e.run)
        if run is None:
            state = self._store.get_run(e.run)
            if state is None:
                return f"run {e.run} is unknown"
            run = self._runs[e.run] = state.workflow
        if run != e.workflow:
            return f"workflow: run {e.run} belongs to workflow {run}, not {e.workflow}"
        workflow = self._workflow(e.workflow)
        if workflow is None:
            return f"workflow {e.workflow} is unknown"
        problem = lineage_misplacement(
            workflow,
            e.run,
            e.invocation,
            lambda cid: self._store.get_execution(cid) or self._store.get_event(cid),
        )
        return None if problem is None else str(problem)

    def _workflow(self, workflow_id: CID) -> Workflow | None:
        """The stored workflow, read once; None when it is unknown or cannot be read."""
        workflow = self._workflows.get(workflow_id)
        if workflow is None:
            try:
                workflow = self._store.get_workflow(workflow_id)
            except CatenaryError:
                return None
            if workflow is not None:
                self._workflows[workflow_id] = workflow
        return workflow

    def _check_runs(self, findings: list[Finding]) -> int:
        runs = self._store.list_runs(None, 10**9)
        for listed in runs:
            state = self._store.get_run(listed.id)
            if state is None:
                continue
            subject = str(state.id)
            if state.status == RunStatus.FAILED and not state.error:
                findings.append(Finding("run", subject, "failed without an error"))
            if sorted(state.outputs) != list(range(state.next_segment)):
                findings.append(
                    Finding(
                        "run",
                        subject,
                        f"segment outputs {sorted(state.outputs)} do not match "
                        f"next_segment {state.next_segment}",
                    )
                )
            for out in state.outputs.values():
                producer = self._store.get_execution(out.producer)
                if (
                    producer is None
                    or producer.run != state.id
                    or producer.status is not Status.COMPLETED
                    or producer.output != out.output
                    or producer.segment != out.segment
                ):
                    findings.append(
                        Finding(
                            "run",
                            subject,
                            f"segment {out.segment} output is not what its producer {out.producer} recorded",
                        )
                    )
            total = self._segments.get(state.workflow)
            if total is None:
                workflow = self._workflow(state.workflow)
                if workflow is None:
                    findings.append(Finding("run", subject, f"workflow {state.workflow} is unknown"))
                    continue
                total = self._segments[state.workflow] = len(workflow.segments)
            if state.status == RunStatus.COMPLETED and state.next_segment != total:
                findings.append(
                    Finding("run", subject, f"completed after {state.next_segment} of {total} segments")
                )
        return len(runs)
