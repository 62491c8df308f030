"""Workflow manifests: parsing, id, and the validation rules of SPEC §3."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from catenary.cid import CID, cid_of
from catenary.errors import CatenaryError, ManifestError
from catenary.model.operation import OperationManifest, _brief, _exact_keys, _key
from catenary.model.types import TypeSpec, connects, type_problem

EXTERNAL = -1

# version_id -> manifest of its operation, or None when not registered.
Lookup = Callable[[CID], "OperationManifest | None"]
# operation name -> version_id (authoring convenience: {"op": "std/hash"}).
NameResolver = Callable[[str], "CID | None"]


@dataclass(frozen=True)
class Step:
    """One operation of a segment's sequence, with its config.

    ``inputs`` / ``output``: the seed's optional type overrides (typically for flow
    operations that declare ``any``): they narrow the operation's declared types for this
    step. Hashed only when present, so a step without them has the same id as before."""

    version_id: CID
    config: dict[str, str]
    inputs: tuple[TypeSpec, ...] | None = None
    output: TypeSpec | None = None

    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"version_id": self.version_id, "config": dict(self.config)}
        if self.inputs is not None:
            data["inputs"] = list(self.inputs)
        if self.output is not None:
            data["output"] = self.output
        return data

    def types(self, manifest: OperationManifest, where: str) -> tuple[tuple[TypeSpec, ...], TypeSpec]:
        """The step's effective ``(inputs, output)``: the overrides, checked against what the
        operation declares (an override may narrow a type, never contradict it)."""
        inputs, output = manifest.inputs, manifest.output
        if self.inputs is not None:
            if len(self.inputs) != len(inputs):
                raise ManifestError(
                    f"{where}.inputs",
                    f"{manifest.name} takes {len(inputs)} input(s), the override lists {len(self.inputs)}",
                )
            for slot, (given, declared) in enumerate(zip(self.inputs, inputs)):
                if not connects(given, declared):
                    raise ManifestError(
                        f"{where}.inputs[{slot}]",
                        f"{given!r} is not accepted by {manifest.name}, which takes {declared!r}",
                    )
            inputs = self.inputs
        if self.output is not None:
            if not connects(output, self.output):
                raise ManifestError(
                    f"{where}.output", f"{manifest.name} produces {output!r}, which cannot be {self.output!r}"
                )
            output = self.output
        return tuple(inputs), output


@dataclass(frozen=True)
class Segment:
    """A chain of operations; ``inputs`` are -1 (external) or earlier segment indexes."""

    inputs: tuple[int, ...]
    sequence: tuple[Step, ...]

    @property
    def external_slots(self) -> int:
        return sum(1 for i in self.inputs if i == EXTERNAL)

    def data(self) -> dict[str, Any]:
        return {"inputs": list(self.inputs), "sequence": [s.data() for s in self.sequence]}


@dataclass(frozen=True)
class Workflow:
    """A content-addressed workflow manifest."""

    name: str
    creators: tuple[str, ...]
    description: str
    groups: tuple[str, ...]
    segments: tuple[Segment, ...]

    def data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "creators": list(self.creators),
            "description": self.description,
            "groups": list(self.groups),
            "segments": [s.data() for s in self.segments],
        }

    @functools.cached_property
    def id(self) -> CID:
        """Computed once: the record is frozen."""
        return cid_of(self.data())

    @classmethod
    def from_data(cls, data: Any, resolve_name: NameResolver | None = None) -> Workflow:
        """Parse the ``data`` map strictly (structure only; see :meth:`validate`)."""
        _exact_keys(data, {"name", "creators", "description", "groups", "segments"}, "")
        _string(data["name"], "name")
        _string(data["description"], "description")
        creators = _strings(data["creators"], "creators")
        groups = _strings(data["groups"], "groups")
        raw_segments = data["segments"]
        if not isinstance(raw_segments, list):
            raise ManifestError("segments", "expected a list of segments")
        if not raw_segments:
            raise ManifestError("segments", "a workflow needs at least one segment")
        segments = tuple(_segment(s, f"segments[{i}]", resolve_name) for i, s in enumerate(raw_segments))
        return cls(data["name"], creators, data["description"], groups, segments)

    def validate(self, lookup: Lookup) -> None:
        """Apply every rule of SPEC §3; raise ManifestError naming the JSON path."""
        outputs: list[TypeSpec] = []
        for index, segment in enumerate(self.segments):
            where = f"segments[{index}]"
            for slot, source in enumerate(segment.inputs):
                if source == EXTERNAL:
                    continue
                if index == 0:
                    raise ManifestError(
                        f"{where}.inputs[{slot}]",
                        f"segment 0 takes only external inputs (-1), not {_brief(source)}",
                    )
                if source < EXTERNAL or source >= index:
                    raise ManifestError(
                        f"{where}.inputs[{slot}]",
                        f"refers to segment {_brief(source)}, which does not come before segment {index}",
                    )
            manifests, types = [], []
            for position, step in enumerate(segment.sequence):
                manifest = lookup(step.version_id)
                if manifest is None:
                    raise ManifestError(
                        f"{where}.sequence[{position}].version_id",
                        f"no registered operation version {step.version_id}",
                    )
                manifest.check_config(step.config, f"{where}.sequence[{position}].config")
                manifests.append(manifest)
                types.append(step.types(manifest, f"{where}.sequence[{position}]"))
            first = manifests[0]
            if len(first.inputs) != len(segment.inputs):
                raise ManifestError(
                    f"{where}.sequence[0]",
                    f"{first.name} takes {len(first.inputs)} input(s) but the segment has "
                    f"{len(segment.inputs)}",
                )
            for slot, source in enumerate(segment.inputs):
                if source != EXTERNAL and not connects(outputs[source], types[0][0][slot]):
                    raise ManifestError(
                        f"{where}.inputs[{slot}]",
                        f"segment {source} produces {outputs[source]!r} but {first.name} input {slot} "
                        f"takes {types[0][0][slot]!r}",
                    )
            for position in range(1, len(manifests)):
                previous, current = manifests[position - 1], manifests[position]
                if len(current.inputs) != 1:
                    raise ManifestError(
                        f"{where}.sequence[{position}]",
                        f"{current.name} takes {len(current.inputs)} inputs; only the first operation "
                        f"of a segment may take other than one",
                    )
                produced, accepted = types[position - 1][1], types[position][0][0]
                if not connects(produced, accepted):
                    raise ManifestError(
                        f"{where}.sequence[{position}]",
                        f"{previous.name} produces {produced!r} but {current.name} takes {accepted!r}",
                    )
            outputs.append(types[-1][1])


def load_manifest(manifest: Any, resolve_name: NameResolver | None = None) -> Workflow:
    """Parse ``{"id"?, "data"}``; a given id must equal the recomputed one."""
    if not isinstance(manifest, dict):
        raise ManifestError("", 'a workflow manifest is a JSON object {"id": ..., "data": {...}}')
    unknown = manifest.keys() - {"id", "data"}
    if unknown:
        raise ManifestError(
            "", f"unknown top-level key(s): {', '.join(sorted(map(_key, unknown)))} (expected id, data)"
        )
    if "data" not in manifest:
        raise ManifestError("", "missing key: data")
    workflow = Workflow.from_data(manifest["data"], resolve_name)
    if manifest.get("id") is not None:
        given = _cid(manifest["id"], "id")
        if given != workflow.id:
            raise ManifestError("id", f"{given} does not match the manifest's recomputed id {workflow.id}")
    return workflow


def _segment(data: Any, where: str, resolve_name: NameResolver | None) -> Segment:
    _exact_keys(data, {"inputs", "sequence"}, where)
    inputs = data["inputs"]
    if not isinstance(inputs, list) or not inputs:
        raise ManifestError(f"{where}.inputs", "a segment needs at least one input")
    for slot, source in enumerate(inputs):
        if not isinstance(source, int) or isinstance(source, bool):
            raise ManifestError(
                f"{where}.inputs[{slot}]", f"expected -1 or a segment index, got {_brief(source)}"
            )
    sequence = data["sequence"]
    if not isinstance(sequence, list) or not sequence:
        raise ManifestError(f"{where}.sequence", "a segment needs at least one operation")
    return Segment(
        tuple(inputs), tuple(_step(s, f"{where}.sequence[{i}]", resolve_name) for i, s in enumerate(sequence))
    )


def _step(data: Any, where: str, resolve_name: NameResolver | None) -> Step:
    overrides = {"inputs", "output"} & data.keys() if isinstance(data, dict) else set()
    if isinstance(data, dict) and "op" in data and "version_id" not in data and resolve_name:
        # Authoring form: {"op": "std/hash", "config": {...}} names a registered operation.
        _exact_keys(data, {"op", "config"} | overrides, where)
        if not isinstance(data["op"], str):
            raise ManifestError(f"{where}.op", "expected an operation name")
        version_id = resolve_name(data["op"])
        if version_id is None:
            raise ManifestError(
                f"{where}.op",
                f"no registered operation named {_brief(data['op'])}; load the module that defines it "
                f"(--ops MODULE, operations in catenary.toml, Node(operations=[...])) or install "
                f"the package that provides it (entry points catenary.operations)",
            )
    else:
        _exact_keys(data, {"version_id", "config"} | overrides, where)
        version_id = _cid(data["version_id"], f"{where}.version_id")
    config = data["config"]
    if not isinstance(config, dict):
        raise ManifestError(f"{where}.config", "expected a map of strings")
    for key, value in config.items():
        if not isinstance(value, str):
            raise ManifestError(
                f"{where}.config.{_key(key)}", f"config values are strings, got {_brief(value)}"
            )
    inputs = None
    if "inputs" in data:
        if not isinstance(data["inputs"], list) or not data["inputs"]:
            raise ManifestError(f"{where}.inputs", "expected a non-empty list of types")
        inputs = tuple(_type(t, f"{where}.inputs[{i}]") for i, t in enumerate(data["inputs"]))
    output = _type(data["output"], f"{where}.output") if "output" in data else None
    return Step(version_id, dict(config), inputs, output)


def _type(spec: Any, where: str) -> TypeSpec:
    problem = type_problem(spec)
    if problem:
        raise ManifestError(where, problem)
    return cast(TypeSpec, spec)  # type_problem found none: spec is a TypeSpec


def _cid(value: Any, where: str) -> CID:
    if isinstance(value, dict) and set(value) == {"/"}:
        value = value["/"]
    if isinstance(value, CID):
        return value
    if not isinstance(value, str):
        raise ManifestError(where, f"expected a CID string, got {_brief(value)}")
    try:
        return CID.parse(value)
    except CatenaryError as exc:
        raise ManifestError(where, str(exc)) from exc


def _string(value: Any, where: str) -> None:
    if not isinstance(value, str):
        raise ManifestError(where, f"expected a string, got {_brief(value)}")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ManifestError(where, "expected a list of strings")
    for i, item in enumerate(value):
        _string(item, f"{where}[{i}]")
    return tuple(value)
