#!/usr/bin/env python
"""Proof bundles at scale: export and verify-bundle of a trace of EXECUTIONS executions.

Not a test: run it directly.

    .venv/bin/python benchmarks/bundle.py [--executions 10000] [--json]

One segment of EXECUTIONS ``bench/inc`` steps is run on data dir A (a chain: each
execution's input is the previous one's output, so the last one's ancestry is all of them,
each with its signed executor attestation). Then it measures:

(a) ``export``: the last execution's bundle written to a CAR file (lineage query, blocks,
    attestations, write);
(b) ``verify-bundle`` on a fresh data dir B: parse, every block's CID, every record's hash
    and key, every link, every signature, and one re-execution per execution; reported as
    executions verified per second;
(c) ``import`` on B: the same verification, then one transaction.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from trace_depth import chain_node, inc  # noqa: E402

from catenary.operations.registry import default_registry  # noqa: E402
from catenary.sdk import Node  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--executions", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    n = args.executions
    with tempfile.TemporaryDirectory() as tmp:
        a, result = chain_node(Path(tmp) / "a", n)
        started = time.perf_counter()
        buffer = io.BytesIO()
        counts = a.trust.export(result.final, buffer)
        export_s = time.perf_counter() - started
        data = buffer.getvalue()
        a.close()

        registry = default_registry()
        registry.add(inc)
        b = Node(Path(tmp) / "b", registry=registry)
        started = time.perf_counter()
        report = b.trust.verify_bundle(data)
        verify_s = time.perf_counter() - started
        assert report.ok, report.summary()
        assert len(report.verdicts) == n
        started = time.perf_counter()
        _, imported = b.trust.import_bundle(data)
        import_s = time.perf_counter() - started
        assert imported["executions"] == n
        b.close()
    figures = {
        "executions": n,
        "blocks": counts["blocks"],
        "car_bytes": len(data),
        "export_s": round(export_s, 3),
        "verify_bundle_s": round(verify_s, 3),
        "verified_per_s": round(n / verify_s),
        "import_s": round(import_s, 3),
        "python": platform.python_version(),
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"trace of {n} executions: {counts['blocks']} blocks, {len(data) / 1e6:.1f} MB CAR")
    print(f"  export            {export_s:8.2f} s")
    print(f"  verify-bundle     {verify_s:8.2f} s   {figures['verified_per_s']} executions verified/s")
    print(f"  import (verify + one transaction) {import_s:8.2f} s")


if __name__ == "__main__":
    main()
