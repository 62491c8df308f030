#!/usr/bin/env python
"""The cost of authenticated calls: Get p50 and Value.Put calls/s through a real gRPC server on
loopback, anonymous (a policy that allows it) against one signed token per call and against
a session (one signed grant, then an HMAC per call).

    .venv/bin/python benchmarks/auth_cost.py [--samples 2000] [--rounds 5] [--json]

The three modes take turns in batches of 50 calls within each round (after one warm-up
round), so that a change of machine load hits them alike; each round's ratios to the
anonymous figures are printed with the load average at its start. Each mode has its own
client, opened once: a session is opened by the first call and reused, as in a program.
Puts are timed one by one too: their p50 is steadier than their rate when the load changes;
the process CPU time per Get (client and server share this process) is steadier still.
Not a test: it prints figures for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
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

MODES = ("anonymous", "token", "session")


def measure(clients: dict[str, Client], execution, samples: int, batch: int = 50) -> dict[str, float]:
    """One round: batches of ``batch`` Gets, then of Puts, taking the modes in turn, so that
    a change of load during the round hits every mode alike."""
    gets: dict[str, list[float]] = {mode: [] for mode in clients}
    puts: dict[str, list[float]] = {mode: [] for mode in clients}
    cpu = dict.fromkeys(clients, 0.0)  # process CPU (client and server threads) spent on Gets
    for _ in range(samples // batch):
        for calls, call in (
            (gets, lambda c, i: c.executions.get(execution)),
            (puts, lambda c, i: c.values.put(i)),
        ):
            for mode, client in clients.items():
                started = time.process_time()
                for i in range(batch):
                    t = time.perf_counter()
                    call(client, i)
                    calls[mode].append(time.perf_counter() - t)
                if calls is gets:
                    cpu[mode] += time.process_time() - started
    figures = {}
    for mode in clients:
        figures[f"{mode}_get_p50_ms"] = statistics.median(gets[mode]) * 1000
        figures[f"{mode}_get_cpu_ms"] = cpu[mode] / len(gets[mode]) * 1000
        figures[f"{mode}_put_per_s"] = len(puts[mode]) / sum(puts[mode])
        figures[f"{mode}_put_p50_ms"] = statistics.median(puts[mode]) * 1000
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
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
    rounds = []
    clients = {
        mode: Client(
            server.address, key=None if mode == "anonymous" else node.identity, sessions=mode == "session"
        )
        for mode in MODES
    }
    try:
        for number in range(args.rounds + 1):  # round 0 warms up and is not reported
            load = os.getloadavg()[0]
            figures = {"load": load, **measure(clients, final, args.samples)}
            for mode in MODES[1:]:
                figures[f"{mode}_get_ratio"] = figures[f"{mode}_get_p50_ms"] / figures["anonymous_get_p50_ms"]
                figures[f"{mode}_get_cpu_ratio"] = (
                    figures[f"{mode}_get_cpu_ms"] / figures["anonymous_get_cpu_ms"]
                )
                figures[f"{mode}_put_ratio"] = figures[f"{mode}_put_per_s"] / figures["anonymous_put_per_s"]
                figures[f"{mode}_put_p50_ratio"] = (
                    figures[f"{mode}_put_p50_ms"] / figures["anonymous_put_p50_ms"]
                )
            if number:
                rounds.append(figures)
                if not args.json:
                    print(
                        f"round {number}: " + "  ".join(f"{k} {v:.3f}" for k, v in figures.items()),
                        flush=True,
                    )
    finally:
        for client in clients.values():
            client.close()
        server.stop(grace=1)
        node.close()
    summary = {
        f"median_{name}": statistics.median(r[name] for r in rounds)
        for name in (f"{m}_{r}_ratio" for m in MODES[1:] for r in ("get", "get_cpu", "put", "put_p50"))
    }
    if args.json:
        print(json.dumps({"rounds": rounds, **summary}))
    else:
        for k, v in summary.items():
            print(f"{k:26} {v:.3f}")


if __name__ == "__main__":
    main()
