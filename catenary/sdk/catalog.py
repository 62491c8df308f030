"""A data dir's operations without the rest of its node: what `catenary op list` opens.

A :class:`~catenary.sdk.Node` loads its identity and policy and builds the engine and every
manager; listing operation versions needs only the registry (the standard library, the
installed plugins, the given modules) and the store. The node builds both with the functions
here too, so the two agree on what is registered and what gets recorded. Start-up cost:
docs/benchmarks.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType

from catenary.errors import BadInputError
from catenary.operations import Operation, Registry, default_registry
from catenary.operations.plugins import load_plugins
from catenary.sdk.operation import OperationManager
from catenary.store import Store, open_store


def build_registry(
    operations: Iterable[str | ModuleType | Operation] = (),
    *,
    registry: Registry | None = None,
    std: bool = True,
    plugins: bool = True,
) -> tuple[Registry, list[str]]:
    """The registry a node executes from, and the plugin entry points loaded into it: the
    standard library (a given ``registry`` keeps it unless ``std=False``), the installed
    packages' operations, then ``operations`` (objects, modules or module names)."""
    if registry is None:
        registry = default_registry()
    elif std:
        registry.add_missing(default_registry())
    loaded = load_plugins(registry) if plugins else []
    for item in operations:
        if isinstance(item, Operation):
            registry.add(item)
        elif isinstance(item, (str, ModuleType)):
            registry.add_module(item)
        else:
            raise BadInputError(
                f"operations= takes operation objects, modules or module names, not {type(item).__name__}"
            )
    return registry, loaded


def open_operations(store: Store, registry: Registry) -> OperationManager:
    """The operations of ``store`` and ``registry``: stored WebAssembly versions made executable,
    this process's versions recorded in the store."""
    manager = OperationManager(store, registry)
    manager.load_wasm()
    manager.publish()
    return manager


@contextlib.contextmanager
def stored_operations(
    data_dir: Path, *, operations: Iterable[str | ModuleType | Operation] = (), db: str | None = None
) -> Iterator[OperationManager]:
    """The operations of an existing data dir (as its node would see them), store closed after."""
    registry, _ = build_registry(operations)
    store = open_store(db, data_dir)
    try:
        yield open_operations(store, registry)
    finally:
        store.close()
