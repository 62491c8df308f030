"""Fixtures for remote executors: a node with the remote test operations, and a tiny in-process
executor (the sdk's claim / report calls in a thread) for tests that are not about processes."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from catenary.model import Status
from catenary.model.filter import ExecutionFilter
from catenary.sdk import Node
from tests.helpers import manifest

REMOTE_OPS = "tests.executors.remote_ops"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def remote_node(make_node: Callable[..., Node]) -> Node:
    """A node that knows the remote test operations (and tests.ops_fixture); short remote wait."""
    return make_node(operations=[REMOTE_OPS, "tests.ops_fixture"], remote_wait=20)


def workflow(node: Node, *segments: Any, name: str = "remote") -> Any:
    return node.workflows.create(json.dumps(manifest(*segments, name=name)))


class ThreadExecutor:
    """Claims created executions of the node's remote operations and performs them with the
    module's own functions, through the sdk (as the API servicer would)."""

    def __init__(self, node: Node, name: str = "thread-executor", lease: float | None = None) -> None:
        self.node, self.name, self.lease = node, name, lease
        self.stop = threading.Event()
        self.seen: list[Any] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ThreadExecutor:
        if not self._thread.is_alive() and not self.stop.is_set():
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        flt = ExecutionFilter(statuses=(Status.CREATED,))
        for execution in self.node.executions.updates(flt, 0, stop=self.stop):
            self.seen.append(execution)
            try:
                self.node.executions.update(execution.hash, Status.IN_PROGRESS, self.name, lease=self.lease)
            except Exception:
                continue
            op = self.node.registry.get(execution.operation)
            values = [self.node.values.get(cid) for cid in execution.inputs]
            try:
                output = op.func(*values, **execution.config)
            except Exception as exc:
                self.node.executions.update(
                    execution.hash, Status.FAILED, self.name, error=f"{type(exc).__name__}: {exc}"
                )
                continue
            self.node.executions.update(execution.hash, Status.COMPLETED, self.name, output=output)


@pytest.fixture
def thread_executor(remote_node: Node) -> Iterator[Callable[..., ThreadExecutor]]:
    started: list[ThreadExecutor] = []

    def start(name: str = "thread-executor", lease: float | None = None) -> ThreadExecutor:
        executor = ThreadExecutor(remote_node, name, lease).__enter__()
        started.append(executor)
        return executor

    yield start
    for executor in started:
        executor.__exit__()
