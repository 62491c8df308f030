from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.network.nodes import Served


@pytest.fixture
def make_node(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start named nodes; every one is stopped at the end, whatever the test did."""
    made: list[Served] = []

    def make(name: str, *extra: str, start: bool = True) -> Served:
        node = Served(tmp_path / name, extra=extra)
        made.append(node)
        return node.start() if start else node

    yield make
    for node in made:
        node.kill()
