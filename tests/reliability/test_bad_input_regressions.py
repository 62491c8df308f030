"""Regression tests for the crashes found while building the corpus and fuzzing, for the
inputs a corpus file cannot carry (Python objects handed to the sdk, CLI options, stored
values). Each test names what used to escape; docs/reliability.md lists the fixes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from catenary.cid import dagjson, encode
from catenary.errors import BadInputError, EncodingError, InputError, ManifestError
from catenary.model.filter import ExecutionFilter
from catenary.sdk import Node
from tests.helpers import snapshot


def base(**changes: Any) -> dict[str, Any]:
    data = {
        "name": "r",
        "creators": [],
        "description": "",
        "groups": [],
        "segments": [{"inputs": [-1], "sequence": [{"op": "std/utf8-encode", "config": {}}]}],
    }
    return {"data": {**data, **changes}}


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    with Node(tmp_path / "data") as n:
        yield n


class Text(str):
    """A str subclass: not a DAG-CBOR string."""


class Index(int):
    """An int subclass."""


@pytest.mark.parametrize(
    "manifest, path, message",
    [
        # was TypeError: sorted() of int and str keys
        ({1: 2, "data": base()["data"]}, "", "unknown top-level key(s): 1"),
        ({"data": {**base()["data"], 7: "x"}}, "", "unknown key(s): 7"),
        ({"data": {**base()["data"], ("a", "b"): "x"}}, "", "unknown key(s): ('a', 'b')"),
        # was refused only when stored (EncodingError with no JSON path)
        (base(name=Text("x")), "name", "Text is not a DAG-CBOR type"),
        (
            base(segments=[{"inputs": [Index(-1)], "sequence": [{"op": "std/utf8-encode", "config": {}}]}]),
            "segments[0].inputs[0]",
            "Index is not a DAG-CBOR type",
        ),
        (base(name="\udc80"), "name", "string has a lone surrogate"),
        # was ValueError: str() of an int over 4300 digits
        (
            base(segments=[{"inputs": [10**5000], "sequence": [{"op": "std/utf8-encode", "config": {}}]}]),
            "segments[0].inputs[0]",
            "<integer of 16610 bits>",
        ),
        # was a 3 MB message quoting the whole value
        (base(name=[1] * 1_000_000), "name", "expected a string, got [1, 1, 1, 1, ...]"),
    ],
    ids=[
        "int-top-key",
        "int-data-key",
        "tuple-data-key",
        "str-subclass",
        "int-subclass",
        "surrogate",
        "int-5000-digits",
        "million-item-name",
    ],
)
def test_sdk_manifests_with_python_objects_get_a_manifest_error(
    node: Node, manifest: dict[Any, Any], path: str, message: str
) -> None:
    db = node.data_dir / "catenary.db"
    before = snapshot(db)
    with pytest.raises(ManifestError) as info:
        node.workflows.create(manifest)
    assert info.value.path == path
    assert message in str(info.value) and len(str(info.value)) < 300
    assert snapshot(db) == before


@pytest.mark.parametrize("depth", range(300, 1201, 50))
@pytest.mark.parametrize("opening, closing", [("[", "]"), ('{"a":', "}")])
def test_deep_json_is_refused_at_every_depth_never_a_recursion_error(
    node: Node, depth: int, opening: str, closing: str
) -> None:
    # RecursionError escaped between ~500 and ~990 levels (after json.loads, before its limit).
    deep = opening * depth + ("1" if opening != "[" else "") + closing * depth
    text = f'{{"data": {{"name": {deep}, "creators": [], "description": "", "groups": [], "segments": []}}}}'
    with pytest.raises(ManifestError):
        node.workflows.parse(text)
    try:
        dagjson.parse(deep, "--input")
    except EncodingError as exc:
        assert "nested too deeply" in str(exc)


def test_printing_a_stored_value_too_deep_for_json_is_a_clear_error(node: Node) -> None:
    value: Any = []
    for _ in range(5000):
        value = [value]
    cid = node.values.put(value)  # valid DAG-CBOR: stored
    with pytest.raises(EncodingError, match="nested too deeply to convert"):
        dagjson.to_json(node.values.get(cid))
    with pytest.raises(EncodingError, match="nested too deeply"):
        dagjson.dumps(node.values.get(cid))


@pytest.mark.parametrize(
    "value, message",
    [
        (10**5000, "integer of 16610 bits is outside the 64-bit range"),  # was ValueError
        ({10**5000: 1}, "map key (huge) (int) is not a string"),
        ({"k": ["ok", "\ud800"]}, "$.k[1]: string has a lone surrogate"),  # had no path
        ({"\udfff": 1}, "$ key: string has a lone surrogate"),
    ],
    ids=["int-5000-digits", "map-key-5000-digits", "surrogate-value", "surrogate-key"],
)
def test_encoding_errors_name_the_path_and_never_overflow(value: Any, message: str) -> None:
    with pytest.raises(EncodingError) as info:
        encode(value)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "flt",
    [
        {"segment": 2**70},
        {"segment": 2**63},
        {"created_after": 2**64},
        {"created_before": -(2**63) - 1},
        {"segment": "0"},
        {"segment": True},
    ],
)
def test_filter_fields_outside_64_bits_are_bad_input(node: Node, flt: dict[str, Any]) -> None:
    # was OverflowError from SQLite ("Python int too large to convert to SQLite INTEGER")
    with pytest.raises(BadInputError, match=f"filter {next(iter(flt))}"):
        node.executions.list(ExecutionFilter(**flt), 10)


def test_run_with_segment_keys_that_are_not_ints_is_input_error(node: Node) -> None:
    wf = node.workflows.create(base()).id
    before = snapshot(node.data_dir / "catenary.db")
    for inputs in ({"0": ["x"]}, {0.0: ["x"]}, {None: ["x"]}):  # "0" was TypeError
        with pytest.raises(InputError, match="input for segment"):
            node.runs.run(wf, inputs)
    assert snapshot(node.data_dir / "catenary.db") == before


def test_cli_huge_filter_numbers_and_deep_values_are_one_line_errors(node: Node) -> None:
    value: Any = []
    for _ in range(5000):
        value = [value]
    deep = node.values.put(value)
    db = node.data_dir / "catenary.db"
    before = snapshot(db)
    env = {k: v for k, v in os.environ.items() if k not in ("CATENARY_HOME", "CATENARY_NODE")}
    commands = [
        ["exec", "list", "--segment", "99999999999999999999"],
        ["exec", "list", "--created-after", "1" + "0" * 30],
        ["value", "get", str(deep)],
    ]
    with ThreadPoolExecutor(max_workers=3) as pool:
        procs = list(
            pool.map(
                lambda args: subprocess.run(
                    [sys.executable, "-m", "catenary", "--data-dir", str(node.data_dir), *args, "--json"],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=120,
                ),
                commands,
            )
        )
    for args, proc, expected in zip(
        commands, procs, ["filter segment", "filter created_after", "nested too deeply"]
    ):
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and expected in lines[0], (args, proc.stderr)
        assert proc.stdout == ""
    assert snapshot(db) == before
