"""The operation decorator and the registry."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

from catenary.cid import cid_of
from catenary.errors import BadInputError, ManifestError, NotFoundError
from catenary.operations import Operation, Registry, default_registry, operation
from tests import ops_fixture
from tests.helpers import independent_cid

MODULE_TEMPLATE = '''
from catenary.operations import operation


@operation("demo/f", inputs=["int"], output="int", description="same manifest")
def f(x):
    return {body}
'''


def load_module(directory: Path, body: str) -> object:
    """Import a module named ``demo_ops`` from ``directory`` whose ``f`` returns ``body``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "demo_ops.py"
    path.write_text(MODULE_TEMPLATE.format(body=body))
    spec = importlib.util.spec_from_file_location("demo_ops", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["demo_ops"] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["demo_ops"]
    return module


def test_version_id_changes_when_only_the_source_changes(tmp_path: Path) -> None:
    a = load_module(tmp_path / "a", "x + 1").f
    b = load_module(tmp_path / "b", "x + 2").f
    # same manifest, same entry point: only the source differs
    assert a.manifest == b.manifest
    assert a.manifest.id == b.manifest.id
    assert a.version.implementation["entry"] == b.version.implementation["entry"] == "demo_ops:f"
    assert a.version.implementation["source"] != b.version.implementation["source"]
    assert a.version_id != b.version_id
    assert (a(1), b(1)) == (2, 3)


def test_same_source_gives_the_same_version_id(tmp_path: Path) -> None:
    a = load_module(tmp_path / "a", "x * 3").f
    b = load_module(tmp_path / "b", "x * 3").f
    assert a.version_id == b.version_id


def test_two_functions_with_the_same_manifest_and_different_bodies() -> None:
    @operation("demo/g", inputs=["int"], output="int", description="d")
    def one(x: int) -> int:
        return x + 1

    @operation("demo/g", inputs=["int"], output="int", description="d")
    def two(x: int) -> int:
        return x - 1

    assert one.manifest.id == two.manifest.id
    assert one.version_id != two.version_id
    assert one.version.operation == two.version.operation == one.manifest.id


def test_version_data_follows_the_spec() -> None:
    op = ops_fixture.inc
    impl = op.version.implementation
    assert set(impl) == {"kind", "entry", "source"}
    assert impl["kind"] == "python"
    assert impl["entry"] == "tests.ops_fixture:inc"
    assert impl["source"] == cid_of(op.source)
    assert op.source.startswith('@operation("test/inc"')
    assert "return x + 1" in op.source
    assert op.version.data() == {"operation": op.manifest.id, "implementation": impl}
    assert str(op.version_id) == independent_cid({"operation": op.manifest.id, "implementation": impl})


def test_manifest_from_decorator_arguments() -> None:
    op = ops_fixture.mode
    assert op.name == "test/mode"
    assert op.manifest.inputs == ("int",)
    assert op.manifest.output == "int"
    assert op.manifest.config == {"mode": ("double", "negate")}
    assert op.manifest.groups == ("test",)
    assert op.manifest.description == "Config reaches the function as a keyword argument."


def test_explicit_description_wins_over_docstring() -> None:
    @operation("demo/h", inputs=[], output="null", description="explicit")
    def h() -> None:
        """docstring"""

    assert h.manifest.description == "explicit"


def test_config_reaches_the_function_as_keywords() -> None:
    assert ops_fixture.mode(4, mode="double") == 8
    assert ops_fixture.mode(4, mode="negate") == -4


def test_decorator_refuses_unknown_types() -> None:
    with pytest.raises(ManifestError) as info:
        @operation("demo/bad", inputs=["integer"], output="int")
        def bad(x):  # pragma: no cover - never defined
            return x
    assert info.value.path == "inputs[0]"


def test_registry_by_version_and_name() -> None:
    reg = Registry()
    found = reg.add_module(ops_fixture)
    assert {op.name for op in found} >= {"test/inc", "test/boom", "test/count", "test/wrong-type"}
    assert all(isinstance(op, Operation) for op in found)
    assert reg.get(ops_fixture.inc.version_id) is ops_fixture.inc
    assert reg.by_name("test/inc") is ops_fixture.inc
    assert reg.require(ops_fixture.inc.version_id) is ops_fixture.inc
    assert reg.get(cid_of("nope")) is None
    with pytest.raises(NotFoundError):
        reg.require(cid_of("nope"))
    assert len(reg) == len(found)
    names = [op.name for op in reg]
    assert names == sorted(names)


def test_registry_add_module_by_name() -> None:
    reg = Registry()
    reg.add_module("tests.ops_fixture")
    assert reg.by_name("test/add") is ops_fixture.add
    with pytest.raises(BadInputError, match="cannot import"):
        reg.add_module("tests.no_such_module_here")


def test_later_version_becomes_the_default_for_its_name(tmp_path: Path) -> None:
    a = load_module(tmp_path / "a", "x + 10").f
    b = load_module(tmp_path / "b", "x + 20").f
    reg = Registry([a, b])
    assert reg.by_name("demo/f") is b
    assert reg.get(a.version_id) is a and reg.get(b.version_id) is b
    assert len(reg) == 2


def test_default_registry_is_fresh_each_time() -> None:
    one, two = default_registry(), default_registry()
    one.add(ops_fixture.inc)
    assert two.by_name("test/inc") is None


def test_source_is_dedented() -> None:
    @operation("demo/nested", inputs=["int"], output="int")
    def nested(x: int) -> int:
        return x

    assert nested.source == textwrap.dedent(nested.source)
    assert nested.source.startswith("@operation(")
