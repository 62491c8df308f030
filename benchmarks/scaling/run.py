#!/usr/bin/env python
"""Scaling curves: workflow size, DB size, trace depth; each beside its raw floor.

    .venv/bin/python benchmarks/scaling/run.py [--json docs/benchmarks/scaling.json]
        [--sizes 100,1000,10000,100000] [--db-sizes 10000,100000,1000000] [--depths 10,100,1000,10000]
    benchmarks/peers/.venvs/tools/bin/python benchmarks/scaling/plot.py   # the PNGs

Not a test. Three parts (``--only workflow|db|trace`` runs one):

1. **Workflow size.** For N operations (``--sizes``) a workflow of N/100 segments x 100 steps
   (``engine_throughput``'s shape: segment i takes segment i-1's output), each repetition in its
   own process so its peak RSS (``ru_maxrss``) is its own: a fresh run (every execution run,
   recorded and committed, one transaction per segment), the same again (all cache hits), and
   the floor for N (``engine_throughput.bench_floor``: the same rows inserted raw into the same
   schema, committed per 100, plus two DAG-CBOR + blake2b-256 hashes per execution).
2. **DB size.** One data dir grown with ``bulk_load.load`` (real executions, valid hashes) to
   each of ``--db-sizes``; at each size, p50/p99 of the sdk's List (first page of 100 with a
   status filter; a page halfway down the DB; a page filtered by one run) and Get (distinct
   random executions), and of List / Get through a gRPC server on loopback.
3. **Trace depth.** A chain of D steps (one segment) per ``--depths``; p50 of
   ``node.executions.trace`` of its last execution (D executions + the event).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
sys.path.insert(0, str(BENCH))

import bulk_load  # noqa: E402
import engine_throughput as et  # noqa: E402

# Imported up front, not when first needed: a long run (the 10^7 load takes half an hour)
# must not import half of catenary from a tree someone has changed meanwhile.
from catenary.api import Server  # noqa: E402
from catenary.cid import CID  # noqa: E402
from catenary.client import Client  # noqa: E402
from catenary.model import Status  # noqa: E402
from catenary.model.filter import ExecutionFilter  # noqa: E402
from catenary.sdk import Node  # noqa: E402
from catenary.sdk.execution import _make_token  # noqa: E402  (a page token deep in the DB)

STEPS = 100


def maxrss_mib() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# -- 1. workflow size --------------------------------------------------------------------------


def workflow_child(ops: int, with_floor: bool) -> dict:
    """One repetition at one size, in this (fresh) process; returns its figures."""
    segments, steps = max(1, ops // STEPS), min(ops, STEPS)
    with tempfile.TemporaryDirectory(prefix="catenary-scaling-") as tmp:
        root = Path(tmp)
        rss_start = maxrss_mib()
        node = Node(root / "engine", registry=et._registry())
        workflow = node.workflows.create(et._manifest(segments, steps))
        rss_ready = maxrss_mib()
        fresh_s, fresh_cpu, fresh = et._run(node, workflow.id, segments)
        rss_fresh = maxrss_mib()
        recorded, cached = et._count(node, fresh.run)
        assert (recorded, cached) == (segments * steps, 0), (recorded, cached)
        hits_s, hits_cpu, again = et._run(node, workflow.id, segments)
        assert et._count(node, again.run) == (segments * steps, segments * steps)
        rss_hits = maxrss_mib()
        node.close()
        db_bytes = sum(p.stat().st_size for p in (root / "engine").glob("catenary.db*"))
        out = {
            "ops": segments * steps,
            "segments": segments,
            "steps": steps,
            "fresh_seconds": fresh_s,
            "fresh_cpu_seconds": fresh_cpu,
            "hits_seconds": hits_s,
            "hits_cpu_seconds": hits_cpu,
            "rss_start_mib": rss_start,
            "rss_ready_mib": rss_ready,
            "rss_fresh_mib": rss_fresh,
            "rss_peak_mib": rss_hits,
            "db_bytes": db_bytes,
        }
        if with_floor:
            (root / "floor").mkdir()
            floor = et.bench_floor(root / "floor", segments, steps)
            out.update({f"floor_{k}": v for k, v in floor.items()})
            out["floor_seconds"] = floor["sqlite_seconds"] + floor["hash_seconds"]
            # Every row a fresh execution writes, the hashes, and (when the floor measures it)
            # the executor attestation's ed25519 signature.
            out["floor_all_seconds"] = (
                floor["sqlite_all_seconds"] + floor["hash_seconds"] + floor.get("sign_seconds", 0.0)
            )
    return out


def bench_workflow_sizes(sizes: list[int], reps: int, log) -> list[dict]:
    results = []
    for ops in sizes:
        samples = []
        for rep in range(reps):
            proc = subprocess.run(
                [sys.executable, __file__, "--child-workflow", str(ops)],
                capture_output=True,
                text=True,
                timeout=3600,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"workflow size {ops} failed:\n{proc.stderr[-3000:]}")
            samples.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            s = samples[-1]
            log(
                f"workflow {ops:>7,} ops rep {rep + 1}: fresh {s['ops'] / s['fresh_seconds']:,.0f}/s, "
                f"hits {s['ops'] / s['hits_seconds']:,.0f}/s, floor {s['ops'] / s['floor_seconds']:,.0f}/s, "
                f"peak RSS {s['rss_peak_mib']:.0f} MiB"
            )
        n = samples[0]["ops"]

        def med(key: str) -> float:
            return statistics.median(s[key] for s in samples)

        results.append(
            {
                "ops": n,
                "segments": samples[0]["segments"],
                "steps": samples[0]["steps"],
                "reps": reps,
                "fresh_seconds": med("fresh_seconds"),
                "hits_seconds": med("hits_seconds"),
                "fresh_per_s": n / med("fresh_seconds"),
                "hits_per_s": n / med("hits_seconds"),
                "fresh_cpu_per_s": n / med("fresh_cpu_seconds"),
                "hits_cpu_per_s": n / med("hits_cpu_seconds"),
                "floor_seconds": med("floor_seconds"),
                "floor_per_s": n / med("floor_seconds"),
                "floor_all_per_s": n / med("floor_all_seconds"),
                "floor_sqlite_per_s": n / med("floor_sqlite_seconds"),
                "floor_hashes_per_s": 2 * n / med("floor_hash_seconds"),
                "engine_vs_floor": med("fresh_seconds") / med("floor_seconds"),
                "rss_start_mib": med("rss_start_mib"),
                "rss_ready_mib": med("rss_ready_mib"),
                "rss_peak_mib": max(s["rss_peak_mib"] for s in samples),
                "db_bytes": samples[-1]["db_bytes"],
                "samples": samples,
            }
        )
    return results


# -- 2. DB size ---------------------------------------------------------------------------------


def _latencies(fn, samples: int) -> list[float]:
    out = []
    for i in range(samples):
        t = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t) * 1000)
    return out


def _summary(ms: list[float]) -> dict:
    return {"p50": pct(ms, 50), "p99": pct(ms, 99), "samples": len(ms)}


def measure_db(data_dir: Path, samples: int, grpc: bool) -> dict:
    node = Node(data_dir)
    node.registry.add(bulk_load.inc)
    store = node.store
    newest = store._read("SELECT max(id) FROM executions")[0][0]
    completed = ExecutionFilter(statuses=(Status.COMPLETED,))
    rng = random.Random(1)
    # Distinct random executions for Get, and a run somewhere in the middle for the run filter.
    ids = rng.sample(range(1, newest + 1), min(samples, newest))
    hashes = [
        CID(row[0])
        for row in store._read(f"SELECT hash FROM executions WHERE id IN ({','.join('?' * len(ids))})", ids)
    ]
    rng.shuffle(hashes)
    middle_run = CID(store._read("SELECT run FROM executions WHERE id = ?", (newest // 2,))[0][0])
    by_run = ExecutionFilter(run=middle_run)
    deep = _make_token(newest // 2, completed)

    ex = node.executions
    out = {"executions": newest}
    assert len(ex.list(completed, 100).executions) == 100
    out["list_first"] = _summary(_latencies(lambda i: ex.list(completed, 100), samples))
    out["list_middle"] = _summary(_latencies(lambda i: ex.list(completed, 100, deep), samples))
    out["list_run"] = _summary(_latencies(lambda i: ex.list(by_run, 100), samples))
    out["get"] = _summary(_latencies(lambda i: ex.get(hashes[i % len(hashes)]), samples))
    if grpc:
        server = Server(node, "127.0.0.1:0").start()
        client = Client(server.address, key=node.identity)
        try:
            client.executions.list(completed, 100)
            out["grpc_list_first"] = _summary(
                _latencies(lambda i: client.executions.list(completed, 100), samples)
            )
            out["grpc_list_middle"] = _summary(
                _latencies(lambda i: client.executions.list(completed, 100, deep), samples)
            )
            out["grpc_get"] = _summary(
                _latencies(lambda i: client.executions.get(hashes[-1 - i % len(hashes)]), samples)
            )
        finally:
            client.close()
            server.stop(grace=1)
    node.close()
    out["db_bytes"] = sum(p.stat().st_size for p in data_dir.glob("catenary.db*"))
    return out


def _executions_in(data_dir: Path) -> int:
    db = data_dir / "catenary.db"
    if not db.exists():
        return 0
    conn = sqlite3.connect(str(db))
    try:
        return conn.execute("SELECT count(*) FROM executions").fetchone()[0]
    finally:
        conn.close()


def bench_db_sizes(sizes: list[int], samples: int, grpc: bool, data_dir: Path, log) -> list[dict]:
    """Grow the DB in ``data_dir`` to each size in turn (from what it holds already: a DB left
    by an earlier ``--db-dir`` run is grown further) and measure at each."""
    results = []
    loaded = _executions_in(data_dir)
    if loaded:
        log(f"db: {data_dir} already holds {loaded:,} executions; growing it")
    for size in sorted(sizes):
        if size < loaded:
            log(f"db: skipping {size:,}, the DB already holds {loaded:,}")
            continue
        load_s = None
        if size > loaded:
            t = time.perf_counter()
            bulk_load.load(data_dir, size - loaded, progress=False).close()
            load_s = time.perf_counter() - t
            log(
                f"db: loaded {size - loaded:,} executions in {load_s:.1f} s "
                f"({(size - loaded) / load_s:,.0f}/s), now {size:,}"
            )
        out = measure_db(data_dir, samples, grpc)
        out.update(
            loaded=size - loaded, load_seconds=load_s, load_per_s=(size - loaded) / load_s if load_s else None
        )
        loaded = size
        results.append(out)
        log(
            f"db {out['executions']:,}: list p50 {out['list_first']['p50']:.2f} ms, middle "
            f"{out['list_middle']['p50']:.2f} ms, run {out['list_run']['p50']:.2f} ms, get "
            f"{out['get']['p50']:.3f} ms"
            + (
                f", gRPC list {out['grpc_list_first']['p50']:.2f} ms get {out['grpc_get']['p50']:.2f} ms"
                if grpc
                else ""
            )
            + f"; {out['db_bytes'] / 2**20:,.0f} MiB"
        )
    return results


# -- 3. trace depth ----------------------------------------------------------------------------


def bench_trace(depths: list[int], root: Path, log) -> list[dict]:
    node = Node(root / "trace", registry=et._registry())
    results = []
    for depth in depths:
        workflow = node.workflows.create(et._manifest(1, depth))
        state = node.runs.new(workflow.id)
        final = node.runs.next(state.id, [depth]).final
        reps = 20 if depth <= 1000 else 5
        trace = node.executions.trace(final)
        assert len(trace.nodes) == depth + 1 and len(trace.edges) == depth, (
            len(trace.nodes),
            len(trace.edges),
        )
        ms = _latencies(lambda i: node.executions.trace(final), reps)
        results.append(
            {
                "depth": depth,
                "p50_ms": pct(ms, 50),
                "min_ms": min(ms),
                "reps": reps,
                "per_node_us": pct(ms, 50) * 1000 / (depth + 1),
            }
        )
        log(f"trace depth {depth:,}: p50 {pct(ms, 50):.2f} ms ({results[-1]['per_node_us']:.1f} us/node)")
    node.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100,1000,10000,100000", help="workflow sizes (operations)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per workflow size (3)")
    parser.add_argument("--db-sizes", default="10000,100000,1000000", help="DB sizes (executions)")
    parser.add_argument(
        "--db-dir",
        type=Path,
        help="grow the DB here, from what it holds (default: a temp dir, removed after)",
    )
    parser.add_argument("--samples", type=int, default=300, help="List/Get samples per DB size (300)")
    parser.add_argument("--no-grpc", action="store_true", help="skip the gRPC List/Get figures")
    parser.add_argument("--depths", default="10,100,1000,10000", help="trace depths")
    parser.add_argument("--only", choices=["workflow", "db", "trace"], help="run one part")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep what --json already holds for the parts (and DB sizes) this run skips",
    )
    parser.add_argument("--child-workflow", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_workflow:
        print(json.dumps(workflow_child(args.child_workflow, with_floor=True)))
        return 0

    def ints(text: str, name: str) -> list[int]:
        try:
            values = [int(v) for v in text.split(",") if v.strip()]
        except ValueError:
            parser.error(f"{name} must be comma-separated integers, got {text!r}")
        if not values or min(values) < 1:
            parser.error(f"{name} must be positive integers, got {text!r}")
        return values

    sizes, depths = ints(args.sizes, "--sizes"), ints(args.depths, "--depths")
    db_sizes = ints(args.db_sizes, "--db-sizes")
    bad = [s for s in sizes if s > STEPS and s % STEPS]
    if bad:
        parser.error(f"--sizes above {STEPS} must be multiples of {STEPS}: {bad}")
    if min(db_sizes) < bulk_load_steps():
        parser.error(f"--db-sizes must be at least {bulk_load_steps()}")

    started = time.perf_counter()

    def log(text: str) -> None:
        print(
            f"[{time.perf_counter() - started:6.0f} s, load {os.getloadavg()[0]:.2f}] {text}",
            file=sys.stderr,
            flush=True,
        )

    report: dict = {
        "date": str(datetime.date.today()),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "machine": platform.machine(),
        "load_before": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory(prefix="catenary-scaling-") as tmp:
        if args.only in (None, "workflow"):
            report["workflow"] = bench_workflow_sizes(sizes, args.reps, log)
        if args.only in (None, "trace"):
            report["trace"] = bench_trace(depths, Path(tmp), log)
        if args.only in (None, "db"):
            db_dir = args.db_dir or Path(tmp) / "db"
            try:
                report["db"] = bench_db_sizes(db_sizes, args.samples, not args.no_grpc, db_dir, log)
            finally:
                if args.db_dir is None:
                    shutil.rmtree(db_dir, ignore_errors=True)
    report["load_after"] = os.getloadavg()
    report["seconds"] = time.perf_counter() - started
    print_report(report)
    if args.json:
        if args.merge and args.json.exists():
            # Keep the parts of the earlier report this run did not measure; DB rows are merged
            # by size (this run's win), each part remembering when it was measured.
            earlier = json.loads(args.json.read_text())
            for part in ("workflow", "trace"):
                if part not in report and part in earlier:
                    report[part] = earlier[part]
            if "db" in earlier:
                mine = {r["executions"] for r in report.get("db", [])}
                report["db"] = sorted(
                    [r for r in earlier["db"] if r["executions"] not in mine] + report.get("db", []),
                    key=lambda r: r["executions"],
                )
            report.setdefault("earlier_runs", earlier.get("earlier_runs", []))
            report["earlier_runs"].append(
                {k: earlier.get(k) for k in ("date", "load_before", "load_after", "seconds")}
            )
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1))
    return 0


def bulk_load_steps() -> int:
    return 100  # bulk_load.load's default chain length per run


def print_report(report: dict) -> None:
    print(
        f"catenary scaling, {report['date']}, {report['cpus']} CPUs, Python {report['python']}, "
        f"SQLite {report['sqlite']}; load average {report['load_before'][0]:.2f} before, "
        f"{report['load_after'][0]:.2f} after; {report['seconds']:.0f} s"
    )
    if "workflow" in report:
        print("\nworkflow size (median of reps; floor = raw rows + hashes)")
        print(
            f"  {'ops':>8} {'fresh/s':>9} {'ms/op':>7} {'hits/s':>9} {'floor/s':>9} {'x floor':>7} "
            f"{'peak RSS':>9}"
        )
        for r in report["workflow"]:
            print(
                f"  {r['ops']:>8,} {r['fresh_per_s']:>9,.0f} {1000 / r['fresh_per_s']:>7.3f} "
                f"{r['hits_per_s']:>9,.0f} {r['floor_per_s']:>9,.0f} {r['engine_vs_floor']:>7.2f} "
                f"{r['rss_peak_mib']:>6.0f} MiB"
            )
    if "trace" in report:
        print("\ntrace depth (p50)")
        for r in report["trace"]:
            print(f"  {r['depth']:>8,} {r['p50_ms']:>9.2f} ms  {r['per_node_us']:.1f} us/node")
    if "db" in report:
        print("\nDB size: p50 / p99 ms (sdk; gRPC)")
        for r in report["db"]:
            line = (
                f"  {r['executions']:>10,}  list {r['list_first']['p50']:.2f}/{r['list_first']['p99']:.2f}"
                f"  middle {r['list_middle']['p50']:.2f}/{r['list_middle']['p99']:.2f}"
                f"  run {r['list_run']['p50']:.2f}/{r['list_run']['p99']:.2f}"
                f"  get {r['get']['p50']:.3f}/{r['get']['p99']:.3f}"
            )
            if "grpc_list_first" in r:
                line += (
                    f"  gRPC list {r['grpc_list_first']['p50']:.2f}/{r['grpc_list_first']['p99']:.2f}"
                    f" get {r['grpc_get']['p50']:.2f}/{r['grpc_get']['p99']:.2f}"
                )
            if r["load_per_s"]:
                line += f"  (loaded at {r['load_per_s']:,.0f}/s)"
            line += f"  ({r['db_bytes'] / 2**20:,.0f} MiB)"
            print(line)


if __name__ == "__main__":
    sys.exit(main())
