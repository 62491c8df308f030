"""Operations from installed packages: the ``catenary.operations`` entry-point group.

A package declares, in its ``pyproject.toml``::

    [project.entry-points."catenary.operations"]
    mylib = "mylib.ops"            # a module: its top-level operations
    shout = "mylib.ops:shout"      # or one operation object

Every node loads them when it starts (``Node(plugins=False)`` does not), so a workflow that
names ``mylib/...`` needs no ``--ops``. A plugin that fails to import is reported by name
and package, in one line; it is not skipped silently.

Most environments install no plugin, and ``importlib.metadata`` costs a short command a good
part of its start-up (docs/benchmarks.md): so the ``entry_points.txt`` files where it would
look are read first, and it is imported only when one of them names the group.
"""

from __future__ import annotations

import os
import sys
from importlib.machinery import PathFinder
from types import ModuleType
from typing import TYPE_CHECKING

from catenary.errors import BadInputError
from catenary.operations.decorator import Operation
from catenary.operations.registry import Registry

if TYPE_CHECKING:
    from importlib import metadata

GROUP = "catenary.operations"


def load_plugins(registry: Registry) -> list[str]:
    """Register the operations of every installed ``catenary.operations`` entry point;
    returns the entry points' values (``module`` or ``module:attr``), in name order."""
    if not may_declare_plugins():
        return []
    from importlib import metadata

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


def may_declare_plugins() -> bool:
    """False only when no installed distribution declares the group: the ``*.dist-info`` and
    ``*.egg-info`` directories of ``sys.path``, which ``importlib.metadata`` reads, name it in
    no ``entry_points.txt``. Anything else it might read (a zip or egg on the path, another
    finder of distributions) answers True, and ``importlib.metadata`` decides."""
    if any(f is not PathFinder and hasattr(f, "find_distributions") for f in sys.meta_path):
        return True
    for entry in sys.path:
        root = entry or "."
        if not os.path.isdir(root):
            if os.path.exists(root):
                return True  # a zip file: its metadata is read by importlib.metadata only
            continue
        if root.lower().endswith(".egg"):
            return True
        try:
            names = os.listdir(root)
        except OSError:
            continue
        for name in names:
            if name.lower().endswith((".dist-info", ".egg-info")):
                try:
                    with open(os.path.join(root, name, "entry_points.txt"), encoding="utf-8") as f:
                        if GROUP in f.read():
                            return True
                except OSError:
                    continue  # no entry points (or an old one-file .egg-info)
    return False
