"""Fixtures for the trust tests: nodes with the test operations, and a finished run."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catenary import Node
from catenary.cid import CID, block, decode, encode
from catenary.cid.car import car_bytes, read_car
from tests.helpers import manifest

OPS = ["tests.ops_fixture", "tests.trust.trust_ops"]

# Three segments: [-1] inc -> inc, [0, -1] add, [1] count; two events.
CHAIN = manifest(
    ([-1], ["test/inc", "test/inc"]), ([0, -1], ["test/add"]), ([1], ["test/count"]), name="trust-chain"
)


@pytest.fixture
def node_a(make_node: Callable[..., Node], tmp_path: Path) -> Node:
    return make_node(data_dir=tmp_path / "a", operations=OPS)


@pytest.fixture
def node_b(make_node: Callable[..., Node], tmp_path: Path) -> Node:
    """A second, fresh node (another data dir, another key)."""
    return make_node(data_dir=tmp_path / "b", operations=OPS)


@pytest.fixture
def finished(node_a: Node) -> tuple[Node, Any, Any]:
    """node_a after one run of CHAIN: (node, run state, last step result)."""
    wf = node_a.workflows.create(CHAIN)
    state, result = node_a.runs.run(wf.id, {0: [1], 1: [5]})
    assert result.result == 2 * (3 + 5)
    return node_a, state, result


@pytest.fixture
def bundle(finished: tuple[Node, Any, Any]) -> bytes:
    node, _, result = finished
    buffer = io.BytesIO()
    node.trust.export(result.final, buffer)
    return buffer.getvalue()


class Car:
    """A parsed CAR file the tests tamper with, re-linking every block that pointed to a
    changed one (as a forger who recomputes CIDs would), then writing it back."""

    def __init__(self, data: bytes) -> None:
        parsed = read_car(data)
        self.roots = list(parsed.roots)
        self.blocks: dict[CID, bytes] = {b.cid: b.data for b in parsed.blocks}

    @property
    def index(self) -> dict[str, Any]:
        return decode(self.blocks[self.roots[1]])

    def value(self, cid: CID) -> Any:
        return decode(self.blocks[cid])

    def replace(self, old: CID, new_value: Any) -> CID:
        """Put ``new_value`` where ``old`` was; re-link and re-hash every block above it."""
        new, data = block(new_value)
        del self.blocks[old]
        self.blocks[new] = data
        self.roots = [new if r == old else r for r in self.roots]
        for cid in list(self.blocks):
            if cid not in self.blocks:
                continue
            try:
                value = decode(self.blocks[cid])
            except Exception:  # noqa: BLE001 - not every block decodes once tampered
                continue
            swapped = _swap(value, old, new)
            if swapped is not value and encode(swapped) != self.blocks[cid]:
                self.replace(cid, swapped)
        return new

    def substitute(self, old: CID, new: CID, data: bytes) -> None:
        """Put block ``new`` (any codec) where ``old`` was and re-link every DAG-CBOR block
        above it, pass after pass until none links a replaced block: unlike :meth:`replace`,
        this also handles blocks reached along several paths (a workflow, a version)."""
        del self.blocks[old]
        self.blocks[new] = data
        moved = {old: new}
        changed = True
        while changed:
            changed = False
            for cid in list(self.blocks):
                if cid.codec != 0x71:
                    continue
                value = decode(self.blocks[cid])
                swapped = value
                for a, b in moved.items():  # in insertion order, so chains a -> b -> c resolve
                    swapped = _swap(swapped, a, b)
                if swapped is not value:
                    relinked, raw = block(swapped)
                    del self.blocks[cid]
                    self.blocks[relinked] = raw
                    moved[cid] = relinked
                    changed = True
        for a, b in moved.items():
            self.roots = [b if r == a else r for r in self.roots]

    def meta_of(self, execution: CID) -> CID:
        for link in self.index["executions"]:
            if self.value(link)["execution"] == execution:
                return link
        raise KeyError(execution)

    def bytes(self) -> bytes:
        return car_bytes(self.roots, list(self.blocks.items()))


def _swap(value: Any, old: CID, new: CID) -> Any:
    if isinstance(value, CID):
        return new if value == old else value
    if isinstance(value, list):
        items = [_swap(v, old, new) for v in value]
        return items if any(a is not b for a, b in zip(items, value)) else value
    if isinstance(value, dict):
        items = {k: _swap(v, old, new) for k, v in value.items()}
        return items if any(items[k] is not value[k] for k in value) else value
    return value
