#!/usr/bin/env python
"""Engine throughput: a workflow of SEGMENTS x STEPS trivial operations, recorded and committed.

Not a test: run it directly (``make bench`` runs it with the defaults).

    .venv/bin/python benchmarks/engine_throughput.py [--segments 100] [--steps 100] [--json]

What it measures, each on a fresh data directory in a temporary directory:

(a) fresh run: ``new()`` then ``next()`` until done on a workflow whose segment 0 takes
    ``[-1]`` and segment i takes ``[i-1]``, every step an int increment. Every execution is
    run, recorded and committed (one transaction per ``next()``). Reports executions/s,
    the per-execution overhead in ms, and the RSS high-water mark of the process.
(b) the Python heap peak (tracemalloc) of the same fresh run, in a second pass on a new data
    dir (tracemalloc slows Python down, so it is timed apart from (a)); skip with
    ``--no-tracemalloc``.
(c) cache hits: the same workflow run again on the data dir of (a); every execution is a
    memo hit (same key), recorded as a new ``completed`` execution with ``cached_from``.
(d) the floor: the same number of rows of the executions table shape inserted into the same
    schema with ``executemany`` and committed per STEPS rows (one transaction per segment,
    like the engine), plus the same number of DAG-CBOR + blake2b-256 hashes as the engine
    computes (two per execution: ``hash`` and ``key`` pre-images of the same shape).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from catenary.cid import CID, cid_of
from catenary.model import hash_data, key_data
from catenary.operations import Registry, operation
from catenary.operations.registry import default_registry
from catenary.sdk import Node
from catenary.store.sqlite import _COLUMNS, MIGRATIONS


@operation("bench/inc", inputs=["int"], output="int", description="n + 1", groups=["bench"])
def inc(n: int) -> int:
    return n + 1


def _registry() -> Registry:
    registry = default_registry()
    registry.add(inc)
    return registry


def _manifest(segments: int, steps: int) -> dict:
    sequence = [{"version_id": str(inc.version_id), "config": {}} for _ in range(steps)]
    return {"data": {
        "name": f"bench-{segments}x{steps}", "creators": [], "description": "engine throughput",
        "groups": ["bench"],
        "segments": [{"inputs": [-1] if i == 0 else [i - 1], "sequence": sequence}
                     for i in range(segments)],
    }}


def _maxrss_mib() -> float:
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def _run(node: Node, workflow_id: CID, segments: int) -> tuple[float, float, object]:
    """new() + next() until done; returns (wall seconds, CPU seconds, last StepResult)."""
    gc.collect()
    cpu = time.process_time()
    started = time.perf_counter()
    state = node.runs.new(workflow_id)
    result = node.runs.next(state.id, [0])
    for _ in range(1, segments):
        result = node.runs.next(state.id)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    assert result.done, "the run did not finish"
    return elapsed, cpu, result


def _count(node: Node, run_id: CID) -> tuple[int, int]:
    """(executions recorded for the run, of which cached) straight from the DB file."""
    db = sqlite3.connect(str(node.data_dir / "catenary.db"))
    try:
        total, cached = db.execute(
            "SELECT count(*), count(cached_from) FROM executions WHERE run = ? AND status = 'completed'",
            (run_id.cid_bytes,)).fetchone()
    finally:
        db.close()
    return total, cached


def bench_engine(root: Path, segments: int, steps: int) -> dict:
    """One fresh run then one all-hits run, on a new data dir under ``root``."""
    total = segments * steps
    node = Node(root, registry=_registry())
    workflow = node.workflows.create(_manifest(segments, steps))
    rss_before = _maxrss_mib()

    fresh_s, fresh_cpu, fresh = _run(node, workflow.id, segments)
    rss_after = _maxrss_mib()
    recorded, cached = _count(node, fresh.run)
    assert recorded == total and cached == 0, (recorded, cached)
    assert node.values.get(node.executions.get(fresh.final).output) == total

    hits_s, hits_cpu, again = _run(node, workflow.id, segments)
    recorded_hits, cached_hits = _count(node, again.run)
    assert recorded_hits == total and cached_hits == total, (recorded_hits, cached_hits)
    node.close()
    db_size = sum(p.stat().st_size for p in root.glob("catenary.db*"))
    return {"fresh_seconds": fresh_s, "fresh_cpu_seconds": fresh_cpu, "hits_seconds": hits_s,
            "hits_cpu_seconds": hits_cpu, "rss_before_mib": rss_before, "rss_peak_mib": rss_after,
            "db_bytes": db_size}


def bench_engine_repeated(root: Path, segments: int, steps: int, repeat: int) -> dict:
    """``repeat`` times :func:`bench_engine`; rates from the best (fastest) repetition, since on a
    shared machine the noise only ever slows a run down. Medians and every sample are kept too."""
    total = segments * steps
    samples = [bench_engine(root / f"engine-{i}", segments, steps) for i in range(repeat)]
    out: dict = {"executions": total, "repeat": repeat}
    for name in ("fresh", "hits"):
        wall = sorted(s[f"{name}_seconds"] for s in samples)
        cpu = sorted(s[f"{name}_cpu_seconds"] for s in samples)
        out.update({
            f"{name}_seconds": wall[0],
            f"{name}_median_seconds": wall[len(wall) // 2],
            f"{name}_cpu_seconds": cpu[0],
            f"{name}_per_s": total / wall[0],
            f"{name}_median_per_s": total / wall[len(wall) // 2],
            f"{name}_cpu_per_s": total / cpu[0],
            f"{name}_overhead_ms": wall[0] * 1000 / total,
            f"{name}_samples_per_s": [total / s[f"{name}_seconds"] for s in samples],
        })
    out["rss_before_mib"] = samples[0]["rss_before_mib"]
    out["rss_peak_mib"] = max(s["rss_peak_mib"] for s in samples)
    out["db_bytes"] = samples[-1]["db_bytes"]
    return out


def bench_tracemalloc(root: Path, segments: int, steps: int) -> dict:
    node = Node(root / "traced", registry=_registry())
    workflow = node.workflows.create(_manifest(segments, steps))
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    _run(node, workflow.id, segments)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    node.close()
    return {"heap_peak_mib": peak / (1024 * 1024)}


def _fake_cid(i: int, salt: bytes) -> CID:
    # Same shape as the engine's CIDs: CIDv1 dag-cbor blake2b-256 (38 bytes).
    import hashlib
    return CID(bytes([0x01, 0x71, 0xA0, 0xE4, 0x02, 0x20])
               + hashlib.blake2b(salt + i.to_bytes(8, "big"), digest_size=32).digest())


def bench_floor(root: Path, segments: int, steps: int) -> dict:
    from catenary.cid import encode

    total = segments * steps
    workflow, run, op = _fake_cid(0, b"w"), _fake_cid(0, b"r"), _fake_cid(0, b"o")
    hashes = [_fake_cid(i, b"h") for i in range(total)]
    keys = [_fake_cid(i, b"k") for i in range(total)]
    outputs = [_fake_cid(i, b"v") for i in range(total)]
    now = time.time_ns()
    rows = [(hashes[i].cid_bytes, keys[i].cid_bytes, workflow.cid_bytes, run.cid_bytes,
             i // steps, i % steps, op.cid_bytes, encode({}),
             encode([hashes[i - 1] if i else outputs[0]]), encode([outputs[i - 1] if i else outputs[0]]),
             "completed", outputs[i].cid_bytes, None, "node-bench", None, now, now, now, i + 1)
            for i in range(total)]

    # (1) SQLite: same schema, same pragmas, executemany + commit per segment.
    db = sqlite3.connect(str(root / "floor.db"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    for statement in MIGRATIONS[0].split(";"):
        if statement.strip():
            db.execute(statement)
    sql = f"INSERT INTO executions ({_COLUMNS}) VALUES ({', '.join('?' * 19)})"
    gc.collect()
    started = time.perf_counter()
    for first in range(0, total, steps):
        db.execute("BEGIN IMMEDIATE")
        db.executemany(sql, rows[first:first + steps])
        db.execute("COMMIT")
    sqlite_s = time.perf_counter() - started
    db.close()

    # (2) hashing: the two pre-images of every execution, DAG-CBOR encoded and blake2b-hashed.
    preimages = []
    for i in range(total):
        inputs = [outputs[i - 1] if i else outputs[0]]
        preimages.append(key_data(op, {}, inputs))
        preimages.append(hash_data(workflow, i // steps, i % steps, op, {},
                                   [hashes[i - 1] if i else outputs[0]], inputs))
    gc.collect()
    started = time.perf_counter()
    for data in preimages:
        cid_of(data)
    hash_s = time.perf_counter() - started
    return {
        "sqlite_seconds": sqlite_s,
        "sqlite_rows_per_s": total / sqlite_s,
        "hash_seconds": hash_s,
        "hashes": len(preimages),
        "hashes_per_s": len(preimages) / hash_s,
        "floor_seconds": sqlite_s + hash_s,
        "floor_per_s": total / (sqlite_s + hash_s),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--segments", type=int, default=100, help="segments in the workflow (100)")
    parser.add_argument("--steps", type=int, default=100, help="operations per segment (100)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--no-tracemalloc", action="store_true",
                        help="skip the tracemalloc pass (Python heap peak)")
    args = parser.parse_args(argv)
    if args.segments < 1 or args.steps < 1:
        parser.error("--segments and --steps must be at least 1")

    with tempfile.TemporaryDirectory(prefix="catenary-bench-") as tmp:
        root = Path(tmp)
        engine = bench_engine(root, args.segments, args.steps)
        traced = {} if args.no_tracemalloc else bench_tracemalloc(root, args.segments, args.steps)
        floor = bench_floor(root, args.segments, args.steps)

    report = {
        "segments": args.segments, "steps": args.steps,
        "python": platform.python_version(), "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        **engine, **traced, **floor,
        "engine_vs_floor": engine["fresh_seconds"] / floor["floor_seconds"],
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0

    n = report["executions"]
    print(f"catenary engine throughput: {args.segments} segments x {args.steps} steps = {n:,} "
          f"executions (Python {report['python']}, SQLite {report['sqlite']}, {report['cpus']} CPUs)")
    table = [
        ("fresh run (recorded + committed)", f"{report['fresh_per_s']:,.0f} exec/s",
         f"{report['fresh_overhead_ms']:.3f} ms/exec", f"{report['fresh_seconds']:.2f} s"),
        ("cache hits (same workflow again)", f"{report['hits_per_s']:,.0f} hits/s",
         f"{report['hit_overhead_ms']:.3f} ms/exec", f"{report['hits_seconds']:.2f} s"),
        ("floor: SQLite inserts (commit/segment)", f"{report['sqlite_rows_per_s']:,.0f} rows/s",
         f"{report['sqlite_seconds'] * 1000 / n:.3f} ms/row", f"{report['sqlite_seconds']:.2f} s"),
        ("floor: DAG-CBOR + blake2b (2/exec)", f"{report['hashes_per_s']:,.0f} hashes/s",
         f"{report['hash_seconds'] * 1000 / n:.3f} ms/exec", f"{report['hash_seconds']:.2f} s"),
        ("floor: both", f"{report['floor_per_s']:,.0f} exec/s",
         f"{report['floor_seconds'] * 1000 / n:.3f} ms/exec", f"{report['floor_seconds']:.2f} s"),
    ]
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    for row in table:
        print("  " + "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                               for i, cell in enumerate(row)))
    print(f"  engine / floor: {report['engine_vs_floor']:.2f}x")
    memory = f"  peak RSS (high-water mark): {report['rss_peak_mib']:.1f} MiB " \
             f"(before the run: {report['rss_before_mib']:.1f} MiB)"
    if "heap_peak_mib" in report:
        memory += f"; Python heap peak during a fresh run (tracemalloc): {report['heap_peak_mib']:.1f} MiB"
    print(memory)
    print(f"  DB size after both runs: {report['db_bytes'] / (1024 * 1024):.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
