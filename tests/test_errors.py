"""The error hierarchy: every class exported, the tree drawn in errors.py's docstring the real one."""

from __future__ import annotations

import re

import catenary
from catenary import errors


def _error_classes() -> dict[str, type[errors.CatenaryError]]:
    """Every CatenaryError subclass defined anywhere in catenary (imported by the package)."""
    import catenary.operations.wasm  # noqa: F401 - modules that might define their own errors
    import catenary.remote  # noqa: F401

    found: dict[str, type[errors.CatenaryError]] = {}
    pending: list[type[errors.CatenaryError]] = [errors.CatenaryError]
    while pending:
        cls = pending.pop()
        if cls.__module__.startswith("catenary") and not cls.__name__.startswith("_"):
            found[cls.__name__] = cls
        pending.extend(cls.__subclasses__())
    return found


def test_every_error_is_defined_in_errors_py() -> None:
    misplaced = {
        name: cls.__module__ for name, cls in _error_classes().items() if cls.__module__ != "catenary.errors"
    }
    assert misplaced == {}, "define every error class in catenary/errors.py"


def test_every_error_is_exported_from_errors_and_the_package() -> None:
    names = set(_error_classes())
    assert set(errors.__all__) == names
    assert names <= set(catenary.__all__)
    for name in names:
        assert getattr(catenary, name) is getattr(errors, name)


def test_docstring_tree_is_the_class_hierarchy() -> None:
    """Each line of the drawing is `<indent><├── or └── ><Name>`; its depth gives its parent."""
    assert errors.__doc__ is not None
    parents: dict[str, str | None] = {}
    stack: list[str] = []
    for line in errors.__doc__.splitlines():
        match = re.match(r"^ {4}((?:[│ ] {3})*)(?:[├└]── )?([A-Z]\w+)(?:\s|$)", line)
        if not match:
            continue
        depth = len(match.group(1)) // 4 + (1 if "──" in line[: len(match.group(0))] else 0)
        del stack[depth:]
        parents[match.group(2)] = stack[-1] if stack else None
        stack.append(match.group(2))
    real = {
        name: (None if cls is errors.CatenaryError else cls.__bases__[0].__name__)
        for name, cls in _error_classes().items()
    }
    assert parents == real


def test_errors_leave_the_cause_chained() -> None:
    from catenary.cid import CID
    from catenary.errors import InvalidCIDError

    try:
        CID.parse("bafy!!!")
    except InvalidCIDError as exc:
        assert exc.__cause__ is not None
    else:
        raise AssertionError("a malformed CID was accepted")
