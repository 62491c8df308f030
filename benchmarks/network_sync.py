#!/usr/bin/env python
"""Peer sync: executions replicated and verified per second between two nodes.

Not a test: run it directly.

    .venv/bin/python benchmarks/network_sync.py [--runs 300] [--json]

Two real ``catenary serve`` processes on loopback ports, each with its own data dir and
SQLite file (no shared file). Node A first records RUNS runs of each workload, then node B
adds A as a peer (``catenary peer add``) and the clock runs until B holds every completed
execution of A. Per execution B gets one announcement over gRPC, fetches one proof bundle
over HTTP, checks every block, record, link and signature, re-executes the ancestry, and
stores it in one transaction with its provenance. Workloads:

* ``one-step``: runs of one ``test/inc`` step (each bundle: one execution);
* ``chain``: runs of four steps over two segments (tests/network's CHAIN): a bundle carries
  the execution's ancestry in its run, so later steps cost more to fetch and verify.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from catenary.client import Client  # noqa: E402
from tests.helpers import manifest, query  # noqa: E402
from tests.network.nodes import CHAIN, Served, cli, held  # noqa: E402

WORKLOADS = {"one-step": (manifest(([-1], ["test/inc"])), 1), "chain": (CHAIN, 2)}


def measure(tmp: Path, name: str, runs: int) -> dict[str, float | int | str]:
    document, segments = WORKLOADS[name]
    a = Served(tmp / f"{name}-a").start()
    b = Served(tmp / f"{name}-b").start()
    try:
        with Client(a.address) as client:
            wf = client.workflows.create(json.dumps(document))
            for i in range(runs):
                client.runs.run(wf.id, {s: [i] if s == 0 else [1] for s in range(segments)})
        wanted = held(a)
        started = time.perf_counter()
        cli(b.data_dir, "peer", "add", a.address, "--id", a.id, "--gateway", a.gateway)
        while not wanted <= held(b):
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        peer = json.loads(cli(b.data_dir, "peer", "list", "--json").stdout)["peers"][0]
        assert peer["refused"] == 0 and peer["received"] == len(wanted), peer
        size = query(b.data_dir / "catenary.db", "SELECT count(*) FROM provenance")[0][0]
        return {
            "workload": name,
            "runs": runs,
            "executions": len(wanted),
            "stored_with_provenance": size,
            "seconds": round(seconds, 2),
            "executions_per_s": round(len(wanted) / seconds, 1),
        }
    finally:
        a.kill()
        b.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(Path(tmp), name, args.runs) for name in WORKLOADS]
    if args.json:
        print(json.dumps({"python": platform.python_version(), "results": rows}, indent=2))
        return
    for row in rows:
        print(
            f"{row['workload']:9} {row['executions']:6} executions in {row['seconds']:7.2f} s: "
            f"{row['executions_per_s']:8.1f} replicated and verified per second"
        )


if __name__ == "__main__":
    main()
