"""Property tests of the records' ids (hypothesis, bounded and derandomized).

tests/cid/test_properties.py covers the DAG-CBOR codec itself; these cover what is built on
it: an execution's ``hash`` and ``key`` (deterministic, blind to config key order, sensitive
to every hashed field and to input order), and the ids of workflows, runs, events and
operation manifests, which must survive every round trip a record makes (data map,
DAG-CBOR bytes, DAG-JSON text) unchanged.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catenary.cid import CID, block_cid, cid_of, dagjson, decode, encode
from catenary.model import (
    Event,
    Execution,
    Invocation,
    Run,
    Segment,
    Status,
    Step,
    Workflow,
    hash_data,
    key_data,
)
from catenary.model.operation import OperationManifest
from catenary.model.types import NAMES
from catenary.model.workflow import load_manifest
from tests.helpers import independent_cid

BOUNDED = settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

cids = st.binary(max_size=12).map(block_cid)
texts = st.text(max_size=10)
# DAG-JSON reserves the single-key map {"/": ...} for links and bytes: no such config key.
configs = st.dictionaries(texts.filter(lambda k: k != "/"), texts, max_size=4)
indexes = st.integers(0, 2**32 - 1)
HASHED = ("workflow", "segment", "step", "operation", "config", "parents", "inputs")
KEYED = ("operation", "config", "inputs")


@st.composite
def executions(draw: Any) -> dict[str, Any]:
    """The seven hashed fields of an execution, with as many parents as inputs."""
    inputs = draw(st.lists(cids, min_size=1, max_size=4))
    return {
        "workflow": draw(cids),
        "segment": draw(indexes),
        "step": draw(indexes),
        "operation": draw(cids),
        "config": draw(configs),
        "parents": draw(st.lists(cids, min_size=len(inputs), max_size=len(inputs))),
        "inputs": inputs,
    }


def exe_hash(f: dict[str, Any]) -> CID:
    return cid_of(
        hash_data(
            f["workflow"], f["segment"], f["step"], f["operation"], f["config"], f["parents"], f["inputs"]
        )
    )


def exe_key(f: dict[str, Any]) -> CID:
    return cid_of(key_data(f["operation"], f["config"], f["inputs"]))


STRATEGY = {
    "workflow": cids,
    "segment": indexes,
    "step": indexes,
    "operation": cids,
    "config": configs,
    "parents": st.lists(cids, min_size=1, max_size=4),
    "inputs": st.lists(cids, min_size=1, max_size=4),
}


@BOUNDED
@given(executions())
def test_hash_and_key_are_deterministic_and_the_engine_computes_the_same(f: dict[str, Any]) -> None:
    again = copy.deepcopy(f)  # equal fields, new objects: nothing depends on identity
    assert exe_hash(f) == exe_hash(again)
    assert exe_key(f) == exe_key(again)
    # The engine encodes pre-images on a fast path that skips the value checks: same bytes.
    invocation = Invocation(
        f["workflow"],
        f["segment"],
        f["step"],
        f["operation"],
        f["config"],
        tuple(f["parents"]),
        tuple(f["inputs"]),
    )
    for trusted in (True, False):
        ids = invocation.preimages(trusted=trusted)
        assert (ids.hash, ids.key) == (exe_hash(f), exe_key(f))
        assert (block_cid(ids.hash_block), block_cid(ids.key_block)) == (ids.hash, ids.key)


@BOUNDED
@given(executions(), st.randoms(use_true_random=False))
def test_hash_and_key_do_not_depend_on_config_key_order(f: dict[str, Any], rnd: Any) -> None:
    items = list(f["config"].items())
    rnd.shuffle(items)
    shuffled = {**f, "config": dict(items)}
    reversed_ = {**f, "config": dict(reversed(list(f["config"].items())))}
    for other in (shuffled, reversed_):
        assert exe_hash(other) == exe_hash(f)
        assert exe_key(other) == exe_key(f)


@BOUNDED
@given(executions(), st.sampled_from(HASHED), st.data())
def test_hash_changes_with_every_hashed_field_and_key_only_with_its_own(
    f: dict[str, Any], name: str, data: Any
) -> None:
    changed = {**f, name: data.draw(STRATEGY[name].filter(lambda v: v != f[name]), label=name)}
    assert exe_hash(changed) != exe_hash(f)
    if name in KEYED:
        assert exe_key(changed) != exe_key(f)
    else:
        assert exe_key(changed) == exe_key(f)  # the key names the computation, not its place


@BOUNDED
@given(executions(), st.sampled_from(["inputs", "parents"]), st.randoms(use_true_random=False))
def test_hash_depends_on_input_and_parent_order(f: dict[str, Any], name: str, rnd: Any) -> None:
    values = list(f[name])
    rnd.shuffle(values)
    if values == f[name]:
        values = values[1:] + values[:1]
    reordered = {**f, name: values}
    if values == f[name]:  # a single element or all equal: no other order exists
        assert exe_hash(reordered) == exe_hash(f)
        return
    assert exe_hash(reordered) != exe_hash(f)
    assert (exe_key(reordered) != exe_key(f)) == (name == "inputs")


@BOUNDED
@given(executions(), st.sampled_from(list(Status)), st.integers(0, 2**62), st.text(max_size=5))
def test_a_records_hashes_recompute_from_its_fields_whatever_its_metadata(
    f: dict[str, Any], status: Status, number: int, text: str
) -> None:
    record = Execution(
        hash=exe_hash(f),
        key=exe_key(f),
        run=block_cid(b"run"),
        status=status,
        output=None,
        error=text or None,
        executor=text,
        cached_from=None,
        created_at=number,
        started_at=number,
        finished_at=number + 1,
        seq=number,
        parents=tuple(f["parents"]),
        inputs=tuple(f["inputs"]),
        **{k: f[k] for k in ("workflow", "segment", "step", "operation", "config")},
    )
    assert record.recomputed_hash() == record.hash
    assert record.recomputed_key() == record.key


# -- workflows, runs, events, operation manifests -----------------------------------------------------
steps = st.builds(Step, cids, configs)


@st.composite
def workflows(draw: Any) -> Workflow:
    """Structurally valid workflows (references are not validated by from_data)."""
    count = draw(st.integers(1, 4))
    segments = tuple(
        Segment(
            tuple(draw(st.lists(st.integers(-1, max(i - 1, -1)), min_size=1, max_size=3))),
            tuple(draw(st.lists(steps, min_size=1, max_size=3))),
        )
        for i in range(count)
    )
    return Workflow(
        draw(texts),
        tuple(draw(st.lists(texts, max_size=3))),
        draw(texts),
        tuple(draw(st.lists(texts, max_size=3))),
        segments,
    )


@BOUNDED
@given(workflows())
def test_workflow_survives_data_cbor_and_json_round_trips_with_the_same_id(w: Workflow) -> None:
    assert Workflow.from_data(w.data()) == w
    from_cbor = Workflow.from_data(decode(encode(w.data())))
    assert from_cbor == w and from_cbor.id == w.id
    text = json.dumps({"id": str(w.id), "data": dagjson.to_json(w.data())})
    from_json = load_manifest(dagjson.parse(text, "manifest"))  # the given id must match
    assert from_json == w and from_json.id == w.id
    assert cid_of(w.data()) == w.id


@settings(BOUNDED, max_examples=30)
@given(workflows())
def test_workflow_id_matches_an_independent_implementation(w: Workflow) -> None:
    assert str(w.id) == independent_cid(w.data())


@BOUNDED
@given(workflows(), st.data())
def test_workflow_id_changes_when_any_step_or_input_changes(w: Workflow, data: Any) -> None:
    index = data.draw(st.integers(0, len(w.segments) - 1))
    segment = w.segments[index]
    new_step = data.draw(steps.filter(lambda s: s != segment.sequence[0]))
    changed = Segment(segment.inputs, (new_step,) + segment.sequence[1:])
    other = Workflow(
        w.name, w.creators, w.description, w.groups, w.segments[:index] + (changed,) + w.segments[index + 1 :]
    )
    assert other.id != w.id
    more_inputs = Segment(segment.inputs + (-1,), segment.sequence)
    assert (
        Workflow(
            w.name,
            w.creators,
            w.description,
            w.groups,
            w.segments[:index] + (more_inputs,) + w.segments[index + 1 :],
        ).id
        != w.id
    )


@BOUNDED
@given(cids, st.binary(min_size=16, max_size=16), st.binary(min_size=16, max_size=16))
def test_run_id_is_stable_and_unique_per_nonce(workflow: CID, nonce: bytes, other: bytes) -> None:
    run = Run(workflow, nonce)
    assert run.id == Run(workflow, bytes(nonce)).id == cid_of({"nonce": nonce, "workflow": workflow})
    assert (Run(workflow, other).id == run.id) == (other == nonce)
    assert str(run.id) == independent_cid(run.data())


@BOUNDED
@given(cids, indexes, st.lists(cids, min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_event_hash_covers_run_segment_and_input_order(
    run: CID, segment: int, inputs: list[CID], rnd: Any
) -> None:
    event = Event(run, segment, tuple(inputs))
    assert event.hash == cid_of({"run": run, "segment": segment, "inputs": inputs})
    assert Event(run, segment + 1, tuple(inputs)).hash != event.hash
    assert Event(block_cid(run.cid_bytes), segment, tuple(inputs)).hash != event.hash
    shuffled = list(inputs)
    rnd.shuffle(shuffled)
    assert (Event(run, segment, tuple(shuffled)).hash == event.hash) == (shuffled == inputs)


types = st.recursive(
    st.sampled_from(NAMES), lambda inner: st.dictionaries(texts, inner, max_size=3), max_leaves=6
)


@BOUNDED
@given(
    st.text(min_size=1, max_size=10),
    st.lists(types, max_size=3),
    types,
    texts,
    st.dictionaries(texts, st.lists(texts, max_size=3).map(tuple), max_size=3),
    st.lists(texts, max_size=2).map(tuple),
)
def test_operation_manifest_round_trips_with_the_same_id(
    name: str, inputs: list[Any], output: Any, description: str, config: Any, groups: tuple[str, ...]
) -> None:
    manifest = OperationManifest(name, tuple(inputs), output, description, config, groups)
    for data in (manifest.data(), decode(encode(manifest.data()))):
        again = OperationManifest.from_data(data)
        assert again == manifest and again.id == manifest.id
