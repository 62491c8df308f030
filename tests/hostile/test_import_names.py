"""Importing a bundle never changes what an ``{"op": NAME}`` shorthand means on this node
(issue 14: a bundle's WASM operation silently took the name of a local one)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catenary import Node
from catenary.errors import ShadowingError
from tests.operations.test_wasm import ECHO_MANIFEST, wat
from tests.trust.test_wasm_bundle import MIXED, add_examples


@pytest.fixture
def exported(make_node: Callable[..., Node], tmp_path: Path) -> bytes:
    a = make_node(data_dir=tmp_path / "a", operations=[])
    add_examples(a)
    wf = a.workflows.create(MIXED)
    _, result = a.runs.run(wf.id, {0: ["hello"], 1: [{"a": 1, "b": [2]}]})
    buffer = io.BytesIO()
    a.trust.export(result.final, buffer)
    return buffer.getvalue()


@pytest.fixture
def local(make_node: Callable[..., Node], tmp_path: Path) -> tuple[Node, Any]:
    """A node whose own ``example/reverse`` is another module (an echo)."""
    b = make_node(data_dir=tmp_path / "b", operations=[])
    mine = b.operations.add_wasm(wat(manifest={**ECHO_MANIFEST, "name": "example/reverse"}).encode())
    return b, mine


def test_import_refuses_to_shadow_a_local_name_and_stores_nothing(
    exported: bytes, local: tuple[Node, Any]
) -> None:
    b, mine = local
    before = len(b.operations.list())
    with pytest.raises(ShadowingError) as refused:
        b.trust.import_bundle(exported)
    assert "example/reverse" in str(refused.value) and str(mine.version.id) in str(refused.value)
    assert b.operations.resolve_name("example/reverse") == mine.version.id
    assert len(b.operations.list()) == before


def test_import_asked_to_shadow_keeps_the_local_name(exported: bytes, local: tuple[Node, Any]) -> None:
    b, mine = local
    b.trust.import_bundle(exported, allow_shadow=True)
    assert b.operations.resolve_name("example/reverse") == mine.version.id
    # the bundle's names that nothing here held are not bound either: names are local decisions
    assert b.operations.resolve_name("example/adler32") is None
