"""The registry of operation implementations available in this process."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

from catenary.cid import CID
from catenary.errors import BadInputError, NotFoundError
from catenary.operations.decorator import Operation


class Registry:
    """Operations this process can execute, by version id and by name."""

    def __init__(self, operations: list[Operation] | None = None) -> None:
        self._by_version: dict[CID, Operation] = {}
        self._by_name: dict[str, Operation] = {}
        for op in operations or ():
            self.add(op)

    def add(self, op: Operation, *, bind_name: bool = True) -> None:
        """Register ``op``; a later operation with the same name becomes the default for that name,
        unless ``bind_name`` is false (an imported operation: runnable by version id only)."""
        self._by_version[op.version_id] = op
        if bind_name:
            self._by_name[op.name] = op

    def add_module(self, module: ModuleType | str) -> list[Operation]:
        """Register every operation defined at the top level of a module (object or dotted name)."""
        if isinstance(module, str):
            try:
                module = importlib.import_module(module)
            except ImportError as exc:
                raise BadInputError(f"cannot import operations module {module!r}: {exc}") from exc
        found = [v for v in vars(module).values() if isinstance(v, Operation)]
        for op in found:
            self.add(op)
        return found

    def add_missing(self, other: Registry) -> None:
        """Add ``other``'s operations whose names this registry does not have."""
        for op in other:
            if op.name not in self._by_name:
                self.add(op)

    def get(self, version_id: CID) -> Operation | None:
        return self._by_version.get(version_id)

    def require(self, version_id: CID) -> Operation:
        return NotFoundError.require(
            self._by_version.get(version_id),
            "operation version {} has no implementation in this process",
            version_id,
        )

    def by_name(self, name: str) -> Operation | None:
        return self._by_name.get(name)

    def __iter__(self) -> Iterator[Operation]:
        return iter(sorted(self._by_version.values(), key=lambda op: (op.name, str(op.version_id))))

    def __len__(self) -> int:
        return len(self._by_version)


def default_registry() -> Registry:
    """A registry holding the standard library: from its table while that is current (its
    modules load when an operation runs), else imported and hashed (operations/stdindex.py)."""
    from catenary.operations.stdindex import indexed_operations

    indexed = indexed_operations()
    if indexed is not None:
        return Registry(list(indexed))
    from catenary.operations import std

    registry = Registry()
    registry.add_module(std)
    return registry
