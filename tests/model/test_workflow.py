"""Workflow manifests: parsing, ids and every validation rule of SPEC §3 (with its JSON path)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from catenary.cid import CID, cid_of
from catenary.errors import BadInputError, ManifestError
from catenary.model import Segment, Step, Workflow
from catenary.model.workflow import load_manifest
from catenary.operations import default_registry
from tests import ops_fixture
from tests.helpers import data, independent_cid

REGISTRY = default_registry()
REGISTRY.add_module(ops_fixture)


def resolve(name: str) -> CID | None:
    op = REGISTRY.by_name(name)
    return None if op is None else op.version_id


def lookup(version_id: CID):
    op = REGISTRY.get(version_id)
    return None if op is None else op.manifest


def vid(name: str) -> CID:
    return REGISTRY.by_name(name).version_id


def load(manifest: Any) -> Workflow:
    workflow = load_manifest(manifest, resolve)
    workflow.validate(lookup)
    return workflow


def base() -> dict[str, Any]:
    """A valid three-segment manifest: [-1] -> [0, -1] -> [1]."""
    return {
        "data": data(
            ([-1], ["std/utf8-encode", ("std/hash", {"algorithm": "sha2-256"})]),
            ([0, -1], ["std/concat"]),
            ([1], ["std/cid"]),
        )
    }


# -- valid manifests ---------------------------------------------------------------------------


def test_base_manifest_is_valid_and_resolves_names_to_version_ids() -> None:
    wf = load(base())
    assert len(wf.segments) == 3
    assert wf.segments[0].sequence[0].version_id == vid("std/utf8-encode")
    assert wf.segments[0].sequence[1] == Step(vid("std/hash"), {"algorithm": "sha2-256"})
    assert wf.segments[1].inputs == (0, -1)
    assert wf.segments[1].external_slots == 1
    assert wf.segments[0].external_slots == 1
    assert wf.segments[2].external_slots == 0


def test_workflow_id_is_the_cid_of_the_spec_data_map() -> None:
    wf = load(base())
    expected = {
        "name": "test",
        "creators": ["tests"],
        "description": "",
        "groups": [],
        "segments": [
            {
                "inputs": [-1],
                "sequence": [
                    {"version_id": vid("std/utf8-encode"), "config": {}},
                    {"version_id": vid("std/hash"), "config": {"algorithm": "sha2-256"}},
                ],
            },
            {"inputs": [0, -1], "sequence": [{"version_id": vid("std/concat"), "config": {}}]},
            {"inputs": [1], "sequence": [{"version_id": vid("std/cid"), "config": {}}]},
        ],
    }
    assert wf.data() == expected
    assert wf.id == cid_of(expected)
    assert str(wf.id) == independent_cid(expected)
    assert str(wf.id).startswith("bafy2bza")


def test_id_does_not_depend_on_how_the_manifest_names_operations() -> None:
    by_name = load(base())
    as_text = base()
    as_link = base()
    for m, form in ((as_text, str), (as_link, lambda c: {"/": str(c)})):
        for seg in m["data"]["segments"]:
            for step in seg["sequence"]:
                step["version_id"] = form(vid(step.pop("op")))
    assert load(as_text).id == by_name.id
    assert load(as_link).id == by_name.id
    # JSON key order of the manifest does not matter either
    reordered = {"data": dict(reversed(list(base()["data"].items())))}
    assert load(reordered).id == by_name.id


def test_a_given_id_must_match_and_a_matching_one_is_accepted() -> None:
    wf = load(base())
    good = base()
    good["id"] = str(wf.id)
    assert load(good).id == wf.id
    good["id"] = {"/": str(wf.id)}
    assert load(good).id == wf.id


def test_changing_anything_hashed_changes_the_id() -> None:
    ids = {load(base()).id}
    for mutate in (
        lambda d: d.update(name="other"),
        lambda d: d.update(description="x"),
        lambda d: d.update(creators=["someone"]),
        lambda d: d.update(groups=["g"]),
        lambda d: d["segments"][0]["sequence"][1]["config"].update(algorithm="blake3"),
        lambda d: d["segments"][1].update(inputs=[-1, 0]),
    ):
        m = base()
        mutate(m["data"])
        ids.add(load(m).id)
    assert len(ids) == 7


def test_same_operation_version_may_appear_several_times() -> None:
    wf = load({"data": data(([-1], ["test/inc", "test/inc", "test/inc"]), ([0, 0], ["test/add"]))})
    assert len({s.version_id for s in wf.segments[0].sequence}) == 1


def test_any_connects_both_ways_and_map_types_connect_to_map() -> None:
    # any -> string (std/get output any into utf8-encode), map field type -> any / map
    load({"data": data(([-1], [("std/get", {"path": "a"}), "std/utf8-encode"]))})
    load({"data": data(([-1], ["test/to-map", ("std/get", {"path": "n"})]))})
    load({"data": data(([-1], ["std/exif", ("std/get", {"path": "Make"})]))})


def test_roundtrip_through_data() -> None:
    wf = load(base())
    again = Workflow.from_data(wf.data())
    assert again == wf
    assert again.id == wf.id
    assert isinstance(again.segments[0], Segment)


def test_empty_allowed_list_means_any_string() -> None:
    load({"data": data(([-1], [("std/get", {"path": "any.string.at.all"})]))})


# -- every rule rejects its bad manifest, naming the JSON path --------------------------------


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(m: dict[str, Any]) -> None:
        target = m
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return mutate


def _del(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def mutate(m: dict[str, Any]) -> None:
        target = m
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return mutate


def _step(seg: int, pos: int) -> list[Any]:
    return ["data", "segments", seg, "sequence", pos]


def _add_segment(inputs: list[int], ops: list[Any]) -> Callable[[dict[str, Any]], None]:
    def mutate(m: dict[str, Any]) -> None:
        m["data"]["segments"].append(data((inputs, ops))["segments"][0])

    return mutate


UNKNOWN_VID = str(cid_of("no such operation version"))

BAD: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("no segments", _set(["data", "segments"], []), "segments", "at least one segment"),
    ("segments not a list", _set(["data", "segments"], {"0": {}}), "segments", "list"),
    (
        "segment with no inputs",
        _set(["data", "segments", 1, "inputs"], []),
        "segments[1].inputs",
        "at least one input",
    ),
    ("inputs not a list", _set(["data", "segments", 1, "inputs"], 0), "segments[1].inputs", "input"),
    (
        "forward reference",
        _set(["data", "segments", 1, "inputs"], [2, -1]),
        "segments[1].inputs[0]",
        "does not come before",
    ),
    (
        "self reference",
        _set(["data", "segments", 1, "inputs"], [1, -1]),
        "segments[1].inputs[0]",
        "does not come before",
    ),
    (
        "reference past the end",
        _set(["data", "segments", 2, "inputs"], [7]),
        "segments[2].inputs[0]",
        "does not come before",
    ),
    ("input below -1", _set(["data", "segments", 1, "inputs"], [0, -2]), "segments[1].inputs[1]", "-2"),
    ("input not an int", _set(["data", "segments", 1, "inputs"], [0, "1"]), "segments[1].inputs[1]", "'1'"),
    ("input a bool", _set(["data", "segments", 1, "inputs"], [0, True]), "segments[1].inputs[1]", "True"),
    (
        "segment 0 with non -1 input",
        _set(["data", "segments", 0, "inputs"], [0]),
        "segments[0].inputs[0]",
        "segment 0",
    ),
    (
        "empty sequence",
        _set(["data", "segments", 0, "sequence"], []),
        "segments[0].sequence",
        "at least one operation",
    ),
    (
        "unknown version_id",
        _set(_step(2, 0), {"version_id": UNKNOWN_VID, "config": {}}),
        "segments[2].sequence[0].version_id",
        UNKNOWN_VID,
    ),
    (
        "malformed version_id",
        _set(_step(2, 0), {"version_id": "Qm-not-a-cid", "config": {}}),
        "segments[2].sequence[0].version_id",
        "not a CID",
    ),
    (
        "version_id not a string",
        _set(_step(2, 0), {"version_id": 42, "config": {}}),
        "segments[2].sequence[0].version_id",
        "42",
    ),
    (
        "unknown operation name",
        _set(_step(2, 0) + ["op"], "std/nope"),
        "segments[2].sequence[0].op",
        "std/nope",
    ),
    (
        "first op arity mismatch",
        _set(_step(1, 0) + ["op"], "std/cid"),
        "segments[1].sequence[0]",
        "takes 1 input(s) but the segment has 2",
    ),
    (
        "first op arity mismatch, too few slots",
        _set(["data", "segments", 0, "sequence", 0, "op"], "std/concat"),
        "segments[0].sequence[0]",
        "takes 2 input(s) but the segment has 1",
    ),
    (
        "later op arity != 1",
        _set(
            ["data", "segments", 1, "sequence"],
            [{"op": "std/concat", "config": {}}, {"op": "std/concat", "config": {}}],
        ),
        "segments[1].sequence[1]",
        "takes 2 inputs",
    ),
    (
        "type mismatch between segments",
        _add_segment([0], ["std/utf8-encode"]),
        "segments[3].inputs[0]",
        "'bytes'",
    ),
    (
        "first op arity mismatch in a later segment",
        _add_segment([0], ["std/all"]),
        "segments[3].sequence[0]",
        "takes 2",
    ),
    (
        "type mismatch within a sequence",
        _set(["data", "segments", 0, "sequence", 1], {"op": "std/utf8-encode", "config": {}}),
        "segments[0].sequence[1]",
        "produces 'bytes' but std/utf8-encode takes 'string'",
    ),
    (
        "bad config key",
        _set(_step(0, 1) + ["config"], {"algorithm": "sha2-256", "bogus": "x"}),
        "segments[0].sequence[1].config.bogus",
        "unknown config key",
    ),
    (
        "config key on op without config",
        _set(_step(2, 0) + ["config"], {"algorithm": "sha2-256"}),
        "segments[2].sequence[0].config.algorithm",
        "unknown config key",
    ),
    (
        "bad config value",
        _set(_step(0, 1) + ["config"], {"algorithm": "md5"}),
        "segments[0].sequence[1].config.algorithm",
        "'md5' is not allowed",
    ),
    (
        "config value not a string",
        _set(_step(0, 1) + ["config"], {"algorithm": 256}),
        "segments[0].sequence[1].config.algorithm",
        "strings",
    ),
    (
        "config not a map",
        _set(_step(0, 1) + ["config"], ["sha2-256"]),
        "segments[0].sequence[1].config",
        "map",
    ),
    ("id mismatch", _set(["id"], str(cid_of("another workflow"))), "id", "does not match"),
    ("id not a CID", _set(["id"], "hello"), "id", "not a CID"),
    ("unknown top-level key", _set(["extra"], 1), "", "extra"),
    ("unknown key in data", _set(["data", "extra"], 1), "", "extra"),
    ("unknown key in segment", _set(["data", "segments", 1, "extra"], 1), "segments[1]", "extra"),
    ("unknown key in step", _set(_step(0, 0) + ["extra"], 1), "segments[0].sequence[0]", "extra"),
    ("missing data", _del(["data"]), "", "data"),
    ("missing name", _del(["data", "name"]), "", "name"),
    ("missing creators", _del(["data", "creators"]), "", "creators"),
    ("missing description", _del(["data", "description"]), "", "description"),
    ("missing groups", _del(["data", "groups"]), "", "groups"),
    ("missing segments", _del(["data", "segments"]), "", "segments"),
    ("missing sequence", _del(["data", "segments", 1, "sequence"]), "segments[1]", "sequence"),
    ("missing inputs", _del(["data", "segments", 1, "inputs"]), "segments[1]", "inputs"),
    ("missing config", _del(_step(0, 1) + ["config"]), "segments[0].sequence[1]", "config"),
    ("name not a string", _set(["data", "name"], 3), "name", "string"),
    ("creator not a string", _set(["data", "creators"], ["a", None]), "creators[1]", "string"),
    ("groups not a list", _set(["data", "groups"], "std"), "groups", "list"),
]


def bad_manifest(mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    m = base()
    mutate(m)
    return m


@pytest.mark.parametrize("case, mutate, path, fragment", BAD, ids=[c[0] for c in BAD])
def test_bad_manifest_is_refused_with_its_path(case: str, mutate, path: str, fragment: str) -> None:
    m = bad_manifest(mutate)
    with pytest.raises(ManifestError) as info:
        load(m)
    err = info.value
    assert isinstance(err, BadInputError)
    assert err.path == path, f"{case}: {err}"
    assert fragment in err.reason, f"{case}: {err.reason!r} lacks {fragment!r}"
    assert str(err) == (f"{path}: {err.reason}" if path else err.reason)


def test_type_mismatch_of_map_field_type_in_sequence() -> None:
    with pytest.raises(ManifestError) as info:
        load({"data": data(([-1], ["test/to-map", "test/inc"]))})
    assert info.value.path == "segments[0].sequence[1]"
    assert "'int'" in info.value.reason


def test_type_mismatch_between_segments_with_two_slots() -> None:
    # segment 1 produces bool; segment 2 feeds it to test/add's int slot 1
    m = {"data": data(([-1], ["test/inc"]), ([-1, -1], ["std/equals"]), ([0, 1], ["test/add"]))}
    with pytest.raises(ManifestError) as info:
        load(m)
    assert info.value.path == "segments[2].inputs[1]"
    assert "'bool'" in info.value.reason and "'int'" in info.value.reason


def test_manifest_must_be_an_object() -> None:
    for bad in ([], "text", None, 3):
        with pytest.raises(ManifestError) as info:
            load(bad)
        assert info.value.path == ""


def test_op_form_without_a_resolver_is_refused() -> None:
    with pytest.raises(ManifestError) as info:
        load_manifest(base())
    assert info.value.path == "segments[0].sequence[0]"


def test_error_message_names_segments_in_forward_reference() -> None:
    m = base()
    _add_segment([5], ["std/cid"])(m)
    with pytest.raises(ManifestError) as info:
        load(m)
    assert (
        str(info.value) == "segments[3].inputs[0]: refers to segment 5, which does not come before segment 3"
    )


def test_validation_does_not_mutate_the_input() -> None:
    m = base()
    before = copy.deepcopy(m)
    load(m)
    assert m == before
    assert json.dumps(m, sort_keys=True) == json.dumps(before, sort_keys=True)
