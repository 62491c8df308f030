#!/usr/bin/env python
"""The cost of authenticated calls: Get p50 and Value.Put calls/s through a real gRPC server on
loopback, anonymous (a policy that allows it) against one signed token per call.

    .venv/bin/python benchmarks/auth_cost.py [--samples 2000] [--json]

Not a test: it prints figures for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from catenary.api import Server  # noqa: E402
from catenary.client import Client  # noqa: E402
from catenary.sdk import Node  # noqa: E402
from tests.helpers import allow_anonymous  # noqa: E402


def measure(client: Client, execution, samples: int) -> tuple[float, float]:
    gets = []
    for _ in range(samples):
        t = time.perf_counter()
        client.executions.get(execution)
        gets.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    for i in range(samples):
        client.values.put(i)
    return statistics.median(gets), samples / (time.perf_counter() - t)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    node = Node(allow_anonymous(Path(tempfile.mkdtemp(prefix="catenary-auth-bench-")) / "data"))
    wf = node.workflows.create(
        {
            "data": {
                "name": "b",
                "creators": [],
                "description": "",
                "groups": [],
                "segments": [{"inputs": [-1], "sequence": [{"op": "std/hash", "config": {}}]}],
            }
        }
    )
    final = node.runs.run(wf.id, {0: [b"x"]})[1].final
    server = Server(node, "127.0.0.1:0", max_workers=32).start()
    figures = {}
    try:
        for name, key in (("anonymous", None), ("token", node.identity)) * 2:  # warm, then measure
            with Client(server.address, key=key) as client:
                figures[f"{name}_get_p50_ms"], figures[f"{name}_put_per_s"] = measure(
                    client, final, args.samples
                )
    finally:
        server.stop(grace=1)
        node.close()
    figures["get_p50_overhead"] = figures["token_get_p50_ms"] / figures["anonymous_get_p50_ms"] - 1
    figures["put_rate_loss"] = 1 - figures["token_put_per_s"] / figures["anonymous_put_per_s"]
    if args.json:
        print(json.dumps(figures))
    else:
        for k, v in figures.items():
            print(f"{k:24} {v:.4f}")


if __name__ == "__main__":
    main()
