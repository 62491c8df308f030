"""The string enums: each member is its string, so JSON, SQL and gRPC strings did not change."""

from __future__ import annotations

import enum
import json

import pytest

from catenary.cid import encode
from catenary.errors import EncodingError
from catenary.model import Direction, NodeKind, Role, RunStatus, VerdictKind


@pytest.mark.parametrize("kind", [VerdictKind, Role, Direction, RunStatus, NodeKind])
def test_members_are_their_strings(kind: type[enum.StrEnum]) -> None:
    for member in kind:
        assert member == member.value and hash(member) == hash(member.value)
        assert f"{member}" == str(member) == member.value
        assert json.dumps({"k": member}) == json.dumps({"k": member.value})
        assert kind(member.value) is member


def test_the_vocabularies_are_the_documented_ones() -> None:
    assert [v.value for v in VerdictKind] == ["verified", "mismatch", "unverifiable"]
    assert [r.value for r in Role] == ["executor", "validator", "dissent"]
    assert [d.value for d in Direction] == ["ancestors", "descendants"]
    assert [s.value for s in RunStatus] == ["running", "completed", "failed", "cancelled"]
    assert [k.value for k in NodeKind] == ["execution", "event"]


def test_dag_cbor_refuses_a_member_so_records_hold_plain_strings() -> None:
    with pytest.raises(EncodingError):
        encode({"status": RunStatus.RUNNING})
    assert encode({"status": RunStatus.RUNNING.value}) == encode({"status": "running"})
