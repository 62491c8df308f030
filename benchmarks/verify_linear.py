#!/usr/bin/env python
"""Verification stays linear in the size of the ancestry (issue 14).

Not a test: run it directly.

    .venv/bin/python benchmarks/verify_linear.py [--sizes 1000,10000,100000] [--json]

For each size N, one segment of N ``bench/inc`` steps is run (a chain N executions deep, as in
``trace_depth.py``); then ``node.trust.verify(last, trace=True)`` (what ``verify --trace`` does:
every execution of the ancestry re-executed and checked once) and ``verify_bundle`` of the
exported bundle on a second node are timed once each. Linear work shows as a flat
microseconds-per-execution column.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from trace_depth import inc  # noqa: E402

from catenary.operations.registry import default_registry  # noqa: E402
from catenary.sdk import Node  # noqa: E402


def chain_node(data_dir: Path, size: int) -> tuple[Node, Any]:
    """``trace_depth.chain_node`` on a node whose per-segment cap (10,000) is raised to ``size``."""
    registry = default_registry()
    registry.add(inc)
    node = Node(data_dir, registry=registry, max_sequence=max(size, 10_000))
    step = {"version_id": str(inc.version_id), "config": {}}
    data = {"name": f"chain-{size}", "creators": ["bench"], "description": "", "groups": []}
    wf = node.workflows.create({"data": data | {"segments": [{"inputs": [-1], "sequence": [step] * size}]}})
    _, result = node.runs.run(wf.id, {0: [0]}, fresh=True)
    return node, result


def measure(size: int, bundles: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        node, result = chain_node(Path(tmp) / "a", size)
        started = time.perf_counter()
        report = node.trust.verify(result.final, trace=True)
        trace_s = time.perf_counter() - started
        assert len(report.verdicts) == size and all(v.ok for v in report.verdicts)
        row = {
            "executions": size,
            "verify_trace_s": round(trace_s, 3),
            "verify_trace_us_per_execution": round(trace_s / size * 1e6, 1),
        }
        if bundles:
            buffer = io.BytesIO()
            node.trust.export(result.final, buffer)
            registry = default_registry()
            registry.add(inc)
            other = Node(Path(tmp) / "b", registry=registry, max_sequence=max(size, 10_000))
            started = time.perf_counter()
            checked = other.trust.verify_bundle(buffer.getvalue())
            bundle_s = time.perf_counter() - started
            assert checked.ok
            row |= {
                "verify_bundle_s": round(bundle_s, 3),
                "verify_bundle_us_per_execution": round(bundle_s / size * 1e6, 1),
            }
            other.close()
        node.close()
        return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--no-bundle", action="store_true", help="time verify --trace only")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        rows.append(measure(size, not args.no_bundle))
        if not args.json:
            print(rows[-1], flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
