"""Speed-up of a CPU-heavy fan-out workflow on a Dask cluster of 2 workers vs the local executor.

A benchmark script, not a timed test (figures in docs/benchmarks.md):

    .venv/bin/python benchmarks/dask_speedup.py [--runs 16] [--threads 4] [--work 1500000] [--json]

The workflow has one segment, ``bench/burn`` (a pure-Python loop: it holds the GIL) or
``bench/digest`` (SHA-256 of 16 MiB it generates, fed ``--digest-work`` times: hashlib releases the GIL). ``--runs`` runs
with distinct seeds are stepped by ``--threads`` threads of one node (fan-out across runs; a run
is one ``next()``), each mode on a fresh data dir:

- local, 1 thread: the runs one after the other, in this process;
- local, N threads: the same runs from N threads, operations in this process;
- dask, N threads: the same runs from N threads, operations on a ``LocalCluster`` of 2
  single-threaded worker processes (started and warmed up before the clock starts).

Every mode must record the same execution keys and outputs; the script checks it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catenary.engine.executor import DaskExecutor, LocalExecutor  # noqa: E402
from catenary.model.filter import ExecutionFilter  # noqa: E402
from catenary.operations import Registry, default_registry, operation  # noqa: E402
from catenary.sdk import Node  # noqa: E402


@operation("bench/burn", inputs=["int"], output="int", config={"work": []}, groups=["bench"])
def burn(seed: int, work: str) -> int:
    """A pure-Python loop of ``work`` steps (a linear congruential generator): holds the GIL."""
    x = seed
    for _ in range(int(work)):
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
    return x >> 1


@operation("bench/digest", inputs=["int"], output="bytes", config={"work": []}, groups=["bench"])
def digest(seed: int, work: str) -> bytes:
    """SHA-256 of 16 MiB made from the seed, fed ``work`` times (hashlib releases the GIL)."""
    data = seed.to_bytes(8, "little") * (2 * 1024 * 1024)
    state = hashlib.sha256()
    for _ in range(int(work)):
        state.update(data)
    return state.digest()


def manifest(op: str, work: int) -> str:
    return json.dumps({"data": {"name": f"fan-{op}", "creators": ["bench"], "description": "",
                                "groups": [], "segments": [{"inputs": [-1], "sequence": [
                                    {"op": op, "config": {"work": str(work)}}]}]}})


def registry() -> Registry:
    reg = default_registry()
    reg.add(burn)
    reg.add(digest)
    return reg


def measure(base: Path, name: str, executor: Any, op: str, work: int, seeds: list[int], threads: int
            ) -> tuple[float, dict[int, tuple[str, str]]]:
    """Wall seconds to run every seed, and seed -> (key, output) of what was recorded."""
    node = Node(base / name, registry=registry(), executor=executor)
    try:
        wf = node.workflows.create(manifest(op, work))
        if isinstance(executor, DaskExecutor):  # start the cluster and ship the code first
            node.runs.run(wf.id, {0: [0]})
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            states = list(pool.map(lambda seed: node.runs.run(wf.id, {0: [seed]})[0], seeds))
        wall = time.perf_counter() - started
        recorded = {}
        for seed, state in zip(seeds, states):
            [e] = node.executions.list(ExecutionFilter(run=state.id)).executions
            recorded[seed] = (str(e.key), str(e.output))
        return wall, recorded
    finally:
        node.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=16)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--work", type=int, default=1_500_000, help="loop steps of bench/burn")
    parser.add_argument("--digest-work", type=int, default=16, help="16 MiB blocks bench/digest hashes")
    parser.add_argument("--repeat", type=int, default=3, help="best of N, each on a fresh data dir")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    seeds = list(range(1, args.runs + 1))
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for op, work in (("bench/burn", args.work), ("bench/digest", args.digest_work)):
            modes = [("local, 1 thread", LocalExecutor(), 1),
                     (f"local, {args.threads} threads", LocalExecutor(), args.threads),
                     (f"dask ({args.workers} workers), {args.threads} threads",
                      DaskExecutor(cluster={"n_workers": args.workers, "threads_per_worker": 1,
                                            "processes": True, "silence_logs": 50}),
                      args.threads)]
            reference = None
            for index, (label, executor, threads) in enumerate(modes):
                walls = []
                for attempt in range(args.repeat):
                    wall, recorded = measure(Path(tmp), f"{op.replace('/', '-')}-{index}-{attempt}", executor,
                                             op, work, seeds, threads)
                    walls.append(wall)
                executor.close()
                wall = min(walls)
                if reference is None:
                    reference = (wall, recorded)
                assert recorded == reference[1], f"{label}: keys or outputs differ from the local run"
                results.append({"operation": op, "work": work, "mode": label, "runs": len(seeds),
                                "wall_s": wall, "runs_per_s": len(seeds) / wall,
                                "speedup": reference[0] / wall})
    if args.json:
        print(json.dumps({"results": results, "cpus": os.cpu_count(),
                          "python": platform.python_version(), "load": os.getloadavg()}))
        return
    print(f"fan-out of {args.runs} one-segment runs; {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}; best of {args.repeat}; same keys and outputs in every mode")
    print(f"  {'operation':14} {'mode':32} {'wall':>8} {'runs/s':>8} {'speed-up':>9}")
    for r in results:
        print(f"  {r['operation']:14} {r['mode']:32} {r['wall_s']:7.2f}s {r['runs_per_s']:8.2f} "
              f"{r['speedup']:8.2f}x")
    print(f"  load average at the end (1/5/15 min): {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
