"""The standard library's table (operations/stdindex.py): current, and equal to hashing."""

from __future__ import annotations

import shutil
from pathlib import Path

from catenary.operations import Registry, default_registry, std
from catenary.operations.stdindex import HERE, TABLE, IndexedOperation, indexed_operations, render


def hashed() -> Registry:
    registry = Registry()
    registry.add_module(std)
    return registry


def test_the_table_is_current() -> None:
    assert TABLE.read_text(encoding="utf-8") == render(), (
        "the standard library changed: run `python -m catenary.operations.stdindex` and commit "
        "catenary/operations/_std_table.py"
    )


def test_the_table_gives_the_hashed_manifests_versions_and_sources() -> None:
    indexed = indexed_operations()
    assert indexed is not None
    real = {op.version_id: op for op in hashed()}
    assert {op.version_id for op in indexed} == set(real)
    for op in indexed:
        assert op.manifest == real[op.version_id].manifest
        assert op.version == real[op.version_id].version
        assert op.source == real[op.version_id].source
        assert op.func is real[op.version_id].func


def test_the_default_registry_is_the_table_and_runs_its_operations() -> None:
    registry = default_registry()
    assert all(isinstance(op, IndexedOperation) for op in registry)
    assert [op.version_id for op in registry] == [op.version_id for op in hashed()]
    hex_ = registry.by_name("std/hex")
    assert hex_ is not None and hex_(b"\x01\xff") == "01ff"


def test_a_changed_source_file_makes_the_registry_hash_again(tmp_path: Path) -> None:
    from catenary.operations._std_table import FILES

    assert {"std.py", "signature.py", "decorator.py"} <= set(FILES)
    for name in FILES:
        shutil.copy(HERE / name, tmp_path / name)
    assert indexed_operations(tmp_path) is not None
    with (tmp_path / "signature.py").open("a") as f:
        f.write("\n# an edit\n")
    assert indexed_operations(tmp_path) is None
    (tmp_path / "signature.py").unlink()
    assert indexed_operations(tmp_path) is None
