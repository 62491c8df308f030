#!/usr/bin/env python
"""Remote claim + report throughput through a real gRPC server on loopback: what one executor
does per execution (``Update(IN_PROGRESS)``, then ``Update(COMPLETED)`` with its signed
attestation), with anonymous calls (a policy that allows them), a signed token per call, and a
session (one signed grant, then an HMAC per call).

    .venv/bin/python benchmarks/claims_cost.py [--executions 200] [--rounds 5] [--scoped] [--json]

Every report carries the executor's attestation either way (a node refuses a completed report
without one), so "anonymous" still signs one block per execution; "token" adds two tokens,
"session" two HMACs. A fourth mode, "control", is a second anonymous client: its ratio to
"anonymous" is what the noise alone makes of a difference.

The pending executions are made beforehand (one run each, left waiting for an executor) and are
not timed. Within a round the modes take turns in batches of ``--batch`` executions, in an
order rotated each batch, so that a change of machine load, or coming after another mode,
hits them alike; the first round warms up and is not reported. Each round gives the ratios to
"anonymous" of the rate and of the process CPU time per claim (client and server share this
process; CPU time is steadier than the rate when the load moves), with the load average at its
start; the summary gives their median and range over the rounds. A mode's rate is one over
its median claim + report time (a sequential executor's rate, without the stalls that other
processes cause on a shared machine), its CPU time the sum over its batches. ``--scoped`` names the
operation in the claim rule, so that every call's policy decision needs the claimed
execution's operation (all modes alike). Not a test: it prints figures for docs/benchmarks.md.
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
from catenary.cid import CID  # noqa: E402
from catenary.client import Client  # noqa: E402
from catenary.errors import ExecutionPendingError  # noqa: E402
from catenary.model import Execution, OperationManifest, Status  # noqa: E402
from catenary.sdk import Node  # noqa: E402
from catenary.trust.attestation import report  # noqa: E402
from catenary.trust.identity import Identity  # noqa: E402
from tests.helpers import OPEN_POLICY, allow_anonymous  # noqa: E402

MODES = ("anonymous", "token", "session", "control")
OPERATION = "bench/remote"


def pending(node: Node, workflow: CID, first: int, count: int) -> list[Execution]:
    """``count`` executions waiting for an executor, from runs on inputs first..first+count-1
    (distinct, so none is a cache hit)."""
    found = []
    for i in range(first, first + count):
        try:
            node.runs.next(node.runs.new(workflow).id, [i])
        except ExecutionPendingError as exc:
            found.append(exc.execution)
    return found


def claim_and_report(client: Client, executor: Identity, executions: list[Execution]) -> list[float]:
    """Claims and reports each execution; the seconds each pair took."""
    times = []
    for e in executions:
        t = time.perf_counter()
        client.executions.update(e.hash, Status.IN_PROGRESS, executor.id, lease=60)
        output = e.segment + len(e.inputs)  # any int: the operation declares int
        client.executions.update(
            e.hash,
            Status.COMPLETED,
            executor.id,
            output=output,
            attestation=report(executor, e.hash, e.key, output),
        )
        times.append(time.perf_counter() - t)
    return times


def measure(
    clients: dict[str, Client], executor: Identity, work: dict[str, list[Execution]], batch: int
) -> dict[str, float]:
    """One round: each mode's executions in batches of ``batch``, the modes in turn. A mode's
    rate is one over its median claim + report: a stall (another process taking the core)
    then costs the pairs it hit, not the mode."""
    wall: dict[str, list[float]] = {mode: [] for mode in clients}
    cpu = dict.fromkeys(clients, 0.0)
    count = len(next(iter(work.values())))
    for number, start in enumerate(range(0, count, batch)):
        order = list(clients)[number % len(clients) :] + list(clients)[: number % len(clients)]
        for mode in order:
            c = time.process_time()
            wall[mode] += claim_and_report(clients[mode], executor, work[mode][start : start + batch])
            cpu[mode] += time.process_time() - c
    figures: dict[str, float] = {}
    for mode in clients:
        figures[f"{mode}_claims_per_s"] = 1 / statistics.median(wall[mode])
        figures[f"{mode}_cpu_ms"] = cpu[mode] / count * 1000
    for mode in MODES[1:]:
        figures[f"{mode}_rate_ratio"] = figures[f"{mode}_claims_per_s"] / figures["anonymous_claims_per_s"]
        figures[f"{mode}_cpu_ratio"] = figures[f"{mode}_cpu_ms"] / figures["anonymous_cpu_ms"]
    return figures


def scoped_policy() -> str:
    """OPEN_POLICY with the claim rule limited to the benchmark's operation."""
    open_claim = '[[rules.claim]]\nkeys = ["self", "any", "anonymous"]\n'
    assert open_claim in OPEN_POLICY
    return OPEN_POLICY.replace(open_claim, f'{open_claim}operations = ["{OPERATION}"]\n')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--executions", type=int, default=200, help="claimed and reported per mode and round")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (after one warm-up round)")
    parser.add_argument("--batch", type=int, default=10, help="executions per turn of a mode")
    parser.add_argument("--scoped", action="store_true", help="a claim rule naming the operation")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = allow_anonymous(Path(tempfile.mkdtemp(prefix="catenary-claims-bench-")) / "data")
    if args.scoped:
        (data / "policy.toml").write_text(scoped_policy())
    node = Node(data, remote_wait=0)
    version = node.operations.register_remote(
        OperationManifest(name=OPERATION, inputs=("int",), output="int")
    ).version_id
    workflow = node.workflows.create(
        {
            "data": {
                "name": "claims",
                "creators": [],
                "description": "",
                "groups": [],
                "segments": [{"inputs": [-1], "sequence": [{"version_id": str(version), "config": {}}]}],
            }
        }
    ).id
    executor = Identity.generate()
    work = []
    for number in range(args.rounds + 1):
        first = number * len(MODES) * args.executions
        work.append(
            {
                mode: pending(node, workflow, first + i * args.executions, args.executions)
                for i, mode in enumerate(MODES)
            }
        )
    server = Server(node, "127.0.0.1:0", max_workers=16).start()
    # Each mode has its own client, opened once: a session opens on the first call and is reused.
    clients = {
        mode: Client(
            server.address, key=executor if mode in ("token", "session") else None, sessions=mode == "session"
        )
        for mode in MODES
    }
    rounds = []
    try:
        for number, round_work in enumerate(work):  # round 0 warms up and is not reported
            figures = {"load": os.getloadavg()[0], **measure(clients, executor, round_work, args.batch)}
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
    summary: dict[str, float] = {}
    for name in (f"{m}_{r}_ratio" for m in MODES[1:] for r in ("rate", "cpu")):
        values = [r[name] for r in rounds]
        summary[f"median_{name}"] = statistics.median(values)
        summary[f"min_{name}"], summary[f"max_{name}"] = min(values), max(values)
    summary["median_anonymous_claims_per_s"] = statistics.median(r["anonymous_claims_per_s"] for r in rounds)
    if args.json:
        print(json.dumps({"scoped": args.scoped, "rounds": rounds, **summary}))
    else:
        for k, v in summary.items():
            print(f"{k:34} {v:.3f}")


if __name__ == "__main__":
    main()
