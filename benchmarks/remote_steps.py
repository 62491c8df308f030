#!/usr/bin/env python
"""Remote steps per second with 1 and 3 executor processes, and the claim latency (from an
execution's ``created_at`` to its ``started_at``, the claim), through task queues (Queue.Claim).

    .venv/bin/python benchmarks/remote_steps.py [--steps 600] [--rounds 4] [--drivers 8]
        [--concurrency 8] [--pg] [--json]

A node (in this process, behind a real gRPC server on loopback) and ``catenary executor``
processes (the Python executor, ``--concurrency`` threads each). Driver threads run one-step
runs of a remote operation (``test/remote-shout``, distinct inputs: nothing is a cache hit), as
many at once as there are drivers; a round times ``--steps`` of them, end to end (the engine
records the step ``created``, an executor claims, fetches the input, runs, reports with its
signed attestation, the engine commits the segment). Rounds alternate 1 and 3 executors, the
order turned each pair, so that a change of machine load hits both alike; each round starts
fresh executor processes (their start-up is not timed) and its own workflow. The load average
is printed at the start of each round. ``--pg`` runs the node on a throwaway PostgreSQL
(tests/pg.py) instead of SQLite. Not a test: it prints figures for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from catenary.api import Server  # noqa: E402
from catenary.model.filter import ExecutionFilter  # noqa: E402
from catenary.sdk import Node  # noqa: E402
from tests.helpers import allow_anonymous, manifest, open_policy  # noqa: E402

REMOTE_OPS = "tests.executors.remote_ops"


def start_executors(address: str, count: int, concurrency: int, home: Path) -> list[subprocess.Popen[str]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    procs = []
    for i in range(count):
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "catenary", "executor", "--node", address, "--operations", REMOTE_OPS]
                + ["--dir", str(home / f"executor-{i}"), "--concurrency", str(concurrency), "--wait", "10"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
        )
    for proc in procs:  # ready once it says what it performs
        assert proc.stderr is not None
        line = proc.stderr.readline()
        if "performing" not in line:
            raise SystemExit(f"an executor did not start: {line}{proc.stderr.read()}")
    return procs


def stop(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.communicate(timeout=60)


def drive(node: Node, workflow: Any, inputs: list[str], drivers: int) -> float:
    """Run one run per input, ``drivers`` at a time; the seconds it took."""
    todo = list(inputs)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def work() -> None:
        while True:
            with lock:
                if not todo:
                    return
                value = todo.pop()
            try:
                node.runs.run(workflow, {0: [value]})
            except Exception as exc:  # reported below
                failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(drivers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise SystemExit(f"{len(failures)} runs failed, e.g. {failures[0]}")
    return time.perf_counter() - start


def one_round(
    node: Node, address: str, executors: int, number: int, args: argparse.Namespace, home: Path
) -> dict[str, Any]:
    load = os.getloadavg()[0]
    wf = node.workflows.create(
        json.dumps(manifest(([-1], ["test/remote-shout"]), name=f"remote-steps-{number}"))
    )
    # The latency phase: fewer runs in flight than executor threads, so that a step never
    # waits for a busy executor: what remains is the hand-out itself.
    idle = node.workflows.create(
        json.dumps(manifest(([-1], ["test/remote-shout"]), name=f"remote-steps-{number}-latency"))
    )
    procs = start_executors(address, executors, args.concurrency, home)
    try:
        seconds = drive(node, wf.id, [f"round {number} step {i}" for i in range(args.steps)], args.drivers)
        drive(node, idle.id, [f"round {number} idle {i}" for i in range(args.latency_steps)], 2)
    finally:
        stop(procs)
    records = list(node.executions.iterate(ExecutionFilter(workflow=wf.id)))
    assert len(records) == args.steps, len(records)
    busy = sorted((e.started_at - e.created_at) / 1e6 for e in records if e.started_at)
    latency = sorted(
        (e.started_at - e.created_at) / 1e6
        for e in node.executions.iterate(ExecutionFilter(workflow=idle.id))
        if e.started_at
    )
    return {
        "executors": executors,
        "load": load,
        "steps_per_s": args.steps / seconds,
        "saturated_claim_p50_ms": statistics.median(busy),
        "claim_p50_ms": statistics.median(latency),
        "claim_p90_ms": latency[int(len(latency) * 0.9)],
        "claim_p99_ms": latency[int(len(latency) * 0.99)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=600, help="remote steps timed per round")
    parser.add_argument("--rounds", type=int, default=4, help="measured rounds per executor count")
    parser.add_argument("--drivers", type=int, default=8, help="runs in flight at once")
    parser.add_argument("--concurrency", type=int, default=8, help="threads of each executor")
    parser.add_argument(
        "--latency-steps", type=int, default=100, help="steps of the latency phase (2 in flight)"
    )
    parser.add_argument("--pg", action="store_true", help="the node on a throwaway PostgreSQL")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="catenary-remote-steps-"))
    data = allow_anonymous(home / "data")
    pg = None
    db = None
    if args.pg:
        from tests.pg import PostgresServer

        pg = PostgresServer.start()
        db = pg.create_database()
    node = Node(data, db=db, operations=[REMOTE_OPS], remote_wait=120)
    server = Server(node, "127.0.0.1:0", policy=open_policy(node)).start()
    rounds: list[dict[str, Any]] = []
    try:
        warm_up = argparse.Namespace(**{**vars(args), "steps": 100, "latency_steps": 10})
        one_round(node, server.address, 1, 0, warm_up, home)
        for pair in range(args.rounds):
            for executors in (1, 3) if pair % 2 == 0 else (3, 1):
                figures = one_round(node, server.address, executors, len(rounds) + 1, args, home)
                rounds.append(figures)
                if not args.json:
                    print(f"round {len(rounds)}: {executors} executor(s)  {_line(figures)}", flush=True)
    finally:
        server.stop(grace=1)
        node.close()
        if pg is not None:
            pg.stop()
    summary = {}
    for executors in (1, 3):
        mine = [r for r in rounds if r["executors"] == executors]
        summary[executors] = {
            key: statistics.median(r[key] for r in mine)
            for key in (
                "steps_per_s",
                "saturated_claim_p50_ms",
                "claim_p50_ms",
                "claim_p90_ms",
                "claim_p99_ms",
            )
        }
    result = {
        "store": "postgresql" if args.pg else "sqlite",
        "cpus": os.cpu_count(),
        "args": vars(args),
        "rounds": rounds,
        "median": summary,
    }
    if args.json:
        print(json.dumps(result, indent=1))
        return
    for executors, figures in summary.items():
        print(f"median, {executors} executor(s): {_line(figures)}")


def _line(f: dict[str, Any]) -> str:
    load = f" (load {f['load']:.1f})" if "load" in f else ""
    return (
        f"{f['steps_per_s']:7.1f} steps/s (saturated: claim p50 {f['saturated_claim_p50_ms']:6.1f} ms)  "
        f"idle: claim p50 {f['claim_p50_ms']:5.2f} ms, p90 {f['claim_p90_ms']:5.2f} ms, "
        f"p99 {f['claim_p99_ms']:6.2f} ms{load}"
    )


if __name__ == "__main__":
    main()
