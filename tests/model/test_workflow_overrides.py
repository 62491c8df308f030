"""The seed's per-step type overrides (``inputs`` / ``output`` in a sequence step)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from catenary.errors import ManifestError
from catenary.model.workflow import load_manifest
from tests.model.test_workflow import base, load, lookup, resolve


def _with(step: dict[str, Any], segment: int = 0, position: int = 0) -> dict[str, Any]:
    manifest = base()
    manifest["data"]["segments"][segment]["sequence"][position].update(step)
    return manifest


def test_no_override_keeps_the_id_and_the_hashed_map() -> None:
    plain = load(base())
    assert all(
        set(step.data()) == {"version_id", "config"}
        for segment in plain.segments
        for step in segment.sequence
    )


def test_overrides_are_hashed_and_round_trip() -> None:
    plain = load(base())
    narrowed = load(_with({"inputs": ["any", "any"], "output": "any"}, segment=1))
    assert narrowed.id != plain.id
    step = narrowed.segments[1].sequence[0]
    assert step.data()["inputs"] == ["any", "any"] and step.data()["output"] == "any"
    again = load_manifest({"id": str(narrowed.id), "data": narrowed.data()}, resolve)
    again.validate(lookup)
    assert again.id == narrowed.id


def test_an_override_narrows_the_connection_check() -> None:
    # std/concat takes (any, any) -> any; narrowing its output to int no longer feeds std/cid (bytes).
    with pytest.raises(ManifestError) as info:
        load(_with({"output": "int"}, segment=1))
    assert info.value.path == "segments[2].inputs[0]"
    assert "'int'" in str(info.value)


@pytest.mark.parametrize(
    "step,path,words",
    [
        ({"output": "integer"}, "segments[1].sequence[0].output", "unknown type"),
        ({"inputs": ["bytes"]}, "segments[1].sequence[0].inputs", "takes 2 input(s)"),
        ({"inputs": []}, "segments[1].sequence[0].inputs", "non-empty list"),
        ({"inputs": "bytes"}, "segments[1].sequence[0].inputs", "non-empty list"),
        ({"inputs": ["bytes", 7]}, "segments[1].sequence[0].inputs[1]", "a type is a name"),
    ],
)
def test_malformed_overrides_name_their_path(step, path, words) -> None:
    with pytest.raises(ManifestError) as info:
        load(_with(step, segment=1))
    assert info.value.path == path and words in str(info.value)


def test_an_override_cannot_contradict_the_declared_types() -> None:
    # std/utf8-encode takes a string and makes bytes: neither may be overridden to something else.
    with pytest.raises(ManifestError) as info:
        load(_with({"inputs": ["int"]}))
    assert info.value.path == "segments[0].sequence[0].inputs[0]"
    with pytest.raises(ManifestError) as info:
        load(_with({"output": "string"}))
    assert info.value.path == "segments[0].sequence[0].output"


def test_unknown_step_keys_are_still_refused() -> None:
    with pytest.raises(ManifestError) as info:
        load(_with({"outputs": "any"}))
    assert "unknown key(s): outputs" in str(info.value)


def test_the_seeds_six_segment_example_with_overrides(tmp_path) -> None:
    """docs/manifest.md's PoCLO manifest, with flow operations narrowed to what flows there."""
    manifest = copy.deepcopy(_POCLO)
    workflow = load(manifest)
    assert [list(s.inputs) for s in workflow.segments] == [[-1], [0], [-1, 1], [2, 0], [-1, 3], [4, 3]]
    assert workflow.segments[5].sequence[0].output == "string"


_POCLO = {
    "data": {
        "name": "PoCLO with overrides",
        "creators": [],
        "description": "",
        "groups": ["CAMERA"],
        "segments": [
            {"inputs": [-1], "sequence": [{"op": "std/exif", "config": {}}]},
            {
                "inputs": [0],
                "sequence": [
                    {
                        "op": "std/get",
                        "config": {"path": "BodySerialNumber"},
                        "inputs": ["map"],
                        "output": "any",
                    }
                ],
            },
            {
                "inputs": [-1, 1],
                "sequence": [{"op": "std/equals", "config": {}, "inputs": ["string", "any"]}],
            },
            {
                "inputs": [2, 0],
                "sequence": [
                    {"op": "std/if", "config": {}, "inputs": ["bool", "map"]},
                    {"op": "std/get", "config": {"path": "LensSerialNumber"}},
                ],
            },
            {"inputs": [-1, 3], "sequence": [{"op": "std/equals", "config": {}}]},
            {"inputs": [4, 3], "sequence": [{"op": "std/if", "config": {}, "output": "string"}]},
        ],
    }
}
