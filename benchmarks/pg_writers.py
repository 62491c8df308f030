#!/usr/bin/env python
"""Executions recorded per second by 1, 2 and 3 nodes writing to one PostgreSQL, and the lock
waits of each (issue 15 item 7). Not a test: run it directly.

    .venv/bin/python benchmarks/pg_writers.py [--compare OTHER_CHECKOUT] [--rounds 3] [--json]

Each node is a process with its own ``PostgresStore`` whose T threads step their own runs
through ``Store.commit_step`` (the step commits built before the clock starts, as in
``benchmarks/postgres_store.py`` part (a): only the store is timed). While they write, a
sampler reads ``pg_stat_activity`` every 2 ms and counts, over the nodes' active backends,
how many samples wait on a heavyweight lock (``wait_event_type = 'Lock'``: a row lock held by
another transaction, ``transactionid``/``tuple``, or an advisory lock, ``advisory``) and on
the WAL flush (``IO``/``WALSync``, ``LWLock``/``WALWrite``).

The server is a throwaway one (tests/pg.py) with the durable settings (``fsync`` and
``synchronous_commit`` on: every commit waits for its flush). ``--compare DIR`` runs the
same configurations with the catenary of another checkout (e.g. the commit before the
sequencer, made with ``git archive``), interleaved round by round with this one, so that the
machine's load hits both alike; each configuration runs in a fresh database.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Appended, not prepended: a child run for another checkout finds that checkout's catenary
# first (its PYTHONPATH), and this one's tests.pg either way.
sys.path.append(str(ROOT))

NODES = (1, 2, 3)


def sample_waits(dsn: str, stop: threading.Event, counts: Counter[str]) -> None:
    """Count, every 2 ms until ``stop``, the nodes' active backends by what they wait on."""
    import psycopg

    from catenary.store.postgres import APPLICATION

    with psycopg.connect(dsn, autocommit=True) as conn:
        while not stop.is_set():
            for kind, event, n in conn.execute(
                "SELECT coalesce(wait_event_type, 'CPU'), coalesce(wait_event, '-'), count(*) "
                "FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = %s AND state = 'active' GROUP BY 1, 2",
                (APPLICATION,),
            ).fetchall():
                counts[f"{kind}:{event}"] += n
                counts["active"] += n
            counts["samples"] += 1
            time.sleep(0.002)


def child(admin: str, nodes: int, threads: int, runs: int, segments: int, steps: int) -> dict[str, Any]:
    """One configuration in a new database: the figures as a dict (printed as JSON)."""
    import psycopg

    import catenary
    from benchmarks.postgres_store import new_workflow, record_worker, run_processes

    name = f"catenary_writers_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = admin.rsplit("/", 1)[0] + "/" + name
    try:
        workflow = new_workflow(dsn, segments, steps)
        counts: Counter[str] = Counter()
        stop = threading.Event()
        sampler = threading.Thread(target=sample_waits, args=(dsn, stop, counts), daemon=True)
        sampler.start()
        items, wall, transactions = run_processes(
            record_worker, nodes, dsn, workflow, threads, runs, segments, steps
        )
        stop.set()
        sampler.join()
        with psycopg.connect(dsn) as conn:
            seqs = conn.execute("SELECT count(*), count(DISTINCT seq), max(seq) FROM executions").fetchone()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    active = max(counts["active"], 1)
    return {
        "code": str(Path(catenary.__file__).resolve().parent.parent),
        "nodes": nodes,
        "threads": threads,
        "executions": items,
        "transactions": transactions,
        "seconds": wall,
        "rate": items / wall,
        "rows_numbered": list(seqs) if seqs else None,
        "active_samples": counts["active"],
        "lock_wait_share": sum(v for k, v in counts.items() if k.startswith("Lock:")) / active,
        "waits": {k: v / active for k, v in counts.most_common() if k not in ("active", "samples")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--compare", type=Path, help="another checkout to run side by side")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8, help="threads per node")
    parser.add_argument("--runs", type=int, default=4, help="runs per thread")
    parser.add_argument("--segments", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10, help="executions per step commit")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("ADMIN_URL", "NODES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    shape = (args.threads, args.runs, args.segments, args.steps)
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), *shape)))
        return

    from benchmarks.postgres_store import DURABLE
    from tests.pg import PostgresServer

    trees = [ROOT] + ([args.compare.resolve()] if args.compare else [])
    server = PostgresServer.start(DURABLE)
    results: list[dict[str, Any]] = []
    try:
        for round_ in range(args.rounds):
            for tree in trees:
                for nodes in NODES:
                    command = [
                        sys.executable,
                        str(tree / "benchmarks" / "pg_writers.py"),
                        "--child",
                        server.dsn(),
                        str(nodes),
                        *("--threads", str(args.threads), "--runs", str(args.runs)),
                        *("--segments", str(args.segments), "--steps", str(args.steps)),
                    ]
                    env = {**os.environ, "PYTHONPATH": str(tree)}
                    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
                    if done.returncode != 0:
                        raise SystemExit(f"{tree} with {nodes} nodes failed:\n{done.stderr[-3000:]}")
                    figures = json.loads(done.stdout.strip().splitlines()[-1])
                    figures.update(round=round_ + 1, tree=str(tree), load=os.getloadavg()[0])
                    results.append(figures)
                    print(
                        f"round {round_ + 1} {tree.name:<16} {nodes} node(s): "
                        f"{figures['rate']:8,.0f} exec/s, "
                        f"lock waits {100 * figures['lock_wait_share']:5.1f}% of active backend samples, "
                        f"load {figures['load']:.1f}",
                        file=sys.stderr,
                    )
    finally:
        server.stop()
    out = {"python": platform.python_version(), "cpus": os.cpu_count(), "shape": shape, "runs": results}
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{args.threads} threads per node, {args.runs} runs each, {args.segments} segments of {args.steps}")
    print(f"{'code':<18} nodes  exec/s (median, range)        lock waits (median)  top waits")
    for tree in trees:
        for nodes in NODES:
            mine = [r for r in results if r["tree"] == str(tree) and r["nodes"] == nodes]
            rates = [r["rate"] for r in mine]
            share = statistics.median(r["lock_wait_share"] for r in mine)
            top = Counter[str]()
            for r in mine:
                top.update(r["waits"])
            waits = ", ".join(f"{k} {100 * v / len(mine):.0f}%" for k, v in top.most_common(4))
            print(
                f"{tree.name:<18} {nodes:>5}  {statistics.median(rates):8,.0f} "
                f"({min(rates):,.0f}-{max(rates):,.0f})  {100 * share:17.1f}%  {waits}"
            )


if __name__ == "__main__":
    main()
