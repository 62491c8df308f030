"""The workload the crash harness kills: runs workflows forever, journaling what next() returned.

Runs in a child process (forkserver); every line of the journal is written and fsynced
only after ``next()`` has returned, so each line is a promise the store must keep.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

from catenary import ExecutionFailedError, operation
from catenary.sdk import Node


@operation("crash/mix", inputs=["int"], output="int")
def mix(x: int) -> int:
    """A little arithmetic."""
    return (x * 31 + 7) % 1000


@operation("crash/add", inputs=["int", "int"], output="int")
def add(a: int, b: int) -> int:
    """a + b"""
    return a + b


@operation("crash/pick", inputs=["int"], output="int")
def pick(x: int) -> int:
    """Fails on multiples of 13, so some runs fail."""
    if x % 13 == 0:
        raise ValueError(f"{x} is a multiple of 13")
    return x


def manifest() -> dict:
    step = lambda name: {"op": name, "config": {}}  # noqa: E731
    return {"data": {"name": "crash workload", "creators": [], "description": "", "groups": [],
                     "segments": [
                         {"inputs": [-1], "sequence": [step("crash/mix"), step("crash/mix")]},
                         {"inputs": [0, -1], "sequence": [step("crash/add"), step("crash/pick")]},
                         {"inputs": [1], "sequence": [step("crash/mix")] * 5},
                         {"inputs": [2, 0], "sequence": [step("crash/add")]},
                     ]}}


def work(data_dir: str, journal: str, seed: int, ready=None) -> None:  # noqa: ANN001
    """Step runs until killed; append {run, segment, final, done} after each next().

    ``ready`` (an event) is set once the node is open, so the harness times its kill from
    there and not from process start (which a loaded machine can stretch).
    """
    rng = random.Random(seed)
    node = Node(data_dir)
    for op in (mix, add, pick):
        node.registry.add(op)
    node.operations.publish()
    wf = node.workflows.create(manifest())
    if ready is not None:
        ready.set()
    fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    pending = [r.id for r in node.runs.list(wf.id, 1000) if r.status == "running"]
    while True:
        run_id = pending.pop() if pending and rng.random() < 0.5 else node.runs.new(wf.id).id
        while True:
            state = node.runs.get(run_id)
            if state.status != "running":
                break
            inputs = [rng.randrange(40)] if state.next_segment in (0, 1) else []
            try:
                result = node.runs.next(run_id, inputs)
            except ExecutionFailedError as exc:
                line = {"run": str(run_id), "segment": state.next_segment, "failed": str(exc.execution.hash)}
            else:
                line = {"run": str(run_id), "segment": result.segment, "final": str(result.final),
                        "done": result.done}
            os.write(fd, (json.dumps(line) + "\n").encode())
            os.fsync(fd)
            if rng.random() < 0.15:  # leave some runs half-done, to be resumed later
                break


def read_journal(path: Path) -> list[dict]:
    """Complete lines only: a kill can cut the last one."""
    if not path.exists():
        return []
    lines = path.read_text().split("\n")
    out = []
    for line in lines[:-1]:
        out.append(json.loads(line))
    return out
