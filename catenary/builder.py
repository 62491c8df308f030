"""Build a workflow in Python: the same manifest, and so the same workflow id, as its JSON twin.

>>> wf = WorkflowBuilder("hello-cid", creators=["you"])
>>> text, claim = wf.input("text"), wf.input("claim")
>>> cid = wf.segment(text, steps=["std/utf8-encode", "std/cid"])
>>> same = wf.segment(claim, cid, steps=["std/equals"])
>>> wf.manifest()["data"]["segments"][1]
{'inputs': [-1, 0], 'sequence': [{'op': 'std/equals', 'config': {}}]}

A step is an operation name (resolved by the node, like ``{"op": ...}`` in JSON), an
operation object (its ``version_id``; a local node registers it), or ``step(op, key="value")``
for config. External inputs have names; :meth:`WorkflowBuilder.run` takes them as keywords
and returns a :class:`~catenary.model.results.RunResult`. The names are the builder's only:
the manifest keeps the external slots as ``-1``, exactly as JSON does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from catenary.cid import CID, dagjson
from catenary.errors import InputError, ManifestError
from catenary.model.node import NodeLike
from catenary.model.results import RunResult, StepResult, WorkflowInfo
from catenary.model.workflow import EXTERNAL
from catenary.operations.decorator import Operation

__all__ = ["Input", "SegmentRef", "StepSpec", "WorkflowBuilder", "step"]


@dataclass(frozen=True)
class Input:
    """A named external input; use it as a segment input, give its value to ``run()``."""

    name: str
    builder_id: int = field(repr=False, compare=False)


@dataclass(frozen=True)
class SegmentRef:
    """A segment of a builder: use it as a later segment's input (its output)."""

    index: int
    builder_id: int = field(repr=False, compare=False)


@dataclass(frozen=True)
class StepSpec:
    """One step: an operation (name or object) and its config."""

    op: str | Operation
    config: Mapping[str, str] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        key, ref = ("op", self.op) if isinstance(self.op, str) else ("version_id", self.op.version_id)
        return {key: ref, "config": dict(self.config)}


def step(op: str | Operation, **config: str) -> StepSpec:
    """A step with config: ``step("std/hash", algorithm="blake3")``."""
    return StepSpec(op, config)


StepLike = str | Operation | StepSpec


class WorkflowBuilder:
    """A workflow under construction: segments, external inputs, steps and config."""

    def __init__(
        self, name: str, *, creators: Iterable[str] = (), description: str = "", groups: Iterable[str] = ()
    ) -> None:
        self.name = name
        self.creators = tuple(creators)
        self.description = description
        self.groups = tuple(groups)
        self._inputs: dict[str, Input] = {}
        self._segments: list[tuple[tuple[Input | SegmentRef, ...], tuple[StepSpec, ...]]] = []

    def input(self, name: str) -> Input:
        """A new external input called ``name`` (the keyword ``run()`` takes its value by)."""
        if not isinstance(name, str) or not name.isidentifier():
            raise ManifestError("", f"an input name is a Python identifier, not {name!r}")
        if name in self._inputs:
            raise ManifestError("", f"there is already an input named {name!r}")
        self._inputs[name] = Input(name, id(self))
        return self._inputs[name]

    def segment(self, *inputs: Input | SegmentRef, steps: Iterable[StepLike]) -> SegmentRef:
        """Add a segment taking ``inputs`` (external inputs or earlier segments) through
        ``steps`` in order; returns it, to be used as a later segment's input."""
        where = f"segments[{len(self._segments)}]"
        if not inputs:
            raise ManifestError(f"{where}.inputs", "a segment needs at least one input")
        for slot, given in enumerate(inputs):
            if not isinstance(given, (Input, SegmentRef)) or given.builder_id != id(self):
                raise ManifestError(
                    f"{where}.inputs[{slot}]",
                    f"expected an input or a segment of this builder, got {given!r}",
                )
        specs = []
        for position, item in enumerate(steps):
            if isinstance(item, (str, Operation)):
                item = StepSpec(item)
            if not isinstance(item, StepSpec):
                raise ManifestError(
                    f"{where}.sequence[{position}]",
                    f"a step is an operation name, an operation or step(...), not {type(item).__name__}",
                )
            specs.append(item)
        if not specs:
            raise ManifestError(f"{where}.sequence", "a segment needs at least one operation")
        self._segments.append((tuple(inputs), tuple(specs)))
        return SegmentRef(len(self._segments) - 1, id(self))

    def manifest(self) -> dict[str, Any]:
        """The manifest in the authoring form (``{"data": ...}``, steps by ``op`` name or
        ``version_id``), as a workflow's JSON file has it."""
        segments = [
            {
                "inputs": [EXTERNAL if isinstance(i, Input) else i.index for i in inputs],
                "sequence": [s.data() for s in specs],
            }
            for inputs, specs in self._segments
        ]
        return {
            "data": {
                "name": self.name,
                "creators": list(self.creators),
                "description": self.description,
                "groups": list(self.groups),
                "segments": segments,
            }
        }

    def to_json(self) -> str:
        """The manifest as DAG-JSON text (what ``catenary workflow create FILE`` reads)."""
        return dagjson.dumps(self.manifest(), indent=2)

    def create(self, node: NodeLike) -> WorkflowInfo:
        """Store the workflow on ``node``; the operation objects among the steps are registered
        first when the node is local. Returns the stored workflow and its id."""
        register = getattr(node.operations, "register", None)
        for _, specs in self._segments:
            for spec in specs:
                if isinstance(spec.op, Operation) and register is not None:
                    register(spec.op)
        return node.workflows.create(self.to_json())  # the text a file would hold: local or remote

    def run(
        self,
        node: NodeLike,
        *,
        fresh: bool = False,
        on_step: Callable[[StepResult], None] | None = None,
        **inputs: Any,
    ) -> RunResult:
        """Create the workflow if needed, then run it to the end with each external input's
        value given by name: ``wf.run(node, text="hello world", claim="bafk...")``."""
        missing = [name for name in self._inputs if name not in inputs]
        unknown = [name for name in inputs if name not in self._inputs]
        if missing or unknown:
            problems = []
            if missing:
                problems.append(f"missing value(s) for {', '.join(missing)}")
            if unknown:
                problems.append(f"no input named {', '.join(unknown)}")
            raise InputError(f"{'; '.join(problems)} (inputs: {', '.join(self._inputs) or 'none'})")
        by_segment = {
            index: [inputs[i.name] for i in segment_inputs if isinstance(i, Input)]
            for index, (segment_inputs, _) in enumerate(self._segments)
        }
        workflow: CID = self.create(node).id
        return node.runs.run(workflow, by_segment, fresh=fresh, on_step=on_step)
