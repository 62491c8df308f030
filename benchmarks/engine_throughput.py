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
(d) the minimal floor: the work any engine with catenary's guarantees must do, and nothing of
    catenary's schema: per execution a memo lookup by key, the operation, DAG-CBOR of the
    key pre-image, the output and the record (the hash pre-image plus status, output and
    times), blake2b-256 CIDs of the three, and one SQLite WAL (synchronous=NORMAL)
    transaction per segment inserting the records (keyed by hash, one index on key for the
    memo) and the output blocks. Cache hits: the memo lookup finds the output, which is
    recorded as a new record; nothing is run or stored as a value.
(e) the own-schema floor: the same number of rows of the executions table shape inserted
    into catenary's own schema (its indexes and pragmas) with ``executemany`` per segment,
    plus two DAG-CBOR + blake2b-256 hashes per execution; and every row a fresh execution
    writes (parent edge, value block, attestation block and row) plus an ed25519 signature.
    This floor has catenary's design built in, so it says what the design costs at the least,
    not how far the engine is from the necessary work: (d) says that.

``--repeat`` rounds, each a fresh data dir for (a)+(c), (d) and (e), interleaved so the load of
a shared machine falls on all of them alike; reported: medians with min-max over the rounds, and
the median of the per-round ratios engine / floor (each ratio from the same round).
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
import statistics
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


def _inc(n: int) -> int:
    return n + 1  # the operation's body, called directly by the minimal floor


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


_CID_PREFIX = bytes([0x01, 0x71, 0xA0, 0xE4, 0x02, 0x20])  # CIDv1, dag-cbor, blake2b-256


def _block_cid(data: bytes) -> CID:
    return CID(_CID_PREFIX + hashlib.blake2b(data, digest_size=32).digest())


def bench_minimal_floor(root: Path, segments: int, steps: int) -> dict:
    """(d): the necessary work of a fresh run and of an all-hits run, nothing of catenary's
    schema (see the module docstring). Same chain, same pre-images, same commits per segment."""
    db = sqlite3.connect(str(root / "minimal.db"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE records (hash BLOB PRIMARY KEY, key BLOB NOT NULL, output BLOB NOT NULL,"
               " record BLOB NOT NULL) WITHOUT ROWID")
    db.execute("CREATE INDEX records_key ON records (key)")
    db.execute("CREATE TABLE blocks (cid BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID")
    encode_dag_cbor, workflow, op = cbrrr.encode_dag_cbor, _fake_cid(0, b"w"), _fake_cid(0, b"o")
    memo = "SELECT output FROM records WHERE key = ? LIMIT 1"

    def run(salt: bytes) -> tuple[float, float, int]:
        event = _fake_cid(0, b"event" + salt)
        parent, value = event, 0
        input_cid = _block_cid(encode_dag_cbor(value))
        fresh = 0
        gc.collect()
        started, cpu = time.perf_counter(), time.process_time()
        for segment in range(segments):
            records, blocks = [], []
            for step in range(steps):
                key = _block_cid(encode_dag_cbor(key_data(op, {}, [input_cid]), cid_type=CID))
                hit = db.execute(memo, (key.cid_bytes,)).fetchone()
                if hit is None:
                    value = _inc(value)
                    data = encode_dag_cbor(value)
                    output = _block_cid(data)
                    blocks.append((output.cid_bytes, data))
                    fresh += 1
                else:
                    output = CID(hit[0])
                preimage = hash_data(workflow, segment, step, op, {}, [parent], [input_cid])
                execution = _block_cid(encode_dag_cbor(preimage, cid_type=CID))
                now = time.time_ns()
                record = encode_dag_cbor({**preimage, "hash": execution, "key": key, "status": "completed",
                                          "output": output, "created_at": now, "finished_at": now},
                                         cid_type=CID)
                records.append((execution.cid_bytes + salt, key.cid_bytes, output.cid_bytes, record))
                parent, input_cid = execution, output
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT INTO records VALUES (?, ?, ?, ?)", records)
            db.executemany("INSERT OR IGNORE INTO blocks VALUES (?, ?)", blocks)
            db.execute("COMMIT")
        return time.perf_counter() - started, time.process_time() - cpu, fresh

    total = segments * steps
    fresh_s, fresh_cpu, ran = run(b"")
    assert ran == total, ran
    # A cache hit is recorded as a new execution (its own row: the run differs), as the engine does.
    hits_s, hits_cpu, ran = run(b"/again")
    assert ran == 0, ran
    db.close()
    return {"minimal_fresh_seconds": fresh_s, "minimal_hits_seconds": hits_s,
            "minimal_fresh_cpu_seconds": fresh_cpu, "minimal_hits_cpu_seconds": hits_cpu}


def _stats(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"median": statistics.median(ordered), "min": ordered[0], "max": ordered[-1], "samples": values}


def bench_rounds(root: Path, segments: int, steps: int, repeat: int) -> dict:
    """``repeat`` rounds of engine, minimal floor, own-schema floor, each on fresh files."""
    total = segments * steps
    rounds = []
    for i in range(repeat):
        engine = bench_engine(root / f"engine-{i}", segments, steps)
        (root / f"minimal-{i}").mkdir()
        minimal = bench_minimal_floor(root / f"minimal-{i}", segments, steps)
        (root / f"floor-{i}").mkdir()
        floor = bench_floor(root / f"floor-{i}", segments, steps)
        floor["floor_seconds"] = floor["sqlite_seconds"] + floor["hash_seconds"]
        floor["floor_all_seconds"] = (floor["sqlite_all_seconds"] + floor["hash_seconds"]
                                      + floor["sign_seconds"])
        rounds.append({**engine, **minimal, **floor})
        print(f"round {i + 1}/{repeat}: fresh {engine['fresh_seconds']:.2f} s, "
              f"hits {engine['hits_seconds']:.2f} s, "
              f"minimal floor {minimal['minimal_fresh_seconds']:.2f} / "
              f"{minimal['minimal_hits_seconds']:.2f} s, "
              f"load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
    out: dict = {"executions": total, "repeat": repeat, "rounds": rounds}
    for key in ("fresh_seconds", "fresh_cpu_seconds", "hits_seconds", "hits_cpu_seconds",
                "minimal_fresh_seconds", "minimal_hits_seconds", "minimal_fresh_cpu_seconds",
                "minimal_hits_cpu_seconds", "sqlite_seconds", "sqlite_all_seconds",
                "hash_seconds", "sign_seconds", "floor_seconds", "floor_all_seconds"):
        out[key] = _stats([r[key] for r in rounds])
    ratios = {
        "fresh_vs_minimal": ("fresh_seconds", "minimal_fresh_seconds"),
        "hits_vs_minimal": ("hits_seconds", "minimal_hits_seconds"),
        "fresh_vs_minimal_cpu": ("fresh_cpu_seconds", "minimal_fresh_cpu_seconds"),
        "hits_vs_minimal_cpu": ("hits_cpu_seconds", "minimal_hits_cpu_seconds"),
        "fresh_vs_floor": ("fresh_seconds", "floor_seconds"),
        "fresh_vs_floor_all": ("fresh_seconds", "floor_all_seconds"),
        "hits_vs_floor": ("hits_seconds", "floor_seconds"),
    }
    for name, (top, bottom) in ratios.items():
        out[name] = _stats([r[top] / r[bottom] for r in rounds])
    out["rss_before_mib"] = rounds[0]["rss_before_mib"]
    out["rss_peak_mib"] = max(r["rss_peak_mib"] for r in rounds)
    out["db_bytes"] = rounds[-1]["db_bytes"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--segments", type=int, default=100, help="segments in the workflow (100)")
    parser.add_argument("--steps", type=int, default=100, help="operations per segment (100)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="rounds of engine and floors, interleaved; medians are reported (5)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--no-tracemalloc", action="store_true",
                        help="skip the tracemalloc pass (Python heap peak)")
    args = parser.parse_args(argv)
    if args.segments < 1 or args.steps < 1 or args.repeat < 1:
        parser.error("--segments, --steps and --repeat must be at least 1")

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="catenary-bench-") as tmp:
        root = Path(tmp)
        measured = bench_rounds(root, args.segments, args.steps, args.repeat)
        traced = {} if args.no_tracemalloc else bench_tracemalloc(root, args.segments, args.steps)

    report = {
        "segments": args.segments, "steps": args.steps,
        "python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "cpus": os.cpu_count(),
        "load_before": load_before, "load_after": os.getloadavg(), **measured, **traced,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0

    n = report["executions"]
    print(f"catenary engine throughput: {args.segments} segments x {args.steps} steps = {n:,} "
          f"executions; Python {report['python']}, SQLite {report['sqlite']}, {report['cpus']} CPUs; "
          f"median (min-max) of {args.repeat} interleaved rounds")

    def cell(key: str) -> tuple[str, str]:
        st = report[key]
        rate = f"{n / st['median']:,.0f}/s ({n / st['max']:,.0f}-{n / st['min']:,.0f})"
        per = f"{st['median'] * 1e6 / n:.1f} us ({st['min'] * 1e6 / n:.1f}-{st['max'] * 1e6 / n:.1f})"
        return rate, per

    table = [("", "rate", "per execution")]
    for label, key in [
        ("engine: fresh run (recorded + committed)", "fresh_seconds"),
        ("engine: fresh run, CPU time", "fresh_cpu_seconds"),
        ("engine: cache hits (same workflow again)", "hits_seconds"),
        ("engine: cache hits, CPU time", "hits_cpu_seconds"),
        ("minimal floor: fresh", "minimal_fresh_seconds"),
        ("minimal floor: cache hits", "minimal_hits_seconds"),
        ("minimal floor: fresh, CPU time", "minimal_fresh_cpu_seconds"),
        ("minimal floor: cache hits, CPU time", "minimal_hits_cpu_seconds"),
        ("own-schema floor: executions rows", "sqlite_seconds"),
        ("own-schema floor: DAG-CBOR + blake2b, 2/exec", "hash_seconds"),
        ("own-schema floor: rows + hashes", "floor_seconds"),
        ("own-schema floor: ed25519 signature", "sign_seconds"),
        ("own-schema floor: all rows + hashes + sigs", "floor_all_seconds"),
    ]:
        if report[key]["median"]:
            table.append((label, *cell(key)))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for row in table:
        print("  " + "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
                               for i, c in enumerate(row)))

    def ratio(key: str) -> str:
        st = report[key]
        return f"{st['median']:.2f}x ({st['min']:.2f}-{st['max']:.2f})"

    print("  per-round ratios, median (min-max):")
    print(f"    fresh / minimal floor {ratio('fresh_vs_minimal')}; "
          f"hits / minimal floor {ratio('hits_vs_minimal')}")
    print(f"    in CPU time: fresh / minimal floor {ratio('fresh_vs_minimal_cpu')}; "
          f"hits / minimal floor {ratio('hits_vs_minimal_cpu')}")
    print(f"    fresh / own-schema floor {ratio('fresh_vs_floor')} (rows + hashes), "
          f"{ratio('fresh_vs_floor_all')} (all rows + hashes + sigs); hits / own-schema floor "
          f"{ratio('hits_vs_floor')}")
    memory = (f"  peak RSS (high-water mark): {report['rss_peak_mib']:.1f} MiB "
              f"(before the first run: {report['rss_before_mib']:.1f} MiB)")
    if "heap_peak_mib" in report:
        memory += f"; Python heap peak of a fresh run (tracemalloc): {report['heap_peak_mib']:.1f} MiB"
    print(memory)
    print(f"  DB size after a fresh and a cached run: {report['db_bytes'] / (1024 * 1024):.1f} MiB")
    print("  load average (1/5/15 min) before: " + " / ".join(f"{x:.2f}" for x in report["load_before"])
          + ", after: " + " / ".join(f"{x:.2f}" for x in report["load_after"]) + f" on {report['cpus']} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
