"""Triggers: on events with a key (optionally from given emitters, optionally where fields of
the data equal given values), start a workflow, mapping parts of the event data to the ``-1``
inputs of its segment 0. See docs/events.md.

A trigger is written as JSON; every error names its JSON path::

    {"name": "thumbnail", "on": "photo.uploaded", "workflow": "bafy...",
     "inputs": ["$.photo", "$.size"],            # one JSON path into the data per -1 slot
     "emitters": ["did:key:z6Mk..."],            # optional: only these emitters
     "where": {"$.album": "holidays"}}            # optional: only when these fields are equal

With ``continue``, the trigger advances a waiting run instead of starting one: the run of the
workflow paused before ``segment`` (its ``-1`` slots are what ``inputs`` maps) whose
correlation value, read at ``run`` in the data of the event that started it, equals the value
at ``event`` in this event's data::

     "continue": {"segment": 1, "event": "$.order_id", "run": "$.order_id"}

``on`` may instead be a result source, ``{"workflow": "bafy..."}`` (the final results of that
workflow's runs, i.e. the event key ``result.bafy...``) or with ``name``, ``segment`` and
``operation`` (:mod:`catenary.events.results`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from catenary.cid import CID
from catenary.errors import ManifestError
from catenary.events.results import ResultSource, parse_on, result_workflow, workflow_id
from catenary.model.emitted import SignedEvent, key_problem

NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]")
FIELDS = ("name", "on", "workflow", "inputs", "emitters", "where", "continue")
CONTINUE_FIELDS = ("segment", "event", "run")


class _Missing:
    pass


MISSING = _Missing()


def parse_path(path: Any, where: str) -> tuple[str | int, ...]:
    """``$``, ``$.a.b``, ``$.list[0]``: the steps of a JSON path into an event's data."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise ManifestError(where, "expected a JSON path starting with '$' (e.g. '$.photo')")
    steps: list[str | int] = []
    rest = path[1:]
    while rest:
        m = _STEP.match(rest)
        if not m:
            raise ManifestError(where, f"cannot read the JSON path {path!r} at {rest!r}")
        steps.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        rest = rest[m.end() :]
    return tuple(steps)


def select(data: Any, steps: tuple[str | int, ...]) -> Any:
    """The value at ``steps`` in ``data``, or MISSING."""
    for step in steps:
        if isinstance(step, int) and isinstance(data, list) and step < len(data):
            data = data[step]
        elif isinstance(step, str) and isinstance(data, dict) and step in data:
            data = data[step]
        else:
            return MISSING
    return data


@dataclass(frozen=True)
class Continue:
    """Which waiting run an event advances: the one paused before ``segment`` whose starting
    event's data at ``run`` equals this event's data at ``event`` (its correlation value)."""

    segment: int
    event: str
    run: str

    def to_json(self) -> dict[str, Any]:
        return {"segment": self.segment, "event": self.event, "run": self.run}

    @classmethod
    def parse(cls, doc: Any) -> Continue:
        if not isinstance(doc, dict):
            raise ManifestError("$.continue", 'expected {"segment": N, "event": PATH, "run": PATH}')
        for key in doc:
            if key not in CONTINUE_FIELDS:
                raise ManifestError(
                    f"$.continue.{key}", f"unknown field (expected {', '.join(CONTINUE_FIELDS)})"
                )
        for key in CONTINUE_FIELDS:
            if key not in doc:
                raise ManifestError(f"$.continue.{key}", "missing")
        segment = doc["segment"]
        if not isinstance(segment, int) or isinstance(segment, bool) or segment < 1:
            raise ManifestError(
                "$.continue.segment", "expected the index (1 or more) of the segment the event feeds"
            )
        parse_path(doc["event"], "$.continue.event")
        parse_path(doc["run"], "$.continue.run")
        return cls(segment, doc["event"], doc["run"])

    def value(self, data: Any) -> Any:
        """This event's correlation value; a path the data lacks is a ManifestError."""
        found = select(data, parse_path(self.event, "$.continue.event"))
        if found is MISSING:
            raise ManifestError("$.continue.event", f"the event data has nothing at {self.event}")
        return found

    def run_value(self, data: Any) -> Any:
        """A waiting run's correlation value from its starting event's data (MISSING: none)."""
        return select(data, parse_path(self.run, "$.continue.run"))


@dataclass(frozen=True)
class Trigger:
    name: str
    on: str
    workflow: CID
    inputs: tuple[str, ...]
    emitters: tuple[str, ...] = ()
    where: dict[str, Any] = field(default_factory=dict)
    continues: Continue | None = None
    source: ResultSource | None = None  # on a result source: which executions ``on`` carries

    @property
    def segment(self) -> int:
        """The segment whose ``-1`` slots ``inputs`` maps: 0, or the one a continue feeds."""
        return self.continues.segment if self.continues else 0

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.name,
            # a filtered result source keeps its readable form; its key is derived from it
            "on": self.source.to_json() if self.source and result_workflow(self.on) is None else self.on,
            "workflow": str(self.workflow),
            "inputs": list(self.inputs),
            "emitters": list(self.emitters),
            "where": self.where,
        }
        if self.continues:
            doc["continue"] = self.continues.to_json()
        return doc

    @classmethod
    def parse(cls, doc: Any) -> Trigger:
        """A trigger from its JSON form; unknown or malformed fields are refused by path."""
        if not isinstance(doc, dict):
            raise ManifestError("$", "a trigger is a JSON object")
        for key in doc:
            if key not in FIELDS:
                raise ManifestError(f"$.{key}", f"unknown field (expected {', '.join(FIELDS)})")
        for key in ("name", "on", "workflow", "inputs"):
            if key not in doc:
                raise ManifestError(f"$.{key}", "missing")
        name = doc["name"]
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise ManifestError(
                "$.name", "1 to 64 of a-z, 0-9, '_', '.', '-', starting with a letter or digit"
            )
        on, source = parse_on(doc["on"])
        problem = key_problem(on)
        if problem:
            raise ManifestError("$.on", problem)
        workflow = workflow_id(doc["workflow"], "$.workflow")
        inputs = doc["inputs"]
        if not isinstance(inputs, list):
            raise ManifestError("$.inputs", "expected a list of JSON paths, one per -1 slot of the segment")
        for i, path in enumerate(inputs):
            parse_path(path, f"$.inputs[{i}]")
        emitters = doc.get("emitters", [])
        if not isinstance(emitters, list) or not all(
            isinstance(e, str) and e.startswith("did:key:z") for e in emitters
        ):
            raise ManifestError("$.emitters", "expected a list of did:key ids")
        where = doc.get("where", {})
        if not isinstance(where, dict):
            raise ManifestError("$.where", "expected an object {JSON path: value}")
        for path in where:
            parse_path(path, f"$.where[{path!r}]")
        continues = Continue.parse(doc["continue"]) if "continue" in doc else None
        return cls(name, on, workflow, tuple(inputs), tuple(emitters), dict(where), continues, source)

    def matches(self, signed: SignedEvent, data: Any) -> bool:
        e = signed.event
        if e.key != self.on or (self.emitters and e.emitter not in self.emitters):
            return False
        return self.fits_where(data)

    def fits_where(self, data: Any) -> bool:
        """Every field ``where`` names has its value in ``data``."""
        return all(select(data, parse_path(p, "where")) == v for p, v in self.where.items())

    def pinned_input(self, index: int) -> tuple[str, Any] | None:
        """When ``where`` pins a field that input ``index``'s path equals or goes into: that
        field's path and the input's value whenever the trigger fires (MISSING: the pinned
        value has nothing at the path, so every firing would fail). None: not known."""
        steps = parse_path(self.inputs[index], f"$.inputs[{index}]")
        for path, value in self.where.items():
            pinned = parse_path(path, f"$.where[{path!r}]")
            if steps[: len(pinned)] == pinned:
                return path, select(value, steps[len(pinned) :])
        return None

    def map_inputs(self, data: Any) -> list[Any]:
        """The values for the segment's ``-1`` slots; a path the data lacks is a ManifestError."""
        values = []
        for i, path in enumerate(self.inputs):
            value = select(data, parse_path(path, f"$.inputs[{i}]"))
            if value is MISSING:
                raise ManifestError(f"$.inputs[{i}]", f"the event data has nothing at {path}")
            values.append(value)
        return values
