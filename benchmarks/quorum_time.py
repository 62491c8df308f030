#!/usr/bin/env python
"""Time to quorum: one run of N executions on an executor, accepted by 2 of 3 validators.

Not a test: run it directly (figures in docs/benchmarks.md, "Network simulation: validators
and quorum (issue 18)").

    .venv/bin/python benchmarks/quorum_time.py [--executions 1000] [--json]

Four real ``catenary serve`` processes on loopback ports, each with its own data dir, SQLite
file and key (tests/network's ``Served``): A executes; B, C and D validate (``[validate]
on_serve``, the same as ``serve --validate``). B, C and D follow A, and A follows B, C and D, so
their attestations reach A over sync (docs/network.md, "Attestations added later"). A's policy
is one ``[[quorum]]``: 2 of B's, C's and D's keys, with ``[sync] reexecute = false`` on every
node as in tests/network/test_quorum_sync.py (the validators re-execute once, as validators).

The workload is one run of N one-step segments (``test/inc`` on the external input ``s``):
a fan-out, so each execution travels alone (no ancestry in its bundle) and N distinct keys are
validated. The clock starts when the run completes on A and stops when all N executions are
``accepted`` on A (one listing per poll, filtered by acceptance on the node).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from catenary.client import Client  # noqa: E402
from catenary.model.enums import Acceptance  # noqa: E402
from catenary.model.filter import ExecutionFilter  # noqa: E402
from tests.helpers import manifest  # noqa: E402
from tests.network.nodes import Served  # noqa: E402

DEFERRED = "\n[sync]\nreexecute = false\n"  # as tests/network/test_quorum_sync.py
MARKS = (0.5, 0.9, 1.0)


def policy(node: Served, extra: str) -> None:
    with (node.data_dir / "policy.toml").open("a") as f:
        f.write(extra)


def measure(tmp: Path, n: int, timeout: float) -> dict[str, Any]:
    a, b, c, d = (Served(tmp / name) for name in "abcd")
    validators = (b, c, d)
    keys = ", ".join(f'"{v.id}"' for v in validators)
    policy(a, DEFERRED + f"\n[[quorum]]\nkeys = [{keys}]\nneed = 2\n")
    for v in validators:
        policy(v, DEFERRED + "\n[validate]\non_serve = true\n")
    try:
        for node in (a, *validators):
            node.start()
        for v in validators:
            v.follow(a)
            a.follow(v)
        document = manifest(*(([-1], ["test/inc"]) for _ in range(n)), name="quorum-time")
        with Client(a.address) as client:
            wf = client.workflows.create(json.dumps(document))
            started = time.perf_counter()
            result = client.runs.run(wf.id, {s: [s] for s in range(n)})
            done = time.perf_counter()
            run_seconds = done - started
            accepted = ExecutionFilter(run=result.state.id, acceptance=Acceptance.ACCEPTED)
            total = sum(1 for _ in client.executions.iterate(ExecutionFilter(run=result.state.id)))
            assert total == n, f"the run recorded {total} executions, not {n}"
            reached: dict[float, float] = {}
            polls = 0
            while len(reached) < len(MARKS):
                count = sum(1 for _ in client.executions.iterate(accepted))
                polls += 1
                now = time.perf_counter() - done
                for mark in MARKS:
                    if mark not in reached and count >= mark * n:
                        reached[mark] = now
                if now > timeout:
                    raise SystemExit(f"timed out after {now:.0f} s: {count} of {n} accepted on a")
                time.sleep(0.5)
        refused = {p["id"]: p["refused"] for p in a.peers().values()}
        assert set(refused.values()) == {0}, refused
        for node in (a, *validators):
            assert "refused" not in node.log(), node.log()
        full = reached[1.0]
        return {
            "executions": n,
            "run_seconds": round(run_seconds, 1),
            "to_50_percent_s": round(reached[0.5], 1),
            "to_90_percent_s": round(reached[0.9], 1),
            "to_100_percent_s": round(full, 1),
            "accepted_per_s": round(n / full, 1),
            "polls": polls,
        }
    finally:
        for node in (a, *validators):
            node.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--executions", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for 100%%")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        row = measure(Path(tmp), args.executions, args.timeout)
    row["load_average_before"] = [round(x, 2) for x in load_before]
    row["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    row["cores"] = os.cpu_count()
    row["python"] = platform.python_version()
    if args.json:
        print(json.dumps(row, indent=2))
        return
    for name, value in row.items():
        print(f"{name:>22}: {value}")


if __name__ == "__main__":
    main()
