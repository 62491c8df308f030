#!/usr/bin/env python
"""The PostgreSQL store: executions recorded per second, and List latency at 1,000,000 executions.

Not a test: run it directly.

    .venv/bin/python benchmarks/postgres_store.py [--db postgresql://...] [--executions 1000000] [--json]

Without ``--db`` it starts a throwaway PostgreSQL server (tests/pg.py) in a temporary
directory with the durable defaults (``fsync``, ``synchronous_commit`` and
``full_page_writes`` on), so every commit waits for its WAL flush. ``--db`` must name an
empty database (each part makes a new one on the throwaway server).

(a) **recording** (store level): P processes x T threads step their own runs through
    ``Store.commit_step``, with the step commits built beforehand (hashes, blocks, events),
    so only the store is timed. A commit is one segment of S executions; each is what the
    engine commits: the optimistic run check, value blocks, the event, the segment output,
    the executions with their seqs and parent edges, and the NOTIFY.
(b) **engine** (end to end): P processes x T threads, each process a ``Node(db=...)``, run a
    workflow of SEGMENTS x STEPS ``std/hash`` steps (blake2b-256 of the previous output; segment
    i takes segment i-1's output): executed, hashed and committed by the engine.
(c) **List at N executions**: bulk-load N valid executions (chains of 100 per run, 1 in 200
    failed) with COPY, ANALYZE, then time ``node.executions.list`` (page size 100) on the first
    page, a page 5,000 pages deep (keyset token), by run, by workflow, by status and by parent,
    and ``get`` by hash: p50 and p99 over 500 calls each.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import platform
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.pg, the throwaway server

from catenary.cid import CID, block, cid_of, encode  # noqa: E402
from catenary.model import Event, Execution, Run, Status, hash_data, key_data  # noqa: E402
from catenary.model.filter import ExecutionFilter  # noqa: E402
from catenary.operations.registry import default_registry  # noqa: E402
from catenary.sdk import Node  # noqa: E402
from catenary.store import SegmentOutput, StepCommit  # noqa: E402

# A durable server, sized for a million executions.
DURABLE = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "shared_buffers": "'512MB'",
    "max_wal_size": "'4GB'",
    "checkpoint_timeout": "'30min'",
}


# Every step is std/hash (blake2b-256) of the previous output: a built-in, so that spawned worker
# processes resolve the same version id (an operation defined in a script is "__main__:f" in
# the parent and "__mp_main__:f" in its children, two different versions).
HASH = default_registry().by_name("std/hash")
CONFIG = {"algorithm": "blake2b-256"}


def step(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def seed_value(n: int) -> bytes:
    return n.to_bytes(8, "big")


def chain_manifest(segments: int, steps: int) -> dict[str, Any]:
    segs = [
        {"inputs": [-1 if i == 0 else i - 1], "sequence": [{"op": "std/hash", "config": CONFIG}] * steps}
        for i in range(segments)
    ]
    return {
        "data": {
            "name": f"bench {segments}x{steps}",
            "creators": [],
            "description": "",
            "groups": ["bench"],
            "segments": segs,
        }
    }


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def new_workflow(dsn: str, segments: int, steps: int) -> str:
    with Node(tempfile.mkdtemp(prefix="catenary-bench-"), db=dsn) as node:
        return str(node.workflows.create(chain_manifest(segments, steps)).id)


def run_processes(target: Callable[..., None], count: int, *args: Any) -> tuple[int, float, int]:
    """Start ``count`` processes, let them prepare, start them together; returns (executions,
    wall seconds from the first start to the last end, transactions)."""
    ctx = multiprocessing.get_context("spawn")
    ready, go, results = ctx.Queue(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(n, ready, go, results, *args)) for n in range(count)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=600)
    go.set()
    reports = [results.get(timeout=3600) for _ in procs]
    for p in procs:
        p.join()
    if any(isinstance(r, str) for r in reports):
        raise RuntimeError(next(r for r in reports if isinstance(r, str)))
    return (
        sum(r[0] for r in reports),
        max(r[2] for r in reports) - min(r[1] for r in reports),
        sum(r[3] for r in reports),
    )


# (a) recording -------------------------------------------------------------------------------------
def step_commits(workflow: CID, run: Run, segments: int, steps: int, seed: int) -> list[StepCommit]:
    """Every segment of one run, as the engine commits it (valid hashes and keys)."""
    version, now = HASH.version_id, time.time_ns()
    value = seed_value(seed)
    cid, data = block(value)
    event = Event(run.id, 0, (cid,))
    parent, total, commits = event.hash, 0.0, []
    for segment in range(segments):
        blocks = [(cid, data)] if segment == 0 else []
        records = []
        for index in range(steps):
            value = step(value)
            out, out_data = block(value)
            h = cid_of(hash_data(workflow, segment, index, version, CONFIG, [parent], [cid]))
            records.append(
                Execution(
                    hash=h,
                    key=cid_of(key_data(version, CONFIG, [cid])),
                    workflow=workflow,
                    run=run.id,
                    segment=segment,
                    step=index,
                    operation=version,
                    config=CONFIG,
                    parents=(parent,),
                    inputs=(cid,),
                    status=Status.COMPLETED,
                    output=out,
                    error=None,
                    executor="bench",
                    cached_from=None,
                    created_at=now,
                    started_at=now,
                    finished_at=now,
                    seq=0,
                )
            )
            blocks.append((out, out_data))
            parent, cid, data = h, out, out_data
        total += 0.1
        commits.append(
            StepCommit(
                run.id,
                segment,
                [event] if segment == 0 else [],
                records,
                blocks,
                SegmentOutput(segment, cid, parent, 0.1),
                "completed" if segment == segments - 1 else "running",
                total,
                None,
                now,
            )
        )
    return commits


def record_worker(
    n: int,
    ready: Any,
    go: Any,
    results: Any,
    dsn: str,
    workflow: str,
    threads: int,
    runs: int,
    segments: int,
    steps: int,
) -> None:
    from catenary.store.postgres import PostgresStore

    try:
        store = PostgresStore(dsn, pool_size=threads + 1)
        transactions = [0]
        write = store._write_steps

        def counted(*args: Any) -> Any:  # how many group commits (transactions) it took
            transactions[0] += 1
            return write(*args)

        store._write_steps = counted
        wf = CID.parse(workflow)
        plans = []
        for t in range(threads):
            plan = []
            for r in range(runs):
                run = Run(wf, os.urandom(16))
                store.create_run(run, time.time_ns())
                plan.append(step_commits(wf, run, segments, steps, (n * 1000 + t * 100 + r) * 1_000_000))
            plans.append(plan)

        def step_all(plan: list[list[StepCommit]]) -> None:
            for segment in range(segments):  # round robin over this thread's runs
                for commits in plan:
                    if not store.commit_step(commits[segment]):
                        raise RuntimeError("a benchmark commit was refused")

        workers = [threading.Thread(target=step_all, args=(plan,)) for plan in plans]
        ready.put(n)
        go.wait()
        began = time.time()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        results.put((threads * runs * segments * steps, began, time.time(), transactions[0]))
        store.close()
    except Exception as exc:  # reported by the parent
        ready.put(n)
        results.put(f"{type(exc).__name__}: {exc}")


def bench_record(
    new_db: Callable[[], str], processes: int, threads: int, runs: int, segments: int, steps: int
) -> dict[str, Any]:
    dsn = new_db()
    workflow = new_workflow(dsn, segments, steps)
    items, wall, transactions = run_processes(
        record_worker, processes, dsn, workflow, threads, runs, segments, steps
    )
    return {
        "processes": processes,
        "threads": threads,
        "per_commit": steps,
        "executions": items,
        "commits": items // steps,
        "transactions": transactions,
        "seconds": wall,
        "rate": items / wall,
    }


# (b) engine end to end ---------------------------------------------------------------------------
def engine_worker(
    n: int,
    ready: Any,
    go: Any,
    results: Any,
    dsn: str,
    workflow: str,
    threads: int,
    runs: int,
    segments: int,
    steps: int,
) -> None:
    try:
        node = Node(tempfile.mkdtemp(prefix="catenary-bench-"), db=dsn)
        wf = CID.parse(workflow)

        def go_runs(t: int) -> None:
            for r in range(runs):
                node.runs.run(wf, {0: [seed_value((n * 1000 + t * 100 + r) * 1_000_000)]}, fresh=True)

        workers = [threading.Thread(target=go_runs, args=(t,)) for t in range(threads)]
        ready.put(n)
        go.wait()
        began = time.time()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        results.put((threads * runs * segments * steps, began, time.time(), 0))
        node.close()
    except Exception as exc:
        ready.put(n)
        results.put(f"{type(exc).__name__}: {exc}")


def bench_engine(
    new_db: Callable[[], str], processes: int, threads: int, runs: int, segments: int, steps: int
) -> dict[str, Any]:
    dsn = new_db()
    workflow = new_workflow(dsn, segments, steps)
    items, wall, _ = run_processes(engine_worker, processes, dsn, workflow, threads, runs, segments, steps)
    return {
        "processes": processes,
        "threads": threads,
        "per_commit": steps,
        "executions": items,
        "seconds": wall,
        "rate": items / wall,
    }


# (c) List at N executions ------------------------------------------------------------------------
def bulk_load(dsn: str, executions: int, steps: int = 100) -> tuple[dict[str, Any], float]:
    """COPY ``executions`` valid executions (runs of one segment of ``steps``) into a new store;
    returns samples to query (runs, execution hashes) and the seconds it took."""
    import psycopg

    from catenary.store.rows import config_bytes as _config_bytes
    from catenary.store.rows import links_bytes as _links_bytes

    with Node(tempfile.mkdtemp(prefix="catenary-bench-"), db=dsn) as node:
        workflow = node.workflows.create(chain_manifest(1, steps)).id
    version, now = HASH.version_id, time.time_ns()
    started = time.perf_counter()
    sample: dict[str, Any] = {"workflow": workflow, "runs": [], "hashes": []}
    seq = 0
    with psycopg.connect(dsn) as conn:
        runs_rows, events_rows, outputs_rows, block_rows, exec_rows, edge_rows = [], [], [], {}, [], []
        for r in range(executions // steps):
            run = Run(workflow, os.urandom(16))
            value = seed_value(r)
            cid, data = block(value)
            event = Event(run.id, 0, (cid,))
            block_rows[cid.cid_bytes] = data
            parent = event.hash
            failed_run = r % 2 == 0  # its last step fails: 1 execution in 200
            for index in range(steps):
                seq += 1
                h = cid_of(hash_data(workflow, 0, index, version, CONFIG, [parent], [cid]))
                k = cid_of(key_data(version, CONFIG, [cid]))
                failed = failed_run and index == steps - 1
                value = step(value)
                out, out_data = block(value)
                if not failed:
                    block_rows[out.cid_bytes] = out_data
                exec_rows.append(
                    (
                        h.cid_bytes,
                        k.cid_bytes,
                        workflow.cid_bytes,
                        run.id.cid_bytes,
                        0,
                        index,
                        version.cid_bytes,
                        _config_bytes(CONFIG),
                        _links_bytes((parent,)),
                        _links_bytes((cid,)),
                        "failed" if failed else "completed",
                        None if failed else out.cid_bytes,
                        "bench failure" if failed else None,
                        "bench",
                        None,
                        now + seq,
                        now + seq,
                        now + seq,
                        seq,
                    )
                )
                edge_rows.append((parent.cid_bytes, seq))
                if r % 97 == 0 and index % 25 == 0:
                    sample["hashes"].append(h)
                parent, cid = h, out
            runs_rows.append(
                (
                    run.id.cid_bytes,
                    workflow.cid_bytes,
                    run.nonce,
                    "failed" if failed_run else "completed",
                    0 if failed_run else 1,
                    1.0,
                    "bench failure" if failed_run else None,
                    now,
                    now,
                )
            )
            if not failed_run:
                outputs_rows.append((run.id.cid_bytes, 0, cid.cid_bytes, parent.cid_bytes, 1.0))
            events_rows.append((event.hash.cid_bytes, run.id.cid_bytes, 0, encode(event.data()), now))
            if r % 97 == 0:
                sample["runs"].append(run.id)
        built = time.perf_counter() - started
        with conn.cursor() as cur:

            def copy(table: str, columns: str, rows: Any) -> None:
                with cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as cp:
                    cp.set_types(TYPES[table])
                    for row in rows:
                        cp.write_row(row)

            copy(
                "runs",
                "id, workflow, nonce, status, next_segment, total_time, error, created_at, updated_at",
                runs_rows,
            )
            copy("events", "hash, run, segment, data, created_at", events_rows)
            copy("segment_outputs", "run, segment, output, producer, segment_time", outputs_rows)
            copy("blocks", "cid, data", block_rows.items())
            # id = seq here: rows go in in seq order, and ids are insertion order.
            copy(
                "executions",
                "hash, key, workflow, run, segment, step, operation, config, parents, "
                "inputs, status, output, error, executor, cached_from, created_at, started_at, "
                "finished_at, seq, id",
                (row + (row[-1],) for row in exec_rows),
            )
            copy("execution_parents", "parent, child", edge_rows)
            cur.execute("UPDATE meta SET value = %s WHERE key = 'seq'", (seq,))
            cur.execute("SELECT setval(pg_get_serial_sequence('executions', 'id'), %s)", (seq,))
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")
    print(
        f"  built {seq:,} executions in {built:.1f} s, loaded in "
        f"{time.perf_counter() - started - built:.1f} s",
        file=sys.stderr,
    )
    return sample, time.perf_counter() - started


TYPES = {
    "runs": ["bytea", "bytea", "bytea", "text", "int8", "float8", "text", "int8", "int8"],
    "events": ["bytea", "bytea", "int8", "bytea", "int8"],
    "segment_outputs": ["bytea", "int8", "bytea", "bytea", "float8"],
    "blocks": ["bytea", "bytea"],
    "executions": [
        "bytea",
        "bytea",
        "bytea",
        "bytea",
        "int8",
        "int8",
        "bytea",
        "bytea",
        "bytea",
        "bytea",
        "text",
        "bytea",
        "text",
        "text",
        "bytea",
        "int8",
        "int8",
        "int8",
        "int8",
        "int8",
    ],
    "execution_parents": ["bytea", "int8"],
}


def bench_list(dsn: str, executions: int, samples: int = 500) -> dict[str, Any]:
    from catenary.sdk.execution import _make_token

    sample, load_seconds = bulk_load(dsn, executions)
    figures: dict[str, Any] = {"executions": executions, "load_seconds": load_seconds}
    with Node(tempfile.mkdtemp(prefix="catenary-bench-"), db=dsn) as node:
        top = node.store.max_seq()
        deep = max(1, top - 5000 * 100)  # id = seq here
        rng = random.Random(7)
        cases: dict[str, Callable[[], Any]] = {
            "first page": lambda: node.executions.list(page_size=100),
            "5,000 pages deep": lambda: node.executions.list(
                page_size=100, page_token=_make_token(deep, ExecutionFilter())
            ),
            "by run": lambda: node.executions.list(
                ExecutionFilter(run=rng.choice(sample["runs"])), page_size=100
            ),
            "by workflow": lambda: node.executions.list(
                ExecutionFilter(workflow=sample["workflow"]), page_size=100
            ),
            "by status (failed)": lambda: node.executions.list(
                ExecutionFilter(statuses=(Status.FAILED,)), page_size=100
            ),
            "by parent": lambda: node.executions.list(
                ExecutionFilter(parent=rng.choice(sample["hashes"])), page_size=100
            ),
            "get by hash": lambda: node.executions.get(rng.choice(sample["hashes"])),
        }
        for name, call in cases.items():
            for _ in range(20):  # warm-up: prepared statements, caches
                call()
            timings = []
            for _ in range(samples):
                began = time.perf_counter()
                call()
                timings.append((time.perf_counter() - began) * 1000)
            figures[name] = {"p50": pct(timings, 50), "p99": pct(timings, 99)}
        figures["page sizes"] = len(node.executions.list(page_size=100).executions)
    return figures


# main ------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--db",
        help="PostgreSQL server URL (a maintenance database such as "
        "postgresql://USER@HOST/postgres; each part creates its own database)",
    )
    parser.add_argument("--executions", type=int, default=1_000_000, help="rows for the List part")
    parser.add_argument("--skip-list", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import psycopg

    server = None
    if args.db:
        admin = args.db
    else:
        from tests.pg import PostgresServer

        server = PostgresServer.start(DURABLE)
        admin = server.dsn()
    made = []

    def new_db() -> str:
        name = f"catenary_bench_{os.getpid()}_{len(made)}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return admin.rsplit("/", 1)[0] + "/" + name

    out: dict[str, Any] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    try:
        with psycopg.connect(admin) as conn:
            out["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
            out["synchronous_commit"] = conn.execute("SHOW synchronous_commit").fetchone()[0]
            out["fsync"] = conn.execute("SHOW fsync").fetchone()[0]
        out["record"] = [
            bench_record(new_db, p, t, runs, 10, s)
            for p, t, runs, s in (
                (1, 1, 30, 1),
                (1, 1, 30, 10),
                (2, 16, 4, 1),
                (2, 16, 4, 10),
                (2, 32, 4, 10),
                (2, 16, 2, 100),
            )
        ]
        out["engine"] = [
            bench_engine(new_db, p, t, runs, 10, s)
            for p, t, runs, s in ((1, 1, 10, 10), (2, 8, 4, 10), (2, 8, 2, 100))
        ]
        if not args.skip_list:
            out["list"] = bench_list(new_db(), args.executions)
    finally:
        if server is not None:
            server.stop()
        else:
            with psycopg.connect(admin, autocommit=True) as conn:
                for name in made:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(
        f"catenary PostgreSQL store: PostgreSQL {out['postgresql']} (fsync {out['fsync']}, "
        f"synchronous_commit {out['synchronous_commit']}), Python {out['python']}, {out['cpus']} CPUs"
    )
    print(
        "(a) recording, store level   writers  exec/step  executions  steps/transaction  "
        "transactions/s      exec/s"
    )
    for r in out["record"]:
        print(
            f"    {r['processes']} proc x {r['threads']:>2} threads {r['processes'] * r['threads']:>7}"
            f"  {r['per_commit']:>9}  {r['executions']:>10,}  {r['commits'] / r['transactions']:>17.1f}"
            f"  {r['transactions'] / r['seconds']:>14,.0f}  {r['rate']:>10,.0f}"
        )
    print("(b) engine, end to end       writers  exec/step  executions      exec/s")
    for r in out["engine"]:
        print(
            f"    {r['processes']} proc x {r['threads']:>2} threads {r['processes'] * r['threads']:>7}"
            f"  {r['per_commit']:>9}  {r['executions']:>10,}  {r['rate']:>10,.0f}"
        )
    if "list" in out:
        lst = out["list"]
        print(
            f"(c) List at {lst['executions']:,} executions (loaded in {lst['load_seconds']:.0f} s), "
            f"page size 100, ms:"
        )
        for name, value in lst.items():
            if isinstance(value, dict):
                print(f"    {name:<22} p50 {value['p50']:7.2f}   p99 {value['p99']:7.2f}")


if __name__ == "__main__":
    main()
