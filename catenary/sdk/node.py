"""A node: one data directory, its store, its operations, and the managers over them."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Iterable

from catenary.engine import DEFAULT_MAX_VALUE_SIZE, Engine
from catenary.operations import Registry, default_registry
from catenary.sdk.execution import ExecutionManager
from catenary.sdk.operation import OperationManager
from catenary.sdk.run import RunManager
from catenary.sdk.value import ValueManager
from catenary.sdk.workflow import WorkflowManager
from catenary.store import SQLiteStore, Store

DEFAULT_DATA_DIR = ".catenary"


def default_data_dir() -> Path:
    """``$CATENARY_HOME`` or ``./.catenary``."""
    return Path(os.environ.get("CATENARY_HOME") or DEFAULT_DATA_DIR)


class Node:
    """Everything the CLI and the API use, over one store.

    >>> node = Node("/tmp/data")                       # doctest: +SKIP
    >>> wf = node.workflows.create(manifest)           # doctest: +SKIP
    >>> run = node.runs.new(wf.id)                     # doctest: +SKIP
    >>> node.runs.next(run.id, [b"photo bytes"])       # doctest: +SKIP
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        *,
        operations: Iterable[str] = (),
        registry: Registry | None = None,
        max_value_size: int = DEFAULT_MAX_VALUE_SIZE,
        store: Store | None = None,
    ) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.id = self._node_id()
        self.registry = registry or default_registry()
        for module in operations:
            self.registry.add_module(module)
        self.store = store or SQLiteStore(self.data_dir / "catenary.db")
        self.engine = Engine(self.store, self.registry, self.id, max_value_size)
        self.values = ValueManager(self.store, max_value_size)
        self.operations = OperationManager(self.store, self.registry)
        self.workflows = WorkflowManager(self.store, self.operations)
        self.runs = RunManager(self.engine, self.store)
        self.executions = ExecutionManager(self.store, self.operations, self.values)
        self.operations.publish()

    def _node_id(self) -> str:
        """A stable id for this data directory, created on first use."""
        path = self.data_dir / "node_id"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            node_id = "node-" + secrets.token_hex(8)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(node_id + "\n")
            os.replace(tmp, path)
            return node_id

    def close(self) -> None:
        self.executions.close()
        self.store.close()

    def __enter__(self) -> "Node":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
