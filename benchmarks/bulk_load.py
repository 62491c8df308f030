#!/usr/bin/env python
"""Bulk-load a data dir with N real executions (valid hashes and keys), fast.

    .venv/bin/python benchmarks/bulk_load.py DATA_DIR --executions 1000000

Builds chains of executions (segment 0 of many runs, ``--steps`` per run) of the
``bench/inc`` operation, computing every ``hash`` and ``key`` from its pre-image and
storing every output value, then writes them with the store's own insert path in large
transactions. About 1 in 50 executions is recorded ``failed`` so status filters select.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from catenary.cid import block, cid_of
from catenary.model import Event, Execution, Run, Status, hash_data, key_data
from catenary.operations import operation
from catenary.sdk import Node
from catenary.store import SegmentOutput, StepCommit


@operation("bench/inc", inputs=["int"], output="int", description="n + 1", groups=["bench"])
def inc(n: int) -> int:
    return n + 1


def manifest(steps: int) -> dict:
    return {"data": {"name": f"bulk chain of {steps}", "creators": [], "description": "",
                     "groups": ["bench"],
                     "segments": [{"inputs": [-1], "sequence": [{"op": "bench/inc", "config": {}}] * steps}]}}


def load(data_dir: Path, executions: int, steps: int = 100, progress: bool = True) -> Node:
    node = Node(data_dir)
    node.registry.add(inc)
    node.operations.publish()
    wf = node.workflows.create(manifest(steps))
    version = inc.version_id
    store = node.store
    runs = executions // steps
    started = time.perf_counter()
    now = time.time_ns()
    for r in range(runs):
        run = Run(wf.id, os.urandom(16))
        store.create_run(run, now)
        value = r * 1_000_000
        cid, data = block(value)
        event = Event(run.id, 0, (cid,))
        blocks = [(cid, data)]
        parent, input_cid = event.hash, cid
        records = []
        for step in range(steps):
            out_cid, out_data = block(value + step + 1)
            blocks.append((out_cid, out_data))
            failed = (r * steps + step) % 50 == 49
            h = cid_of(hash_data(wf.id, 0, step, version, {}, [parent], [input_cid]))
            records.append(Execution(
                hash=h, key=cid_of(key_data(version, {}, [input_cid])), workflow=wf.id, run=run.id,
                segment=0, step=step, operation=version, config={}, parents=(parent,),
                inputs=(input_cid,), status=Status.FAILED if failed else Status.COMPLETED,
                output=None if failed else out_cid, error="bulk: planted failure" if failed else None,
                executor=node.id, cached_from=None, created_at=now, started_at=now, finished_at=now,
                seq=0))
            parent, input_cid = h, out_cid
        last = records[-1]
        store.commit_step(StepCommit(
            run=run.id, segment=0, events=[event], executions=records, blocks=blocks,
            output=SegmentOutput(0, last.output or input_cid, last.hash, 0.0),
            run_status="completed", total_time=0.0, error=None, now=now))
        if progress and (r + 1) % max(1, runs // 20) == 0:
            done = (r + 1) * steps
            rate = done / (time.perf_counter() - started)
            print(f"  loaded {done:,}/{runs * steps:,} executions ({rate:,.0f}/s)", file=sys.stderr)
    return node


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--executions", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    load(args.data_dir, args.executions, args.steps).close()
