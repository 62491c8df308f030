"""Generic fixtures: a real Node in a temporary data directory with the test operations."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from catenary import Node
from tests import ops_fixture

TEST_OPS = "tests.ops_fixture"


@pytest.fixture
def ops() -> Iterator[object]:
    """The test operations module, with its call counters reset."""
    ops_fixture.reset()
    yield ops_fixture
    ops_fixture.reset()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "catenary-data"


@pytest.fixture
def make_node(data_dir: Path, ops: object) -> Iterator[Callable[..., Node]]:
    """Open Nodes on the shared data dir (closed at teardown); kwargs go to Node."""
    opened: list[Node] = []

    def make(**kwargs: object) -> Node:
        kwargs.setdefault("operations", [TEST_OPS])
        node = Node(kwargs.pop("data_dir", data_dir), **kwargs)
        opened.append(node)
        return node

    yield make
    for node in opened:
        try:
            node.close()
        except Exception:
            pass


@pytest.fixture
def node(make_node: Callable[..., Node]) -> Node:
    """A real Node (SQLite store) in tmp_path, with the std library and tests.ops_fixture."""
    return make_node()


@pytest.fixture
def db_path(node: Node) -> Path:
    return node.data_dir / "catenary.db"
