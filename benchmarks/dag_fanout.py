"""Segments as a DAG: a fan-out of independent CPU-bound segments of ONE run, side by side.

A benchmark script, not a timed test (figures in docs/benchmarks.md, "Segments as a DAG"):

    .venv/bin/python benchmarks/dag_fanout.py [--segments 8] [--work 400000] [--tiny 100] [--rounds 3]

Workload 1 (speed-up): segment 0 takes the external seed; segments 1..K each read segment 0 and
run ``bench/spin`` (a pure-Python loop holding the GIL) with its own ``salt``, so no two share a
key. Modes, interleaved round by round, each on a fresh data dir:

- local 1: ``next()`` per segment, operations in this process (the baseline);
- processes 2: ``run --parallel K`` with ``--executor processes:2``;
- dask 2: ``run --parallel K`` on a ``LocalCluster`` of 2 single-threaded worker processes;
- dask alone: the same K calls by ``client.map`` + ``gather`` on that cluster, no catenary.

Workload 2 (per-task cost): the same fan-out with ``--tiny`` segments of ``work=0``: the engine
on Dask (``--parallel``, all submitted together) against Dask's own pipelined floor (``submit``
of every call, then ``gather``), and against the engine on Dask one segment at a time.

Every engine mode must record the same keys and outputs; the script checks it. Ratios are per
round (the same round's modes ran back to back), reported as median and range.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catenary.engine.executor import DaskExecutor, Executor, LocalExecutor, ProcessExecutor  # noqa: E402
from catenary.model.filter import ExecutionFilter  # noqa: E402
from catenary.operations import Registry, default_registry, operation  # noqa: E402
from catenary.sdk import Node  # noqa: E402


@operation("bench/spin", inputs=["int"], output="int", config={"work": [], "salt": []}, groups=["bench"])
def spin(seed: int, work: str, salt: str) -> int:
    """A pure-Python loop of ``work`` steps (a linear congruential generator): holds the GIL."""
    x = seed + int(salt)
    for _ in range(int(work)):
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
    return x >> 1


class Shared(Executor):
    """An executor shared by the nodes of every round: closing a node leaves it running."""

    def __init__(self, inner: Executor) -> None:
        self.inner, self.name = inner, inner.name

    def call(self, op: Any, values: list[Any], config: dict[str, str], timeout: float | None) -> Any:
        return self.inner.call(op, values, config, timeout)


def registry() -> Registry:
    reg = default_registry()
    reg.add(spin)
    return reg


def manifest(segments: int, work: int) -> str:
    fan = [{"inputs": [0], "sequence": [{"op": "bench/spin", "config": {"work": str(work), "salt": str(i)}}]}
           for i in range(1, segments + 1)]
    head = {"inputs": [-1], "sequence": [{"op": "bench/spin", "config": {"work": "0", "salt": "0"}}]}
    return json.dumps({"data": {"name": f"dag-fan-{segments}-{work}", "creators": ["bench"], "description": "",
                                "groups": [], "segments": [head, *fan]}})


def engine(base: Path, name: str, executor: Any, segments: int, work: int, parallel: int
           ) -> tuple[float, set[tuple[int, str, str]]]:
    """Wall seconds of one run of the fan-out, and what it recorded: (segment, key, output)."""
    node = Node(base / name, registry=registry(), executor=executor)
    try:
        wf = node.workflows.create(manifest(segments, work))
        run = node.runs.new(wf.id)
        started = time.perf_counter()
        node.runs.resume(run.id, {0: [7]}, parallel=parallel)
        wall = time.perf_counter() - started
        recorded = {(e.segment, str(e.key), str(e.output))
                    for e in node.executions.iterate(ExecutionFilter(run=run.id))}
        return wall, recorded
    finally:
        node.close()


def dask_alone(client: Any, segments: int, work: int) -> float:
    """The same calls on Dask with no engine: submit every one, then gather (pipelined)."""
    started = time.perf_counter()
    futures = [client.submit(spin.func, 7, str(work), str(i), pure=False) for i in range(1, segments + 1)]
    client.gather(futures)
    return time.perf_counter() - started


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--segments", type=int, default=8)
    parser.add_argument("--work", type=int, default=400_000, help="loop steps of each bench/spin call")
    parser.add_argument("--tiny", type=int, default=100, help="segments of the per-task workload")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import distributed

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address="127.0.0.1:0", silence_logs=50)
    client = distributed.Client(cluster, set_as_default=False)
    pool = Shared(ProcessExecutor(2))
    on_dask = Shared(DaskExecutor(client=client))
    rounds: list[dict[str, float]] = []
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        engine(base, "warm-pool", pool, 2, 1, 2)  # spawn the pool, ship the code: not timed
        engine(base, "warm-dask", on_dask, 2, 1, 2)
        dask_alone(client, 2, 1)
        for r in range(args.rounds):
            row: dict[str, float] = {}
            seen = []
            for label, executor, parallel in (("local 1", LocalExecutor(), 1),
                                              ("processes 2", pool, args.segments + 1),
                                              ("dask 2", on_dask, args.segments + 1)):
                row[label], recorded = engine(base, f"{label}-{r}".replace(" ", "-"), executor,
                                              args.segments, args.work, parallel)
                seen.append(recorded)
            assert seen[0] == seen[1] == seen[2], "a mode recorded other keys or outputs"
            row["dask alone"] = dask_alone(client, args.segments, args.work)
            row["tiny engine dask"], _ = engine(base, f"tiny-{r}", on_dask, args.tiny, 0, 64)
            row["tiny engine dask, 1 at a time"], _ = engine(base, f"tiny1-{r}", on_dask, args.tiny, 0, 1)
            row["tiny dask floor"] = dask_alone(client, args.tiny, 0)
            rounds.append(row)
            load.append(os.getloadavg()[0])
    client.close()
    cluster.close()
    pool.inner.close()
    ratios = {
        "speed-up processes 2 / local 1": [r["local 1"] / r["processes 2"] for r in rounds],
        "speed-up dask 2 / local 1": [r["local 1"] / r["dask 2"] for r in rounds],
        "dask 2 engine / dask alone": [r["dask 2"] / r["dask alone"] for r in rounds],
        "per task: engine on dask / dask floor": [r["tiny engine dask"] / r["tiny dask floor"] for r in rounds],
        "per task: 1 at a time / dask floor": [r["tiny engine dask, 1 at a time"] / r["tiny dask floor"]
                                               for r in rounds],
    }
    if args.json:
        print(json.dumps({"rounds": rounds, "ratios": ratios, "load": load, "cpus": os.cpu_count(),
                          "args": vars(args)}))
        return
    print(f"fan-out of {args.segments} segments x {args.work} steps, per-task workload {args.tiny} segments; "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {args.rounds} interleaved rounds; "
          f"1-min load {' -> '.join(f'{x:.1f}' for x in load)}")
    for label in rounds[0]:
        walls = [r[label] for r in rounds]
        per = f"  ({statistics.median(walls) / args.tiny * 1000:.2f} ms/task)" if label.startswith("tiny") else ""
        print(f"  {label:32} {spread(walls)} s{per}")
    for label, values in ratios.items():
        print(f"  {label:40} {spread(values)}")


if __name__ == "__main__":
    main()
