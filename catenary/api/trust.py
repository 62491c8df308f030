"""Protobuf <-> trust dataclasses (verdicts, attestation checks, verify reports), for the
``Execution.Verify`` and ``Execution.Attestations`` servicers and the client alike."""

from __future__ import annotations

from typing import TypeVar

from catenary.cid import CID
from catenary.errors import BadInputError
from catenary.model.enums import Role, VerdictKind
from catenary.model.results import (
    EXECUTOR,
    MISMATCH,
    UNVERIFIABLE,
    VALIDATOR,
    VERIFIED,
    AttestationCheck,
    Verdict,
    VerifyReport,
)
from catenary.proto.api import execution_pb2

_E = TypeVar("_E", Role, VerdictKind)

VERDICT_TO_PB = {
    VERIFIED: execution_pb2.VERIFIED,
    MISMATCH: execution_pb2.MISMATCH,
    UNVERIFIABLE: execution_pb2.UNVERIFIABLE,
}
VERDICT_FROM_PB: dict[int, VerdictKind] = {v: k for k, v in VERDICT_TO_PB.items()}
ROLE_TO_PB = {
    EXECUTOR: execution_pb2.EXECUTOR,
    VALIDATOR: execution_pb2.VALIDATOR,
    Role.DISSENT: execution_pb2.DISSENT,
}
ROLE_FROM_PB: dict[int, Role] = {v: k for k, v in ROLE_TO_PB.items()}


def _enum(table: dict[int, _E], value: int, what: str) -> _E:
    # proto3 enums are open: a number this side does not know must not pass as a verdict.
    try:
        return table[value]
    except KeyError as exc:
        raise BadInputError(f"{what}: unknown value {value}") from exc


def _optional(data: bytes, present: bool) -> CID | None:
    return CID.from_bytes(data) if present else None


def check_to_pb(check: AttestationCheck) -> execution_pb2.AttestationCheck:
    msg = execution_pb2.AttestationCheck(
        cid=check.cid.cid_bytes, role=ROLE_TO_PB[check.role], valid=check.valid, reason=check.reason
    )
    if check.signer is not None:
        msg.signer = check.signer
    return msg


def check_from_pb(msg: execution_pb2.AttestationCheck) -> AttestationCheck:
    return AttestationCheck(
        CID.from_bytes(msg.cid),
        msg.signer if msg.HasField("signer") else None,
        _enum(ROLE_FROM_PB, msg.role, "attestation role"),
        msg.valid,
        msg.reason,
    )


def verdict_to_pb(v: Verdict) -> execution_pb2.ExecutionVerdict:
    msg = execution_pb2.ExecutionVerdict(
        execution=v.execution.cid_bytes,
        verdict=VERDICT_TO_PB[v.verdict],
        reason=v.reason,
        operation=v.operation.cid_bytes,
        segment=v.segment,
        step=v.step,
        attestations=[check_to_pb(a) for a in v.attestations],
    )
    if v.name is not None:
        msg.name = v.name
    if v.expected is not None:
        msg.expected = v.expected.cid_bytes
    if v.got is not None:
        msg.got = v.got.cid_bytes
    return msg


def verdict_from_pb(msg: execution_pb2.ExecutionVerdict) -> Verdict:
    return Verdict(
        CID.from_bytes(msg.execution),
        _enum(VERDICT_FROM_PB, msg.verdict, "verdict"),
        msg.reason,
        CID.from_bytes(msg.operation),
        msg.name if msg.HasField("name") else None,
        msg.segment,
        msg.step,
        _optional(msg.expected, msg.HasField("expected")),
        _optional(msg.got, msg.HasField("got")),
        tuple(check_from_pb(a) for a in msg.attestations),
    )


def report_to_pb(report: VerifyReport) -> execution_pb2.VerifyResponse:
    return execution_pb2.VerifyResponse(
        root=report.root.cid_bytes,
        verdict=VERDICT_TO_PB[report.overall],
        signer=report.signer or "",
        executions=[verdict_to_pb(v) for v in report.verdicts],
        attested=[h.cid_bytes for h in report.attested],
    )


def report_from_pb(msg: execution_pb2.VerifyResponse) -> VerifyReport:
    return VerifyReport(
        CID.from_bytes(msg.root),
        [verdict_from_pb(v) for v in msg.executions],
        [CID.from_bytes(h) for h in msg.attested],
        msg.signer or None,
    )
