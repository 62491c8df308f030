"""Operations from installed packages: the ``catenary.operations`` entry-point group.

A package declares, in its ``pyproject.toml``::

    [project.entry-points."catenary.operations"]
    mylib = "mylib.ops"            # a module: its top-level operations
    shout = "mylib.ops:shout"      # or one operation object

Every node loads them when it starts (``Node(plugins=False)`` does not), so a workflow that
names ``mylib/...`` needs no ``--ops``. A plugin that fails to import is reported by name
and package, in one line; it is not skipped silently.
"""

from __future__ import annotations

from importlib import metadata
from types import ModuleType

from catenary.errors import BadInputError
from catenary.operations.decorator import Operation
from catenary.operations.registry import Registry

GROUP = "catenary.operations"


def load_plugins(registry: Registry) -> list[str]:
    """Register the operations of every installed ``catenary.operations`` entry point;
    returns the entry points' values (``module`` or ``module:attr``), in name order."""
    loaded = []
    for entry in sorted(metadata.entry_points(group=GROUP), key=lambda e: e.name):
        where = f"entry point {entry.name!r} ({entry.value}) of package {_package(entry)}"
        try:
            target = entry.load()
        except Exception as exc:  # an installed plugin's import error, whatever it is
            raise BadInputError(f"cannot load operations from {where}: {type(exc).__name__}: {exc}") from exc
        if isinstance(target, ModuleType):
            registry.add_module(target)
        elif isinstance(target, Operation):
            registry.add(target)
        else:
            raise BadInputError(f"{where} is neither a module nor an @operation ({type(target).__name__})")
        loaded.append(entry.value)
    return loaded


def _package(entry: metadata.EntryPoint) -> str:
    dist = getattr(entry, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else "(unknown)"
