#!/usr/bin/env python
"""Lineage depth: trace a chain of DEPTH executions, each the parent of the next.

Not a test: run it directly.

    .venv/bin/python benchmarks/trace_depth.py [--depth 10000] [--repeat 5] [--json]

One segment of DEPTH ``bench/inc`` steps is run (one ``next()``), which records a chain
DEPTH executions deep that starts at one event. Then, on that data dir, each measured
REPEAT times (the median is reported):

(a) ``store.lineage(last, "ancestors")``: the one recursive query, rows decoded;
(b) ``node.executions.trace(last)``: the same plus nodes and edges (what ``exec trace`` uses);
(c) ``trace(first, "descendants")``: the whole chain forward from the first execution;
(d) ``trace(last, depth=100)``: a depth-limited ancestor trace.
"""

from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from catenary.operations import Registry, operation
from catenary.operations.registry import default_registry
from catenary.sdk import Node


@operation("bench/inc", inputs=["int"], output="int", description="n + 1", groups=["bench"])
def inc(n: int) -> int:
    return n + 1


def chain_node(data_dir: Path, depth: int) -> tuple[Node, object]:
    """A node whose store holds one chain ``depth`` executions deep; returns (node, last step)."""
    registry: Registry = default_registry()
    registry.add(inc)
    node = Node(data_dir, registry=registry)
    manifest = {"data": {"name": f"chain-{depth}", "creators": ["bench"], "description": "",
                         "groups": [], "segments": [{"inputs": [-1], "sequence": [
                             {"version_id": str(inc.version_id), "config": {}}] * depth}]}}
    wf = node.workflows.create(manifest)
    _, result = node.runs.run(wf.id, {0: [0]}, fresh=True)
    return node, result


def median_time(func, repeat: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        value = func()
        times.append(time.perf_counter() - started)
    return statistics.median(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--depth", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        node, result = chain_node(Path(tmp) / "data", args.depth)
        build = time.perf_counter() - started
        last = result.final
        lineage_s, lineage = median_time(lambda: node.store.lineage(last, "ancestors"), args.repeat)
        trace_s, trace = median_time(lambda: node.executions.trace(last), args.repeat)
        first = trace.nodes[-2].hash  # breadth-first: the event is last, step 0 before it
        down_s, down = median_time(lambda: node.executions.trace(first, "descendants"), args.repeat)
        limited_s, limited = median_time(lambda: node.executions.trace(last, depth=100), args.repeat)
        assert len(lineage.executions) == args.depth and len(lineage.events) == 1
        assert len(trace.nodes) == args.depth + 1 and len(trace.edges) == args.depth
        assert len(down.nodes) == args.depth and len(limited.nodes) == 101
        node.close()
    figures = {
        "depth": args.depth, "build_s": round(build, 3),
        "lineage_ancestors_ms": round(lineage_s * 1000, 1),
        "trace_ancestors_ms": round(trace_s * 1000, 1),
        "trace_descendants_ms": round(down_s * 1000, 1),
        "trace_depth_100_ms": round(limited_s * 1000, 2),
        "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"chain of {args.depth} executions (built in {build:.2f} s), median of {args.repeat}:")
    print(f"  store.lineage ancestors        {figures['lineage_ancestors_ms']:>9} ms")
    print(f"  trace ancestors (nodes+edges)  {figures['trace_ancestors_ms']:>9} ms")
    print(f"  trace descendants of the first {figures['trace_descendants_ms']:>9} ms")
    print(f"  trace ancestors, depth 100     {figures['trace_depth_100_ms']:>9} ms")
    print(f"  (Python {figures['python']}, SQLite {figures['sqlite']}, {platform.machine()})",
          file=sys.stderr)


if __name__ == "__main__":
    main()
