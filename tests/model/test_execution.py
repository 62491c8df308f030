"""The execution record, its two hashes (SPEC §2), the status machine (SPEC §4), runs, events, filters."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from catenary.cid import CID, cid_of, decode
from catenary.errors import EncodingError, StatusTransitionError
from catenary.model import Event, Execution, Run, Status, check_transition, hash_data, key_data
from catenary.model.filter import ExecutionFilter
from tests.helpers import independent_cid

WF = cid_of("workflow")
OP = cid_of("operation version")
RUN = Run(WF, bytes(range(16))).id
EVENT = cid_of("event")
IN_A = cid_of(b"a")
IN_B = cid_of("b")


def make(**overrides) -> Execution:
    fields = dict(
        workflow=WF,
        run=RUN,
        segment=2,
        step=0,
        operation=OP,
        config={"algorithm": "blake3"},
        parents=(EVENT, cid_of("producer")),
        inputs=(IN_A, IN_B),
        status=Status.COMPLETED,
        output=cid_of(b"out"),
        error=None,
        executor="node-x",
        cached_from=None,
        created_at=1_000,
        started_at=1_500,
        finished_at=4_000,
        seq=7,
    )
    fields.update(overrides)
    h = cid_of(
        hash_data(
            fields["workflow"],
            fields["segment"],
            fields["step"],
            fields["operation"],
            fields["config"],
            list(fields["parents"]),
            list(fields["inputs"]),
        )
    )
    k = cid_of(key_data(fields["operation"], fields["config"], list(fields["inputs"])))
    return Execution(hash=fields.pop("hash", h), key=fields.pop("key", k), **fields)


# -- hashes -----------------------------------------------------------------------------------


def test_hash_preimage_has_exactly_the_spec_keys() -> None:
    pre = hash_data(WF, 1, 2, OP, {}, [EVENT], [IN_A])
    assert set(pre) == {"workflow", "segment", "step", "operation", "config", "parents", "inputs"}
    assert set(key_data(OP, {}, [IN_A])) == {"operation", "config", "inputs"}


def test_hash_and_key_match_an_independent_implementation() -> None:
    e = make()
    hashed = {
        "workflow": WF,
        "segment": 2,
        "step": 0,
        "operation": OP,
        "config": {"algorithm": "blake3"},
        "parents": [EVENT, cid_of("producer")],
        "inputs": [IN_A, IN_B],
    }
    keyed = {"operation": OP, "config": {"algorithm": "blake3"}, "inputs": [IN_A, IN_B]}
    assert str(e.recomputed_hash()) == independent_cid(hashed)
    assert str(e.recomputed_key()) == independent_cid(keyed)
    assert e.recomputed_hash() == e.hash and e.recomputed_key() == e.key


def test_empty_config_is_hashed_as_an_empty_map() -> None:
    e = make(config={})
    assert str(e.hash) == independent_cid(
        {
            "workflow": WF,
            "segment": 2,
            "step": 0,
            "operation": OP,
            "config": {},
            "parents": [EVENT, cid_of("producer")],
            "inputs": [IN_A, IN_B],
        }
    )


@pytest.mark.parametrize(
    "field, value",
    [
        ("workflow", cid_of("w2")),
        ("segment", 3),
        ("step", 1),
        ("operation", cid_of("op2")),
        ("config", {"algorithm": "sha2-256"}),
        ("parents", (cid_of("other"), cid_of("producer"))),
        ("inputs", (IN_B, IN_A)),
    ],
)
def test_every_hashed_field_changes_the_hash(field: str, value) -> None:
    assert make(**{field: value}).hash != make().hash


@pytest.mark.parametrize(
    "field, value",
    [
        ("workflow", cid_of("w2")),
        ("segment", 3),
        ("step", 1),
        ("parents", (cid_of("other"),) * 2),
        ("run", cid_of("another run")),
        ("status", Status.FAILED),
        ("output", None),
        ("error", "x"),
        ("executor", "node-y"),
        ("cached_from", cid_of("c")),
        ("created_at", 5),
        ("started_at", 6),
        ("finished_at", 7),
        ("seq", 99),
    ],
)
def test_key_ignores_position_and_metadata(field: str, value) -> None:
    assert make(**{field: value}).key == make().key


@pytest.mark.parametrize(
    "field, value",
    [
        ("run", cid_of("another run")),
        ("status", Status.FAILED),
        ("output", None),
        ("error", "x"),
        ("executor", "node-y"),
        ("cached_from", cid_of("c")),
        ("created_at", 5),
        ("seq", 99),
    ],
)
def test_hash_ignores_metadata(field: str, value) -> None:
    assert make(**{field: value}).hash == make().hash


@pytest.mark.parametrize(
    "field, value", [("operation", cid_of("op2")), ("config", {"algorithm": "sha2-256"}), ("inputs", (IN_A,))]
)
def test_key_depends_on_the_computation(field: str, value) -> None:
    assert make(**{field: value}).key != make().key


def test_recomputed_hash_detects_a_tampered_record() -> None:
    e = make()
    tampered = dataclasses.replace(e, segment=e.segment + 1)
    assert tampered.recomputed_hash() != tampered.hash
    tampered = dataclasses.replace(e, inputs=(IN_B, IN_A))
    assert tampered.recomputed_key() != tampered.key


def test_duration_is_computed() -> None:
    assert make().duration_ns == 2_500
    assert make(finished_at=None).duration_ns is None
    assert make(started_at=None).duration_ns is None


# -- runs and events --------------------------------------------------------------------------


def test_run_id_is_the_cid_of_workflow_and_nonce() -> None:
    nonce = bytes(range(16))
    run = Run(WF, nonce)
    assert run.data() == {"workflow": WF, "nonce": nonce}
    assert str(run.id) == independent_cid({"workflow": WF, "nonce": nonce})
    assert Run(WF, bytes(16)).id != run.id


def test_event_hash_is_the_cid_of_run_segment_inputs() -> None:
    ev = Event(RUN, 4, (IN_A, IN_B))
    assert ev.data() == {"run": RUN, "segment": 4, "inputs": [IN_A, IN_B]}
    assert str(ev.hash) == independent_cid({"run": RUN, "segment": 4, "inputs": [IN_A, IN_B]})
    assert Event(RUN, 5, (IN_A, IN_B)).hash != ev.hash
    assert Event(cid_of("other run"), 4, (IN_A, IN_B)).hash != ev.hash


# -- status machine -----------------------------------------------------------------------------

ALLOWED = {
    (Status.CREATED, Status.IN_PROGRESS),
    (Status.IN_PROGRESS, Status.COMPLETED),
    (Status.IN_PROGRESS, Status.FAILED),
}


@pytest.mark.parametrize("current, new", list(itertools.product(Status, Status)))
def test_transitions(current: Status, new: Status) -> None:
    if (current, new) in ALLOWED:
        check_transition(current, new)
        return
    with pytest.raises(StatusTransitionError) as info:
        check_transition(current, new)
    message = str(info.value)
    assert current.value in message and new.value in message
    # the message names what was expected from the current status
    expected = [n.value for c, n in ALLOWED if c == current]
    if expected:
        assert all(x in message for x in expected), message
    else:
        assert "terminal" in message, message


def test_transition_message_is_precise() -> None:
    with pytest.raises(StatusTransitionError) as info:
        check_transition(Status.CREATED, Status.COMPLETED)
    msg = str(info.value)
    assert "from created to completed" in msg
    assert "must be in_progress" in msg


def test_status_values_are_the_spec_names() -> None:
    assert [s.value for s in Status] == ["created", "in_progress", "completed", "failed"]


# -- filter ------------------------------------------------------------------------------------


def test_empty_filter_matches_everything() -> None:
    assert ExecutionFilter().matches(make())


@pytest.mark.parametrize(
    "flt, expected",
    [
        (ExecutionFilter(statuses=(Status.COMPLETED,)), True),
        (ExecutionFilter(statuses=(Status.FAILED, Status.COMPLETED)), True),
        (ExecutionFilter(statuses=(Status.FAILED,)), False),
        (ExecutionFilter(workflow=WF), True),
        (ExecutionFilter(workflow=cid_of("x")), False),
        (ExecutionFilter(run=RUN), True),
        (ExecutionFilter(run=cid_of("x")), False),
        (ExecutionFilter(operation=OP), True),
        (ExecutionFilter(operation=cid_of("x")), False),
        (ExecutionFilter(segment=2), True),
        (ExecutionFilter(segment=0), False),
        (ExecutionFilter(parent=EVENT), True),
        (ExecutionFilter(parent=cid_of("producer")), True),
        (ExecutionFilter(parent=IN_A), False),
        (ExecutionFilter(created_after=999), True),
        (ExecutionFilter(created_after=1_000), False),
        (ExecutionFilter(created_before=1_001), True),
        (ExecutionFilter(created_before=1_000), False),
        (ExecutionFilter(segment=2, workflow=cid_of("x")), False),
    ],
)
def test_filter_matches(flt: ExecutionFilter, expected: bool) -> None:
    assert flt.matches(make()) is expected


def test_filter_key() -> None:
    e = make()
    assert ExecutionFilter(key=e.key).matches(e)
    assert not ExecutionFilter(key=e.hash).matches(e)


def test_cid_values_are_catenary_cids() -> None:
    assert isinstance(make().hash, CID)


# -- the one builder ----------------------------------------------------------------------------


def test_invocation_builds_the_record_and_both_preimages_once() -> None:
    expected = make(
        status=Status.CREATED, output=None, executor=None, started_at=None, finished_at=None, seq=0
    )
    invocation = expected.invocation
    record = invocation.record(RUN, Status.CREATED, created_at=1_000)
    assert record == expected
    ids = invocation.preimages()
    assert str(ids.hash) == independent_cid(
        hash_data(WF, 2, 0, OP, {"algorithm": "blake3"}, list(expected.parents), [IN_A, IN_B])
    )
    assert str(ids.key) == independent_cid(key_data(OP, {"algorithm": "blake3"}, [IN_A, IN_B]))
    assert (cid_of(decode(ids.hash_block)), cid_of(decode(ids.key_block))) == (ids.hash, ids.key)


def test_the_trusted_fast_path_encodes_the_same_bytes() -> None:
    invocation = make().invocation
    assert invocation.preimages(trusted=True) == invocation.preimages()


def test_an_unencodable_field_is_refused_naming_its_path() -> None:
    invocation = dataclasses.replace(make().invocation, config={"k": "\ud800"})
    with pytest.raises(EncodingError, match=r"\$\.config\.k"):
        invocation.preimages()
