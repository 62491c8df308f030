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
import hashlib
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

import cbrrr

from catenary.cid import CID, encode
from catenary.model import hash_data, key_data
from catenary.operations import Registry, operation
from catenary.operations.registry import default_registry
from catenary.sdk import Node
from catenary.store import rows as store_rows
from catenary.store import sqlite as sqlite_store


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
    # Same shape as the engine's CIDs: CIDv1 dag-cbor blake2b-256 (38 bytes), random-looking.
    return CID(bytes([0x01, 0x71, 0xA0, 0xE4, 0x02, 0x20])
               + hashlib.blake2b(salt + i.to_bytes(8, "big"), digest_size=32).digest())


def _floor_db(path: Path) -> sqlite3.Connection:
    """A fresh DB with the store's schema and connection settings."""
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    # the store's settings; older versions of the store had only synchronous=NORMAL
    for pragma in getattr(sqlite_store, "PRAGMAS", ("PRAGMA synchronous=NORMAL",)):
        db.execute(pragma)
    for migration in sqlite_store.MIGRATIONS:
        for statement in migration.split(";"):
            if statement.strip():
                db.execute(statement)
    return db


def bench_floor(root: Path, segments: int, steps: int) -> dict:
    """The raw cost of what the engine must do at the least: the SQLite rows and the hashes."""
    total = segments * steps
    workflow, run, op = _fake_cid(0, b"w"), _fake_cid(0, b"r"), _fake_cid(0, b"o")
    hashes = [_fake_cid(i, b"h") for i in range(total)]
    keys = [_fake_cid(i, b"k") for i in range(total)]
    outputs = [_fake_cid(i, b"v") for i in range(total)]
    parents = [hashes[i - 1] if i % steps else _fake_cid(i, b"e") for i in range(total)]
    inputs = [outputs[i - 1] if i else _fake_cid(0, b"x") for i in range(total)]
    now = time.time_ns()
    rows = [(hashes[i].cid_bytes, keys[i].cid_bytes, workflow.cid_bytes, run.cid_bytes,
             i // steps, i % steps, op.cid_bytes, encode({}), encode([parents[i]]), encode([inputs[i]]),
             "completed", outputs[i].cid_bytes, None, "node-bench", None, now, now, now, i + 1)
            for i in range(total)]
    parent_rows = [(parents[i].cid_bytes, i + 1) for i in range(total)]
    block_rows = [(outputs[i].cid_bytes, encode(i + 1)) for i in range(total)]
    # Since the trust layer, each execution that did the work also gets a signed executor
    # attestation: a ~200-byte block and an index row.
    signer = "did:key:z6Mk" + "x" * 44
    attestation_blocks = [(_fake_cid(i, b"a").cid_bytes, bytes(200)) for i in range(total)]
    attestation_rows = [(hashes[i].cid_bytes, attestation_blocks[i][0], signer, "executor", now)
                        for i in range(total)]
    insert = f"INSERT INTO executions ({store_rows.COLUMNS}) VALUES ({', '.join('?' * 19)})"

    # (1) the executions rows alone, committed per segment (STEPS rows a transaction).
    db = _floor_db(root / "floor-executions.db")
    gc.collect()
    started = time.perf_counter()
    for first in range(0, total, steps):
        db.execute("BEGIN IMMEDIATE")
        db.executemany(insert, rows[first:first + steps])
        db.execute("COMMIT")
    sqlite_s = time.perf_counter() - started
    db.close()

    # (2) every row a fresh execution writes: executions + execution_parents + blocks
    # (+ the attestation block and row, when the store has attestations).
    db = _floor_db(root / "floor-all.db")
    attests = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'attestations'").fetchone()
    gc.collect()
    started = time.perf_counter()
    for first in range(0, total, steps):
        db.execute("BEGIN IMMEDIATE")
        db.executemany(insert, rows[first:first + steps])
        db.executemany("INSERT OR IGNORE INTO execution_parents VALUES (?, ?)",
                       parent_rows[first:first + steps])
        db.executemany("INSERT OR IGNORE INTO blocks VALUES (?, ?)", block_rows[first:first + steps])
        if attests:
            db.executemany("INSERT OR IGNORE INTO blocks VALUES (?, ?)",
                           attestation_blocks[first:first + steps])
            db.executemany("INSERT OR IGNORE INTO attestations VALUES (?, ?, ?, ?, ?)",
                           attestation_rows[first:first + steps])
        db.execute("COMMIT")
    sqlite_all_s = time.perf_counter() - started
    db.close()

    # (3) the two pre-images of every execution, DAG-CBOR encoded by the codec library itself
    # (cbrrr, what catenary.cid.encode wraps) and blake2b-256 hashed.
    preimages = []
    for i in range(total):
        preimages.append(key_data(op, {}, [inputs[i]]))
        preimages.append(hash_data(workflow, i // steps, i % steps, op, {}, [parents[i]], [inputs[i]]))
    assert cbrrr.encode_dag_cbor(preimages[1], cid_type=CID) == encode(preimages[1])
    blake2b, encode_dag_cbor = hashlib.blake2b, cbrrr.encode_dag_cbor
    gc.collect()
    started = time.perf_counter()
    for data in preimages:
        blake2b(encode_dag_cbor(data, cid_type=CID), digest_size=32).digest()
    hash_s = time.perf_counter() - started

    # (4) with attestations: one ed25519 signature per execution that did the work.
    sign_s = 0.0
    if attests:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        sign = Ed25519PrivateKey.generate().sign
        messages = [bytes(150) + i.to_bytes(8, "big") for i in range(total)]
        gc.collect()
        started = time.perf_counter()
        for message in messages:
            sign(message)
        sign_s = time.perf_counter() - started
    return {"sqlite_seconds": sqlite_s, "sqlite_all_seconds": sqlite_all_s, "hash_seconds": hash_s,
            "sign_seconds": sign_s, "hashes": len(preimages)}


def bench_floor_repeated(root: Path, segments: int, steps: int, repeat: int) -> dict:
    total = segments * steps
    samples = []
    for i in range(repeat):
        (root / f"floor-{i}").mkdir()
        samples.append(bench_floor(root / f"floor-{i}", segments, steps))
    best = {k: min(s[k] for s in samples)
            for k in ("sqlite_seconds", "sqlite_all_seconds", "hash_seconds", "sign_seconds")}
    floor = best["sqlite_seconds"] + best["hash_seconds"]
    floor_all = best["sqlite_all_seconds"] + best["hash_seconds"] + best["sign_seconds"]
    return {
        **best,
        "sqlite_rows_per_s": total / best["sqlite_seconds"],
        "sqlite_all_per_s": total / best["sqlite_all_seconds"],
        "hashes": samples[0]["hashes"],
        "hashes_per_s": samples[0]["hashes"] / best["hash_seconds"],
        "floor_seconds": floor,
        "floor_per_s": total / floor,
        "floor_all_seconds": floor_all,
        "floor_all_per_s": total / floor_all,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--segments", type=int, default=100, help="segments in the workflow (100)")
    parser.add_argument("--steps", type=int, default=100, help="operations per segment (100)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="repetitions of each measurement; the best is reported (3)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--no-tracemalloc", action="store_true",
                        help="skip the tracemalloc pass (Python heap peak)")
    args = parser.parse_args(argv)
    if args.segments < 1 or args.steps < 1 or args.repeat < 1:
        parser.error("--segments, --steps and --repeat must be at least 1")

    with tempfile.TemporaryDirectory(prefix="catenary-bench-") as tmp:
        root = Path(tmp)
        engine = bench_engine_repeated(root, args.segments, args.steps, args.repeat)
        traced = {} if args.no_tracemalloc else bench_tracemalloc(root, args.segments, args.steps)
        floor = bench_floor_repeated(root, args.segments, args.steps, args.repeat)

    report = {
        "segments": args.segments, "steps": args.steps,
        "python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "cpus": os.cpu_count(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        **engine, **traced, **floor,
        "engine_vs_floor": engine["fresh_seconds"] / floor["floor_seconds"],
        "engine_vs_floor_all": engine["fresh_seconds"] / floor["floor_all_seconds"],
        "hits_vs_floor": engine["hits_seconds"] / floor["floor_seconds"],
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0

    n = report["executions"]
    print(f"catenary engine throughput: {args.segments} segments x {args.steps} steps = {n:,} "
          f"executions; Python {report['python']}, SQLite {report['sqlite']}, {report['cpus']} CPUs; "
          f"best of {args.repeat}")

    def per_exec(seconds: float) -> str:
        return f"{seconds * 1000 / n:.4f} ms/exec"

    table = [
        ("", "rate", "per execution", "wall", "rate, CPU time"),
        ("fresh run (recorded + committed)", f"{report['fresh_per_s']:,.0f} exec/s",
         per_exec(report["fresh_seconds"]), f"{report['fresh_seconds']:.3f} s",
         f"{report['fresh_cpu_per_s']:,.0f} exec/s"),
        ("cache hits (same workflow again)", f"{report['hits_per_s']:,.0f} hits/s",
         per_exec(report["hits_seconds"]), f"{report['hits_seconds']:.3f} s",
         f"{report['hits_cpu_per_s']:,.0f} hits/s"),
        ("floor: SQLite executions rows", f"{report['sqlite_rows_per_s']:,.0f} rows/s",
         per_exec(report["sqlite_seconds"]), f"{report['sqlite_seconds']:.3f} s", ""),
        ("floor: DAG-CBOR + blake2b, 2/exec", f"{report['hashes_per_s']:,.0f} hash/s",
         per_exec(report["hash_seconds"]), f"{report['hash_seconds']:.3f} s", ""),
        ("floor: rows + hashes", f"{report['floor_per_s']:,.0f} exec/s",
         per_exec(report["floor_seconds"]), f"{report['floor_seconds']:.3f} s", ""),
    ]
    if report["sign_seconds"]:
        table.append(("floor: ed25519 signature, 1/exec", f"{n / report['sign_seconds']:,.0f} sig/s",
                      per_exec(report["sign_seconds"]), f"{report['sign_seconds']:.3f} s", ""))
    table.append(("floor: all rows written + hashes" + (" + sigs" if report["sign_seconds"] else ""),
                  f"{report['floor_all_per_s']:,.0f} exec/s", per_exec(report["floor_all_seconds"]),
                  f"{report['floor_all_seconds']:.3f} s", ""))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for row in table:
        print("  " + "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                               for i, cell in enumerate(row)))
    all_label = "all rows + hashes" + (" + sigs" if report["sign_seconds"] else "")
    print(f"  fresh run / floor: {report['engine_vs_floor']:.2f}x (rows + hashes), "
          f"{report['engine_vs_floor_all']:.2f}x ({all_label}); "
          f"cache hits / floor: {report['hits_vs_floor']:.2f}x (rows + hashes)")
    memory = (f"  peak RSS (high-water mark): {report['rss_peak_mib']:.1f} MiB "
              f"(before the first run: {report['rss_before_mib']:.1f} MiB)")
    if "heap_peak_mib" in report:
        memory += f"; Python heap peak of a fresh run (tracemalloc): {report['heap_peak_mib']:.1f} MiB"
    print(memory)
    print(f"  DB size after a fresh and a cached run: {report['db_bytes'] / (1024 * 1024):.1f} MiB; "
          f"median rates: {report['fresh_median_per_s']:,.0f} exec/s fresh, "
          f"{report['hits_median_per_s']:,.0f} hits/s")
    if report["load_average"]:
        print("  load average at the end (1/5/15 min): "
              + " / ".join(f"{x:.2f}" for x in report["load_average"])
              + f" on {report['cpus']} CPUs (other processes slow the wall-clock rates down)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
