#!/usr/bin/env python
"""catenary's side of the peer workloads (run with the project's .venv).

What is recorded, each run: the run, one event per ``next()`` with external inputs, one
execution record per operation (hash, key, parents, inputs, output CID, status, times,
executor), every output value as a DAG-CBOR block, the segment outputs, and an executor
attestation per execution that did the work, all in one SQLite (WAL) transaction per
``next()``. Cache hits (memo by key) are recorded as new executions with ``cached_from``.

How the workloads map onto segments:

- chain: one segment ``[-1]`` of n ``inc`` steps: one ``next()``, one transaction.
- fan: segment 0 ``[-1]`` runs ``inc`` (the source); segments 1..n each take ``[0]`` and run
  ``add`` with config ``{"i": "<i>"}`` (so each has its own key); segment n+1 takes
  ``[1, ..., n]`` and runs one n-input ``join`` (a segment's first operation takes as many
  inputs as the segment has). n + 2 segments, so n + 2 ``next()`` calls and transactions,
  n + 2 executions; the join records n parents and n inputs.
- cpu: one segment ``[-1]`` of one operation.

Durability (``PEER_DURABILITY``, common.py): "normal" is the store as shipped (WAL,
``synchronous=NORMAL``); "fsync" sets ``synchronous=FULL`` on its connection, an fsync at every
commit, like redun's and Hamilton's defaults.

Batching (``CATENARY_BENCH_CHAIN=1op``): the chain as n one-operation segments, so n
``next()`` calls and n transactions, one commit per operation as every peer commits per task
(the fan already is one operation per segment). The default chain commits once for n.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DURABILITY, cpu_payload, main  # noqa: E402

import catenary  # noqa: E402
from catenary.operations import Operation, operation  # noqa: E402
from catenary.operations.registry import default_registry  # noqa: E402
from catenary.sdk import Node  # noqa: E402


@operation("peers/inc", inputs=["int"], output="int", description="n + 1", groups=["bench"])
def inc(n: int) -> int:
    return n + 1


@operation("peers/add", inputs=["int"], output="int", description="n + i", config={"i": []},
           groups=["bench"])
def add(n: int, i: str) -> int:
    return n + int(i)


@operation("peers/sha256", inputs=["int"], output="string", description="hash `mib` MiB",
           config={"mib": []}, groups=["bench"])
def sha256(seed: int, mib: str) -> str:
    return cpu_payload(seed, int(mib))


def join_op(n: int) -> Operation:
    """An operation summing n ints (one declared input per fan-out branch)."""

    @operation(f"peers/join{n}", inputs=["int"] * n, output="int", description=f"sum of {n} ints",
               groups=["bench"])
    def join(*values: int) -> int:
        return sum(values)

    return join


def _step(op: Operation, config: dict[str, str] | None = None) -> dict[str, Any]:
    return {"version_id": str(op.version_id), "config": config or {}}


def _manifest(name: str, segments: list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": {"name": name, "creators": [], "description": "peer benchmark", "groups": ["bench"],
                     "segments": segments}}


class CatenaryPeer:
    """The workloads as catenary workflows on one data dir (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        registry = default_registry()
        for op in (inc, add, sha256):
            registry.add(op)
        self.registry = registry
        self.node = Node(root / "catenary", registry=registry)
        if DURABILITY == "fsync":
            # The store opens with synchronous=NORMAL (WAL, no fsync per commit); FULL fsyncs
            # the WAL at every commit, the durability redun's and Hamilton's SQLite defaults
            # give. A benchmark-only switch on the store's private connection.
            self.node.store._db.execute("PRAGMA synchronous=FULL")
        self.one_op = os.environ.get("CATENARY_BENCH_CHAIN", "") == "1op"
        self.chains: dict[int, Any] = {}
        self.fans: dict[int, Any] = {}
        self.cpus: dict[int, Any] = {}

    def prepare(self, n: int) -> None:
        """Store the chain and fan workflows of size n (definition, not timed)."""
        join = join_op(n)
        self.registry.add(join)
        self.node.operations.publish()
        if self.one_op:
            chain = [{"inputs": [-1 if i == 0 else i - 1], "sequence": [_step(inc)]} for i in range(n)]
        else:
            chain = [{"inputs": [-1], "sequence": [_step(inc)] * n}]
        self.chains[n] = self.node.workflows.create(_manifest(f"chain-{n}", chain)).id
        segments = [{"inputs": [-1], "sequence": [_step(inc)]}]
        segments += [{"inputs": [0], "sequence": [_step(add, {"i": str(i)})]} for i in range(n)]
        segments.append({"inputs": list(range(1, n + 1)), "sequence": [_step(join)]})
        self.fans[n] = self.node.workflows.create(_manifest(f"fan-{n}", segments)).id

    def _run(self, workflow_id: Any, start: Any, segments: int) -> Any:
        runs = self.node.runs
        state = runs.new(workflow_id)
        result = runs.next(state.id, [start])
        for _ in range(segments - 1):
            result = runs.next(state.id)
        assert result.done
        return result.result

    def chain(self, start: int, n: int) -> int:
        return self._run(self.chains[n], start, n if self.one_op else 1)

    def fan(self, start: int, n: int) -> int:
        return self._run(self.fans[n], start, n + 2)

    def cpu(self, seed: int, mib: int) -> str:
        workflow = self.cpus.get(mib)
        if workflow is None:
            workflow = self.cpus[mib] = self.node.workflows.create(_manifest(
                f"cpu-{mib}", [{"inputs": [-1], "sequence": [_step(sha256, {"mib": str(mib)})]}])).id
        return self._run(workflow, seed, 1)

    def close(self) -> None:
        self.node.close()


if __name__ == "__main__":
    main("catenary", CatenaryPeer, getattr(catenary, "__version__", "?"))
