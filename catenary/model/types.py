"""The type language of operation manifests and run-time value checks (SPEC §2).

A type is one of the names below, or a map ``{field: type}`` for a map that
has at least those fields.
"""

from __future__ import annotations

from typing import Any

from catenary.cid import CID
from catenary.limits import shown

TypeSpec = str | dict[str, "TypeSpec"]

NAMES = ("any", "bytes", "string", "int", "float", "bool", "null", "list", "map", "cid")
TYPE_DEPTH = 100  # levels of map types; far beyond any real manifest, far below the stack


def type_problem(spec: Any, depth: int = 0) -> str | None:
    """Why ``spec`` is not a valid type, or None. Quoted through ``shown`` and cut at
    ``TYPE_DEPTH`` levels: a crafted spec may be megabytes long or 100,000 levels deep."""
    if isinstance(spec, str):
        return None if spec in NAMES else f"unknown type {shown(spec)} (known: {', '.join(NAMES)})"
    if isinstance(spec, dict):
        if depth >= TYPE_DEPTH:
            return f"a type nested more than {TYPE_DEPTH} levels deep"
        for field, inner in spec.items():
            problem = type_problem(inner, depth + 1)
            if problem:
                return f"field {shown(field)}: {problem}"
        return None
    return f"a type is a name or a map of field types, not {shown(spec)}"


def describe(value: Any) -> str:
    """The type name of a value, for error messages."""
    if value is None:
        return "null"
    return next((name for kind, name in _NAMED if isinstance(value, kind)), type(value).__name__)


# Python type -> type name, in order: a bool is an int to isinstance, so it comes first.
_NAMED: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "bool"),
    (int, "int"),
    (float, "float"),
    (str, "string"),
    (bytes, "bytes"),
    (CID, "cid"),
    ((list, tuple), "list"),
    (dict, "map"),
)


def mismatch(spec: TypeSpec, value: Any, where: str = "value") -> str | None:
    """Why ``value`` does not have type ``spec``, or None when it does."""
    if spec == "any":
        return None
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            return f"{where}: expected a map, got {describe(value)}"
        for field, inner in spec.items():
            if field not in value:
                return f"{where}: map has no field {field!r}"
            problem = mismatch(inner, value[field], f"{where}.{field}")
            if problem:
                return problem
        return None
    actual = describe(value)
    if actual == spec:
        return None
    return f"{where}: expected {spec}, got {actual}"


def connects(produced: TypeSpec, accepted: TypeSpec) -> bool:
    """Can a value of type ``produced`` feed an input declared ``accepted``?"""
    if produced == "any" or accepted == "any":
        return True
    if isinstance(accepted, dict):
        if produced == "map":
            return True
        if not isinstance(produced, dict):
            return False
        return all(f in produced and connects(produced[f], t) for f, t in accepted.items())
    if isinstance(produced, dict):
        return accepted == "map"
    return produced == accepted
