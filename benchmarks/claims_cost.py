#!/usr/bin/env python
"""Remote claim + report throughput through a real gRPC server on loopback: what one executor
does per execution (``Update(IN_PROGRESS)``, then ``Update(COMPLETED)`` with its signed
attestation), with anonymous calls (a policy that allows them), a signed token per call, and a
session (one signed grant, then an HMAC per call).

    .venv/bin/python benchmarks/claims_cost.py [--executions 500] [--json]

Every report carries the executor's attestation either way (a node refuses a completed report
without one), so "anonymous" still signs one block per execution; "token" adds two tokens,
"session" two HMACs.
The pending executions are made beforehand (one run each, left waiting for an executor) and are
not timed. Each mode runs twice, in turn; the second round is reported, with the load
average. Not a test: it prints figures for docs/benchmarks.md.
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
from tests.helpers import allow_anonymous  # noqa: E402


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


def claim_and_report(client: Client, executor: Identity, executions: list[Execution]) -> tuple[float, float]:
    """(claim+report pairs per second, median ms of signing one attestation)."""
    signing = []
    t = time.perf_counter()
    for e in executions:
        client.executions.update(e.hash, Status.IN_PROGRESS, executor.id, lease=60)
        output = e.segment + len(e.inputs)  # any int: the operation declares int
        s = time.perf_counter()
        attestation = report(executor, e.hash, e.key, output)
        signing.append((time.perf_counter() - s) * 1000)
        client.executions.update(
            e.hash, Status.COMPLETED, executor.id, output=output, attestation=attestation
        )
    return len(executions) / (time.perf_counter() - t), statistics.median(signing)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--executions", type=int, default=500, help="claimed and reported per measured round")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = allow_anonymous(Path(tempfile.mkdtemp(prefix="catenary-claims-bench-")) / "data")
    node = Node(data, remote_wait=0)
    version = node.operations.register_remote(
        OperationManifest(name="bench/remote", inputs=("int",), output="int")
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
    # (mode, key, sessions): a token signed per call, or one session grant then an HMAC per call.
    modes = (("anonymous", None, False), ("token", executor, False), ("session", executor, True))
    rounds = modes * 2  # warm, then measure
    batches = [pending(node, workflow, i * args.executions, args.executions) for i in range(len(rounds))]
    server = Server(node, "127.0.0.1:0", max_workers=16).start()
    figures: dict[str, float] = {}
    try:
        for (name, key, sessions), batch in zip(rounds, batches):
            with Client(server.address, key=key, sessions=sessions) as client:
                figures[f"{name}_claims_per_s"], figures["attestation_sign_ms"] = claim_and_report(
                    client, executor, batch
                )
    finally:
        server.stop(grace=1)
        node.close()
    for mode in ("token", "session"):
        figures[f"{mode}_rate_loss"] = 1 - figures[f"{mode}_claims_per_s"] / figures["anonymous_claims_per_s"]
    figures["load_average_1m"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(figures))
    else:
        for k, v in figures.items():
            print(f"{k:24} {v:.4f}")


if __name__ == "__main__":
    main()
