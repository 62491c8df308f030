"""Records as JSON documents (the shapes of SPEC §5), shared by the CLI's --json and the web gateway."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from catenary.cid import CID
from catenary.cid.dagjson import to_json
from catenary.model import Execution, NodeKind, Workflow
from catenary.model.results import (
    AttestationCheck,
    OperationInfo,
    RunState,
    Standing,
    StepResult,
    Trace,
    Verdict,
    VerifyReport,
)

if TYPE_CHECKING:  # the bundle and doctor code is only loaded by the commands that use it
    from catenary.sdk.doctor import Report
    from catenary.store import Dispute
    from catenary.trust import BundleReport


def cid_text(value: CID | None) -> str | None:
    return None if value is None else str(value)


def execution_json(e: Execution) -> dict[str, Any]:
    """An execution with exactly the SPEC §4 field names."""
    return {
        "hash": str(e.hash),
        "key": str(e.key),
        "workflow": str(e.workflow),
        "run": str(e.run),
        "segment": e.segment,
        "step": e.step,
        "operation": str(e.operation),
        "config": e.config,
        "parents": [str(p) for p in e.parents],
        "inputs": [str(i) for i in e.inputs],
        "status": e.status.value,
        "output": cid_text(e.output),
        "error": e.error,
        "executor": e.executor,
        "cached_from": cid_text(e.cached_from),
        "created_at": e.created_at,
        "started_at": e.started_at,
        "finished_at": e.finished_at,
        "seq": e.seq,
    }


def execution_get_json(e: Execution, dispute: Dispute | None, standing: Standing) -> dict[str, Any]:
    """``exec get``: the SPEC §4 record, ``disputed`` (null or why a verify re-execution
    disagreed: the result is then never reused) and ``acceptance`` (its standing under the
    node's quorum policy, docs/network.md)."""
    disputed = None if dispute is None else {"at": dispute.at, "detail": dispute.detail}
    return {**execution_json(e), "disputed": disputed, "acceptance": standing_json(standing)}


def standing_json(s: Standing) -> dict[str, Any]:
    """An execution's standing under a quorum policy (``exec get``, ``verify-bundle``)."""
    return {
        "status": s.status.value,
        "rule": s.rule,
        "need": s.need,
        "canonical": cid_text(s.canonical),
        "reason": s.reason,
        "votes": [
            {
                "signer": v.signer,
                "output": str(v.output),
                "role": v.role.value,
                "execution": str(v.execution),
                "counted": v.counted,
            }
            for v in s.votes
        ],
    }


def workflow_data_json(workflow: Workflow) -> dict[str, Any]:
    """The manifest's data with CIDs as plain strings (accepted back by ``workflow create``)."""
    data = workflow.data()
    for segment in data["segments"]:
        for step in segment["sequence"]:
            step["version_id"] = str(step["version_id"])
    return data


def workflow_json(workflow_id: CID, workflow: Workflow) -> dict[str, Any]:
    return {"id": str(workflow_id), "data": workflow_data_json(workflow)}


def operation_json(info: OperationInfo) -> dict[str, Any]:
    m, v = info.manifest, info.version
    implementation = {k: (str(x) if isinstance(x, CID) else x) for k, x in v.implementation.items()}
    return {
        "name": m.name,
        "id": str(m.id),
        "version_id": str(v.id),
        "inputs": list(m.inputs),
        "output": m.output,
        "config": {k: list(a) for k, a in m.config.items()},
        "description": m.description,
        "groups": list(m.groups),
        "implementation": implementation,
        "available": info.available,
    }


def run_json(state: RunState, segments: int | None = None) -> dict[str, Any]:
    return {
        "run": str(state.id),
        "workflow": str(state.workflow),
        "nonce": to_json(state.nonce),
        "status": state.status,
        "next_segment": state.next_segment,
        "segments": segments,
        "total_time": state.total_time,
        "error": state.error,
        "created_at": state.created_at,
        "updated_at": state.updated_at,
        "outputs": [
            {
                "segment": o.segment,
                "output": str(o.output),
                "producer": str(o.producer),
                "segment_time": o.segment_time,
            }
            for o in sorted(state.outputs.values(), key=lambda o: o.segment)
        ],
    }


def step_json(result: StepResult) -> dict[str, Any]:
    return {
        "run": str(result.run),
        "segment": result.segment,
        "done": result.done,
        "result": to_json(result.result) if result.done else None,
        "segment_time": result.segment_time,
        "total_time": result.total_time,
        "final": str(result.final),
    }


def trace_json(trace: Trace) -> dict[str, Any]:
    nodes = []
    for node in trace.nodes:
        if node.kind == NodeKind.EVENT:
            nodes.append(
                {
                    "kind": NodeKind.EVENT.value,
                    "hash": str(node.hash),
                    "run": cid_text(node.run),
                    "segment": node.segment,
                    "inputs": [str(i) for i in node.inputs],
                    **({"cause": _cause_json(node.cause)} if node.cause is not None else {}),
                }
            )
        else:
            assert node.execution is not None
            nodes.append({"kind": NodeKind.EXECUTION.value, **execution_json(node.execution)})
    return {
        "root": str(trace.root),
        "nodes": nodes,
        "edges": [{"from": str(a), "to": str(b)} for a, b in trace.edges],
    }


def attestation_json(check: AttestationCheck) -> dict[str, Any]:
    return {
        "cid": str(check.cid),
        "signer": check.signer,
        "role": check.role,
        "valid": check.valid,
        "reason": check.reason,
    }


def verdict_json(v: Verdict) -> dict[str, Any]:
    return {
        "hash": str(v.execution),
        "operation": str(v.operation),
        "name": v.name,
        "segment": v.segment,
        "step": v.step,
        "verdict": v.verdict,
        "reason": v.reason,
        "expected": cid_text(v.expected),
        "got": cid_text(v.got),
        "attestations": [attestation_json(a) for a in v.attestations],
    }


def verify_report_json(report: VerifyReport) -> dict[str, Any]:
    """What ``catenary verify --json`` prints."""
    return {
        "root": str(report.root),
        "verdict": report.overall,
        "signer": report.signer,
        "executions": [verdict_json(v) for v in report.verdicts],
        "attested": [str(h) for h in report.attested],
    }


def attestations_json(execution_hash: CID, checks: list[AttestationCheck]) -> dict[str, Any]:
    """What ``catenary exec attestations --json`` prints."""
    return {"execution": str(execution_hash), "attestations": [attestation_json(a) for a in checks]}


def bundle_report_json(path: Path, report: BundleReport) -> dict[str, Any]:
    """What ``catenary verify-bundle --json`` (and ``import``) print for a bundle's check."""
    return {
        "file": str(path),
        "root": cid_text(report.root),
        "verdict": report.overall,
        "blocks": report.blocks,
        "executions": [verdict_json(v) for v in report.verdicts],
        "problems": list(report.problems),
    }


def doctor_json(report: Report) -> dict[str, Any]:
    """What ``catenary doctor --json`` prints."""
    return {
        "ok": report.ok,
        "executions": report.executions,
        "runs": report.runs,
        "repaired": report.repaired,
        "repairs": [{"action": r.action, "subject": r.subject, "reason": r.reason} for r in report.repairs],
        "quarantined": report.quarantined,
        "findings": [
            {"check": f.check, "subject": f.subject, "message": f.message, "repairable": f.repairable}
            for f in report.findings
        ],
    }


def _cause_json(signed: Any) -> dict[str, Any]:
    """The emitted event that triggered a run, as a trace shows it (docs/events.md)."""
    import base64

    e = signed.event
    return {
        "id": str(e.id),
        "key": e.key,
        "emitter": e.emitter,
        "data": str(e.data),
        "time": e.time,
        "signature": base64.b64encode(signed.signature).decode(),
        **({"source": str(e.source)} if e.source is not None else {}),  # a result event
    }


def emitted_event_json(signed: Any, data: Any = None, with_data: bool = False) -> dict[str, Any]:
    """``event get --json``: an emitted event as stored (``value``: its data, when asked)."""
    import base64

    e = signed.event
    document: dict[str, Any] = {
        "id": str(e.id),
        "emitter": e.emitter,
        "key": e.key,
        "data": str(e.data),
        "time": e.time,
        "nonce": e.nonce.hex(),
        "signature": base64.b64encode(signed.signature).decode(),
        "position": signed.position,
        "received_at": signed.received_at,
    }
    if e.source is not None:  # a result event: the execution whose output the data is
        document["source"] = str(e.source)
    if with_data:
        document["value"] = to_json(data)
    return document


def firing_json(f: Any) -> dict[str, Any]:
    """``trigger history --json``: what became of one (trigger, event) pair."""
    return {
        "trigger": f.trigger,
        "event": str(f.event),
        "status": f.status,
        "run": str(f.run) if f.run else None,
        "reason": f.reason,
        "at": f.at,
    }
