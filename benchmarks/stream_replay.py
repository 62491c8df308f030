#!/usr/bin/env python
"""Execution.Updates replay: executions/s streamed to one subscriber over loopback.

    .venv/bin/python benchmarks/stream_replay.py DATA_DIR [--count 100000] [--rounds 3]

Serves DATA_DIR (a data dir with at least ``--count`` executions, e.g. from
benchmarks/bulk_load.py) with ``catenary.api.Server`` on 127.0.0.1 in this process and replays
the newest ``--count`` executions to one Python client, batched (the client's default) and one
per message (``batch=0``: what buf curl and older clients get), alternating, ``--rounds`` times.
Server and client share this process, so the CPU time (``time.process_time``) of a replay is
all the work of both ends: its rate is the figure a loaded machine distorts least.

Runs against an older tree too (PYTHONPATH=that tree), whose client has no ``batch``: then
only the one-per-message replay is measured.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

from catenary.api import Server
from catenary.client import Client
from catenary.sdk import Node


def replay(client: Client, start: int, count: int, batch: int | None) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, of which this thread's: the client's) to receive ``count``
    executions after seq ``start``."""
    kwargs = {} if batch is None else {"batch": batch}
    stop = threading.Event()
    received = 0
    cpu, wall, mine = time.process_time(), time.perf_counter(), time.thread_time()
    for _ in client.executions.updates(since_seq=start, stop=stop, **kwargs):
        received += 1
        if received == count:
            break
    wall, cpu, mine = time.perf_counter() - wall, time.process_time() - cpu, time.thread_time() - mine
    stop.set()
    return wall, cpu, mine


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--count", type=int, default=100_000, help="executions per replay (100,000)")
    parser.add_argument("--rounds", type=int, default=3, help="replays of each kind, alternating (3)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    node = Node(args.data_dir)
    top = node.executions.latest_seq()
    if top < args.count:
        parser.error(f"{args.data_dir} has {top:,} changes, fewer than --count {args.count:,}")
    server = Server(node, "127.0.0.1:0").start()
    client = Client(server.address, key=node.identity)
    batched = "batch" in inspect.signature(client.executions.updates).parameters
    kinds: dict[str, int | None] = (
        {"batched (500)": 500, "one per message": 0} if batched else {"one per message": None}
    )
    samples: dict[str, list[tuple[float, float, float]]] = {k: [] for k in kinds}
    load_before = os.getloadavg()
    replay(client, top - 1000, 1000, 0 if batched else None)  # warm-up: connections, caches
    for _ in range(args.rounds):
        for kind, batch in kinds.items():
            samples[kind].append(replay(client, top - args.count, args.count, batch))
    load_after = os.getloadavg()
    client.close()
    server.stop(grace=1)
    node.close()
    report = {
        kind: {
            "wall_per_s": [args.count / w for w, _, _ in s],
            "cpu_per_s": [args.count / c for _, c, _ in s],
            "cpu_us_per_execution": [c * 1e6 / args.count for _, c, _ in s],
            "client_cpu_us_per_execution": [m * 1e6 / args.count for _, _, m in s],
        }
        for kind, s in samples.items()
    }
    if args.json:
        print(json.dumps({"count": args.count, "load": [load_before, load_after], "replays": report}))
        return 0
    print(
        f"Updates replay of {args.count:,} executions, {args.rounds} rounds, load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after ({os.cpu_count()} CPUs)"
    )
    for kind, figures in report.items():
        wall, cpu = figures["wall_per_s"], figures["cpu_per_s"]
        print(
            f"  {kind:16} wall {statistics.median(wall):7,.0f}/s ({min(wall):,.0f}-{max(wall):,.0f}), "
            f"CPU {statistics.median(cpu):7,.0f}/s ({min(cpu):,.0f}-{max(cpu):,.0f}), "
            f"{statistics.median(figures['cpu_us_per_execution']):.1f} us CPU per execution, "
            f"{statistics.median(figures['client_cpu_us_per_execution']):.1f} of them the client's"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
