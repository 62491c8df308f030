"""Operation manifests and operation versions (SPEC §2)."""

from __future__ import annotations

import functools
import reprlib
from dataclasses import dataclass, field
from typing import Any

from catenary.cid import CID, cid_of
from catenary.errors import ManifestError
from catenary.model.types import TypeSpec, type_problem

IMPLEMENTATION_KINDS = ("python", "wasm", "remote")


@dataclass(frozen=True)
class OperationManifest:
    """What an operation is: its name, types and allowed config. Hashed into the operation id."""

    name: str
    inputs: tuple[TypeSpec, ...]
    output: TypeSpec
    description: str = ""
    config: dict[str, tuple[str, ...]] = field(default_factory=dict)
    groups: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ManifestError("name", "an operation needs a non-empty name")
        for i, spec in enumerate(self.inputs):
            problem = type_problem(spec)
            if problem:
                raise ManifestError(f"inputs[{i}]", problem)
        problem = type_problem(self.output)
        if problem:
            raise ManifestError("output", problem)
        for key, allowed in self.config.items():
            if not isinstance(key, str) or not all(isinstance(v, str) for v in allowed):
                raise ManifestError(f"config.{key}", "config keys and allowed values are strings")

    def data(self) -> dict[str, Any]:
        """The hashed map."""
        return {
            "name": self.name,
            "description": self.description,
            "inputs": list(self.inputs),
            "output": self.output,
            "config": {k: list(v) for k, v in self.config.items()},
            "groups": list(self.groups),
        }

    @functools.cached_property
    def id(self) -> CID:
        """Computed once: the record is frozen."""
        return cid_of(self.data())

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> OperationManifest:
        expected = {"name", "description", "inputs", "output", "config", "groups"}
        _exact_keys(data, expected, "")
        # A crafted block can hold anything: refuse a container of the wrong kind here, where a
        # tuple() or .items() of it would fail without saying where (issue 14).
        for key, kind in (("inputs", list), ("config", dict), ("groups", list)):
            if not isinstance(data[key], kind):
                raise ManifestError(
                    key, f"expected a {'list' if kind is list else 'map'}, got {_brief(data[key])}"
                )
        for key, allowed in data["config"].items():
            if not isinstance(allowed, list):
                raise ManifestError(
                    f"config.{_key(key)}", f"expected a list of strings, got {_brief(allowed)}"
                )
        return cls(
            name=data["name"],
            description=data["description"],
            inputs=tuple(data["inputs"]),
            output=data["output"],
            config={k: tuple(v) for k, v in data["config"].items()},
            groups=tuple(data["groups"]),
        )

    def check_config(self, config: dict[str, str], path: str) -> None:
        """Refuse config keys or values the manifest does not allow."""
        for key, value in config.items():
            if key not in self.config:
                known = ", ".join(sorted(self.config)) or "none"
                raise ManifestError(
                    f"{path}.{_key(key)}", f"unknown config key for {self.name} (allowed: {known})"
                )
            if not isinstance(value, str):
                raise ManifestError(f"{path}.{_key(key)}", f"config values are strings, got {_brief(value)}")
            allowed = self.config[key]
            if allowed and value not in allowed:
                raise ManifestError(
                    f"{path}.{_key(key)}",
                    f"{_brief(value)} is not allowed for {self.name} (allowed: {', '.join(allowed)})",
                )


@dataclass(frozen=True)
class OperationVersion:
    """One implementation of an operation. Its CID is the ``version_id``."""

    operation: CID
    implementation: dict[str, Any]

    def data(self) -> dict[str, Any]:
        return {"operation": self.operation, "implementation": self.implementation}

    @functools.cached_property
    def id(self) -> CID:
        """Computed once: the record is frozen."""
        return cid_of(self.data())

    @property
    def kind(self) -> str:
        kind: str = self.implementation["kind"]  # checked when the manifest is read
        return kind


def _exact_keys(data: Any, expected: set[str], path: str) -> None:
    if not isinstance(data, dict):
        raise ManifestError(path, "expected a map")
    missing = expected - data.keys()
    if missing:
        raise ManifestError(path, f"missing key(s): {', '.join(sorted(missing))}")
    unknown = data.keys() - expected
    if unknown:
        raise ManifestError(path, f"unknown key(s): {', '.join(sorted(map(_key, unknown)))}")


# Error messages quote what was wrong, but never a whole 5 MB or 100,000-level value.
class _ShortRepr(reprlib.Repr):
    def repr_int(self, x: int, level: int) -> str:
        # repr() of an int over 4300 digits raises ValueError: describe it by size instead.
        if x.bit_length() > 128:
            return f"<integer of {x.bit_length()} bits>"
        return super().repr_int(x, level)


_SHORT = _ShortRepr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict = 3, 4, 4
_SHORT.maxstring, _SHORT.maxlong, _SHORT.maxother = 60, 40, 60


def _brief(value: Any) -> str:
    """A bounded repr of ``value`` for error messages."""
    return _SHORT.repr(value)


def _key(key: Any) -> str:
    """A map key as it appears in a JSON path or a message: plain when short and printable."""
    if isinstance(key, str) and key.isprintable() and len(key) <= 60:
        return key
    return _brief(key)
