"""Where an execution belongs: the rules that make a record fit its workflow and run.

The engine builds each execution from its workflow: segment ``s`` and step ``i`` run the
operation and config that the workflow names there; step 0 reads the segment's slots (the
event of the run's external inputs for a ``-1`` slot, the last execution of an earlier segment
otherwise), each later step reads the step before it. A record made anywhere else (an
``Execution.Create`` by another party, a row written into the DB) must obey the same rules,
so they live here once: the engine checks its invocations with :func:`misplacement`, the sdk
refuses a ``Create`` with it, and ``doctor`` reports stored records that break it.

Each rule answers with the field that is wrong, as a :class:`Misplacement`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from catenary.cid import CID
from catenary.model.execution import Execution, Invocation, Status
from catenary.model.run import Event
from catenary.model.workflow import EXTERNAL, Workflow

# hash -> the execution or event recorded under it, None when neither is known.
Lookup = Callable[[CID], "Execution | Event | None"]


@dataclass(frozen=True)
class Misplacement:
    """Why a record does not fit: the wrong ``field`` (workflow, segment, step, operation,
    config, parents, parents[i], inputs, inputs[i]) and what it should be."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


def misplacement(workflow: Workflow, invocation: Invocation) -> Misplacement | None:
    """Whether ``invocation`` sits where ``workflow`` has such a step: segment, step, operation,
    config and the number of inputs. Needs nothing stored (the engine calls it on every step)."""
    segments = workflow.segments
    if not 0 <= invocation.segment < len(segments):
        return Misplacement(
            "segment",
            f"{invocation.segment} is not a segment of workflow {workflow.name!r} "
            f"(it has {len(segments)}: 0..{len(segments) - 1})",
        )
    segment = segments[invocation.segment]
    if not 0 <= invocation.step < len(segment.sequence):
        return Misplacement(
            "step",
            f"{invocation.step} is not a step of segment {invocation.segment} "
            f"(it has {len(segment.sequence)}: 0..{len(segment.sequence) - 1})",
        )
    step = segment.sequence[invocation.step]
    where = f"segment {invocation.segment} step {invocation.step}"
    if invocation.operation != step.version_id:
        return Misplacement("operation", f"{where} runs {step.version_id}, not {invocation.operation}")
    if dict(invocation.config) != dict(step.config):
        return Misplacement(
            "config", f"{where} has config {dict(step.config)}, not {dict(invocation.config)}"
        )
    wanted = len(segment.inputs) if invocation.step == 0 else 1
    if len(invocation.inputs) != wanted:
        return Misplacement("inputs", f"{where} takes {wanted} input(s), got {len(invocation.inputs)}")
    if len(invocation.parents) != wanted:
        return Misplacement("parents", f"{where} has {wanted} parent(s), got {len(invocation.parents)}")
    return None


def lineage_misplacement(
    workflow: Workflow, run: CID, invocation: Invocation, lookup: Lookup
) -> Misplacement | None:
    """:func:`misplacement`, then whether each parent is what feeds that slot in run ``run``
    and each input is that parent's value (the engine's wiring, as stored)."""
    found = misplacement(workflow, invocation)
    if found is not None:
        return found
    segment = workflow.segments[invocation.segment]
    if invocation.step == 0:
        sources: list[int | None] = list(segment.inputs)
    else:
        sources = [None]  # the step before, in the same segment
    external = 0
    for i, (source, parent, value) in enumerate(zip(sources, invocation.parents, invocation.inputs)):
        record = lookup(parent)
        if source == EXTERNAL:
            if not isinstance(record, Event) or record.run != run or record.segment != invocation.segment:
                return Misplacement(
                    f"parents[{i}]",
                    f"slot {i} reads the run's external input: its parent is the event of run {run} "
                    f"segment {invocation.segment}, not {parent}",
                )
            if external >= len(record.inputs) or record.inputs[external] != value:
                return Misplacement(
                    f"inputs[{i}]", f"{value} is not external input {external} of event {parent}"
                )
            external += 1
            continue
        if source is None:
            want_segment, want_step = invocation.segment, invocation.step - 1
        else:
            want_segment, want_step = source, len(workflow.segments[source].sequence) - 1
        if (
            not isinstance(record, Execution)
            or record.run != run
            or (record.segment, record.step) != (want_segment, want_step)
        ):
            return Misplacement(
                f"parents[{i}]",
                f"slot {i} reads segment {want_segment} step {want_step} of run {run}; {parent} is not it",
            )
        if record.status is not Status.COMPLETED or record.output != value:
            return Misplacement(f"inputs[{i}]", f"{value} is not the output of parent {parent}")
    return None
