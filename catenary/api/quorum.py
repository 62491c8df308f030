"""Acceptance over gRPC: the Standing message <-> the dataclass, and the enum both ways."""

from __future__ import annotations

from catenary.cid import CID
from catenary.errors import BadInputError
from catenary.model.enums import Acceptance, Role
from catenary.model.results import Standing, Vote
from catenary.proto.definition import quorum_pb2

ACCEPTANCE_TO_PB = {
    Acceptance.ACCEPTED: quorum_pb2.ACCEPTANCE_ACCEPTED,
    Acceptance.PENDING: quorum_pb2.ACCEPTANCE_PENDING,
    Acceptance.DISPUTED: quorum_pb2.ACCEPTANCE_DISPUTED,
}
ACCEPTANCE_FROM_PB: dict[int, Acceptance] = {v: k for k, v in ACCEPTANCE_TO_PB.items()}


def acceptance_from_pb(value: int, what: str) -> Acceptance | None:
    """None for unspecified (any); an unknown number is refused, not read as "any"."""
    if value == quorum_pb2.ACCEPTANCE_UNSPECIFIED:
        return None
    try:
        return ACCEPTANCE_FROM_PB[value]
    except KeyError:
        raise BadInputError(f"{what}: unknown value {value}") from None


def standing_to_pb(s: Standing) -> quorum_pb2.Standing:
    return quorum_pb2.Standing(
        execution=s.execution.cid_bytes,
        status=ACCEPTANCE_TO_PB[s.status],
        rule=s.rule,
        need=s.need,
        canonical=s.canonical.cid_bytes if s.canonical else b"",
        votes=[
            quorum_pb2.Vote(
                signer=v.signer,
                output=v.output.cid_bytes,
                role=v.role.value,
                execution=v.execution.cid_bytes,
                counted=v.counted,
            )
            for v in s.votes
        ],
        reason=s.reason,
    )


def standing_from_pb(m: quorum_pb2.Standing) -> Standing:
    status = acceptance_from_pb(m.status, "standing.status")
    if status is None:
        raise BadInputError("standing.status: unspecified")
    return Standing(
        CID(m.execution),
        status,
        m.rule,
        m.need,
        CID(m.canonical) if m.canonical else None,
        tuple(Vote(v.signer, CID(v.output), Role(v.role), CID(v.execution), v.counted) for v in m.votes),
        m.reason,
    )
