"""The type language of operation manifests (SPEC §2)."""

from __future__ import annotations

import pytest

from catenary.cid import cid_of
from catenary.errors import ManifestError
from catenary.model import OperationManifest, OperationVersion
from catenary.model.types import connects, mismatch, type_problem
from tests.helpers import independent_cid


@pytest.mark.parametrize(
    "spec, value",
    [
        ("any", object()),
        ("bytes", b""),
        ("string", ""),
        ("int", -3),
        ("float", 1.5),
        ("bool", False),
        ("null", None),
        ("list", [1]),
        ("map", {}),
        ("cid", cid_of(1)),
        ({"a": "int"}, {"a": 1, "b": 2}),
        ({"a": {"b": "string"}}, {"a": {"b": "x"}}),
    ],
)
def test_values_of_their_type(spec, value) -> None:
    assert mismatch(spec, value) is None


@pytest.mark.parametrize(
    "spec, value, fragment",
    [
        ("int", True, "expected int, got bool"),
        ("int", 1.0, "got float"),
        ("bool", 0, "got int"),
        ("bytes", "x", "got string"),
        ("string", b"x", "got bytes"),
        ("map", [], "got list"),
        ("null", 0, "got int"),
        ({"a": "int"}, {"b": 1}, "no field 'a'"),
        ({"a": "int"}, 5, "expected a map"),
        ({"a": {"b": "string"}}, {"a": {"b": 1}}, "value.a.b: expected string, got int"),
    ],
)
def test_values_of_another_type(spec, value, fragment: str) -> None:
    problem = mismatch(spec, value)
    assert problem is not None and fragment in problem


@pytest.mark.parametrize(
    "produced, accepted, ok",
    [
        ("any", "int", True),
        ("int", "any", True),
        ("int", "int", True),
        ("int", "float", False),
        ({"n": "int"}, "map", True),
        ({"n": "int"}, "int", False),
        ("map", {"n": "int"}, True),
        ({"n": "int", "m": "bytes"}, {"n": "int"}, True),
        ({"n": "string"}, {"n": "int"}, False),
        ({"m": "int"}, {"n": "int"}, False),
        ("string", {"n": "int"}, False),
    ],
)
def test_connects(produced, accepted, ok: bool) -> None:
    assert connects(produced, accepted) is ok


def test_type_problem() -> None:
    assert type_problem("int") is None
    assert type_problem({"a": "list"}) is None
    assert "unknown type 'integer'" in type_problem("integer")
    assert type_problem(3) is not None
    assert "field 'a'" in type_problem({"a": "nope"})


def test_operation_manifest_refuses_unknown_types_with_path() -> None:
    with pytest.raises(ManifestError) as info:
        OperationManifest("x", inputs=("int", "wat"), output="int")
    assert info.value.path == "inputs[1]"
    with pytest.raises(ManifestError) as info:
        OperationManifest("x", inputs=("int",), output="wat")
    assert info.value.path == "output"
    with pytest.raises(ManifestError) as info:
        OperationManifest("", inputs=(), output="int")
    assert info.value.path == "name"


def test_operation_ids_are_the_cids_of_their_spec_maps() -> None:
    m = OperationManifest(
        "x/y",
        inputs=("int", {"a": "bytes"}),
        output="map",
        description="d",
        config={"k": ("v1", "v2"), "free": ()},
        groups=("g",),
    )
    expected = {
        "name": "x/y",
        "description": "d",
        "inputs": ["int", {"a": "bytes"}],
        "output": "map",
        "config": {"k": ["v1", "v2"], "free": []},
        "groups": ["g"],
    }
    assert m.data() == expected
    assert str(m.id) == independent_cid(expected)
    assert OperationManifest.from_data(expected) == m
    v = OperationVersion(m.id, {"kind": "remote"})
    assert str(v.id) == independent_cid({"operation": m.id, "implementation": {"kind": "remote"}})
    assert v.kind == "remote"


def test_operation_manifest_from_data_is_strict() -> None:
    good = {"name": "x", "description": "", "inputs": [], "output": "int", "config": {}, "groups": []}
    with pytest.raises(ManifestError, match="unknown key"):
        OperationManifest.from_data({**good, "extra": 1})
    bad = dict(good)
    del bad["groups"]
    with pytest.raises(ManifestError, match="missing key"):
        OperationManifest.from_data(bad)
