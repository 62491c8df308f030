#!/usr/bin/env python
"""List p99 per filter at 1,000,000 executions, on SQLite and on PostgreSQL (issue 15 item 7,
issue 16 item 5). Not a test: run it directly.

    .venv/bin/python benchmarks/list_filters.py [--executions 1000000] [--samples 200] [--json]

Both stores get the same rows, written straight into their tables (not through the engine,
to save time): 10,000 runs of 100 executions over 20 workflows, 1 to 20 segments per run
(so high segment numbers are rare), 3 operations, 1 in 50 ``failed`` and 1 in 1,000
``in_progress``; every ``hash`` and ``key`` computed from its pre-image; each execution takes
the previous output, and 1 in 10 also a value shared by 1 in 100 runs (~10,000 takers each);
``created_at`` rises with the id with a jitter of +-50 executions. Value blocks are not
stored (List does not read them). The PostgreSQL server is a throwaway one (tests/pg.py) with
the durable settings; it is ANALYZEd after the load (autovacuum would on a live database);
the SQLite file is not (catenary never runs ANALYZE).

Each case calls ``Store.list_executions(filter, 100, None)`` (the page of 100 decoded into
``Execution`` records, as the sdk's List does) with a value drawn at random per call, 20
warm-up calls then ``--samples`` timed ones; p50, p99 and max in ms. After each call the same
statement is timed alone (``_read``: the rows, not decoded into records), which separates what
the index does from the Python cost of 100 records.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.pg, the throwaway server

from catenary.cid import CID, cid_of  # noqa: E402
from catenary.model import Status, hash_data, key_data  # noqa: E402
from catenary.model.filter import ExecutionFilter  # noqa: E402
from catenary.store import spans  # noqa: E402
from catenary.store.rows import config_bytes, links_bytes  # noqa: E402
from catenary.store.sql import SQLStore  # noqa: E402

PER_RUN = 100
WORKFLOWS = [cid_of(f"workflow {i}") for i in range(20)]
OPERATIONS = [cid_of(f"operation {i}") for i in range(3)]
SHARED = [cid_of(f"shared value {i}") for i in range(100)]
BASE = 1_700_000_000_000_000_000
CHUNK = 50_000


_MADE: dict[int, tuple[list[list[tuple[Any, ...]]], dict[str, list[Any]]]] = {}


def rows(total: int, sample: dict[str, list[Any]]) -> Iterator[list[tuple[Any, ...]]]:
    """:func:`make_rows`, made once for both stores (hashing a million rows takes a while)."""
    if total not in _MADE:
        made: dict[str, list[Any]] = {k: [] for k in sample}
        _MADE[total] = (list(make_rows(total, made)), made)
    chunks, made = _MADE[total]
    for k, v in made.items():
        sample[k].extend(v)
    yield from chunks


def make_rows(total: int, sample: dict[str, list[Any]]) -> Iterator[list[tuple[Any, ...]]]:
    """Chunks of execution rows (the columns of :data:`COLUMNS`); ``sample`` collects values
    to filter by."""
    rng = random.Random(15)
    chunk: list[tuple[Any, ...]] = []
    i = 0
    for r in range(total // PER_RUN):
        run, workflow = cid_of(f"run {r}"), WORKFLOWS[r % len(WORKFLOWS)]
        segments = 1 + r % 20
        parent, value = cid_of(f"event {r}"), cid_of(f"seed {r}")
        index = 0
        for segment in range(segments):
            steps = PER_RUN // segments + (1 if segment < PER_RUN % segments else 0)
            for step in range(steps):
                i += 1
                op = OPERATIONS[index % 3]
                inputs = [value, SHARED[r % 100]] if index % 10 == 0 else [value]
                h = cid_of(hash_data(workflow, segment, step, op, {}, [parent], inputs))
                k = cid_of(key_data(op, {}, inputs))
                status = Status.FAILED if i % 50 == 49 else Status.IN_PROGRESS if i % 1000 == 500 else None
                out = None if status else cid_of(["output", i])
                created = BASE + (i + rng.randint(-50, 50)) * 1000
                chunk.append(
                    (
                        h.cid_bytes,
                        k.cid_bytes,
                        workflow.cid_bytes,
                        run.cid_bytes,
                        segment,
                        step,
                        op.cid_bytes,
                        config_bytes({}),
                        links_bytes((parent,)),
                        links_bytes(tuple(inputs)),
                        (status or Status.COMPLETED).value,
                        out.cid_bytes if out else None,
                        "bench failure" if status is Status.FAILED else None,
                        "bench",
                        None,
                        created,
                        created,
                        None if status is Status.IN_PROGRESS else created,
                        i,  # seq
                        i,  # id
                    )
                )
                if i % 997 == 0:
                    sample["hashes"].append(h)
                    sample["keys"].append(k)
                    sample["runs"].append(run)
                    if out:
                        sample["outputs"].append(out)
                        sample["inputs"].append(out)  # the next execution takes it
                parent, value = h, out or value
                index += 1
                if len(chunk) == CHUNK:
                    yield chunk
                    chunk = []
    if chunk:
        yield chunk


def edges(chunk: list[tuple[Any, ...]]) -> tuple[list[tuple[bytes, int]], list[tuple[bytes, int]]]:
    from catenary.cid import decode

    parents = [(c.cid_bytes, row[-1]) for row in chunk for c in decode(row[8])]
    inputs = [
        (c.cid_bytes, row[-1]) for row in chunk for c in {x.cid_bytes: x for x in decode(row[9])}.values()
    ]
    return parents, inputs


COLUMNS = (
    "hash, key, workflow, run, segment, step, operation, config, parents, inputs, status, output, "
    "error, executor, cached_from, created_at, started_at, finished_at, seq, id"
)


def load_sqlite(path: Path, total: int, sample: dict[str, list[Any]]) -> float:
    from catenary.store import SQLiteStore

    SQLiteStore(path).close()  # the schema
    began = time.perf_counter()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    for chunk in rows(total, sample):
        parents, inputs = edges(chunk)
        db.execute("BEGIN")
        db.executemany(f"INSERT INTO executions ({COLUMNS}) VALUES ({', '.join('?' * 20)})", chunk)
        db.executemany("INSERT OR IGNORE INTO execution_parents VALUES (?, ?)", parents)
        db.executemany("INSERT OR IGNORE INTO execution_inputs VALUES (?, ?)", inputs)
        db.execute("COMMIT")
    db.execute("UPDATE meta SET value = ? WHERE key = 'seq'", (total,))
    db.execute(spans.BACKFILL)  # the rows went in behind the store's back
    db.close()
    return time.perf_counter() - began


def load_postgres(dsn: str, total: int, sample: dict[str, list[Any]]) -> float:
    import psycopg

    from benchmarks.postgres_store import TYPES
    from catenary.store.postgres import PostgresStore

    PostgresStore(dsn).close()  # the schema
    began = time.perf_counter()
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for chunk in rows(total, sample):
            parents, inputs = edges(chunk)
            with cur.copy(f"COPY executions ({COLUMNS}) FROM STDIN (FORMAT BINARY)") as cp:
                cp.set_types(TYPES["executions"])
                for row in chunk:
                    cp.write_row(row)
            for table, pairs in (("execution_parents", parents), ("execution_inputs", inputs)):
                with cur.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as cp:
                    cp.set_types(["bytea", "int8"])
                    for pair in pairs:
                        cp.write_row(pair)
            conn.commit()
        cur.execute("UPDATE meta SET value = %s WHERE key = 'seq'", (total,))
        cur.execute("SELECT setval(pg_get_serial_sequence('executions', 'id'), %s)", (total,))
        cur.execute(spans.BACKFILL)  # the rows went in behind the store's back
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")
    return time.perf_counter() - began


def cases(
    sample: dict[str, list[Any]], total: int, rng: random.Random
) -> dict[str, Callable[[], ExecutionFilter]]:
    def moment() -> int:
        return BASE + rng.randint(0, total) * 1000

    def pick(name: str) -> CID:
        return rng.choice(sample[name])  # type: ignore[no-any-return]

    return {
        "first page (no filter)": lambda: ExecutionFilter(),
        "status = failed (2%)": lambda: ExecutionFilter(statuses=(Status.FAILED,)),
        "status = in_progress (0.1%)": lambda: ExecutionFilter(statuses=(Status.IN_PROGRESS,)),
        "statuses failed or in_progress": lambda: ExecutionFilter(
            statuses=(Status.FAILED, Status.IN_PROGRESS)
        ),
        "workflow (5%)": lambda: ExecutionFilter(workflow=rng.choice(WORKFLOWS)),
        "run (100)": lambda: ExecutionFilter(run=pick("runs")),
        "operation (33%)": lambda: ExecutionFilter(operation=rng.choice(OPERATIONS)),
        "segment (0-19, rare high)": lambda: ExecutionFilter(segment=rng.randrange(20)),
        "parent": lambda: ExecutionFilter(parent=pick("hashes")),
        "key": lambda: ExecutionFilter(key=pick("keys")),
        "output": lambda: ExecutionFilter(output=pick("outputs")),
        "input (1 taker)": lambda: ExecutionFilter(input=pick("inputs")),
        "input (~10,000 takers)": lambda: ExecutionFilter(input=rng.choice(SHARED)),
        "created_after (uniform)": lambda: ExecutionFilter(created_after=moment()),
        "created_before (uniform)": lambda: ExecutionFilter(created_before=moment()),
        "workflow + status failed": lambda: ExecutionFilter(
            workflow=rng.choice(WORKFLOWS), statuses=(Status.FAILED,)
        ),
    }


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def measure(store: SQLStore, sample: dict[str, list[Any]], total: int, samples: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, make in cases(sample, total, random.Random(7)).items():
        for _ in range(20):
            store.list_executions(make(), 100, None)
        timings, queries = [], []
        for _ in range(samples):
            flt = make()
            began = time.perf_counter()
            store.list_executions(flt, 100, None)
            timings.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            store._read(*store.list_query(flt, 100, None))  # the statement alone: rows, not records
            queries.append((time.perf_counter() - began) * 1000)
        out[name] = {
            "p50": pct(timings, 50),
            "p99": pct(timings, 99),
            "max": max(timings),
            "query_p50": pct(queries, 50),
            "query_p99": pct(queries, 99),
        }
        print(
            f"  {name:<32} p50 {out[name]['p50']:8.2f}  p99 {out[name]['p99']:8.2f} ms; "
            f"query alone p50 {out[name]['query_p50']:8.2f}  p99 {out[name]['query_p99']:8.2f}",
            file=sys.stderr,
        )
    return out


def upgrade_sqlite(path: Path) -> float:
    """Seconds to open the database as it was before migrations 14 (segment index, input edges)
    and 15 (created spans, (workflow, status, id) index)."""
    from catenary.store import SQLiteStore
    from catenary.store.sqlite import INPUT_EDGES_MIGRATION

    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DROP TABLE execution_inputs")
    db.execute("DROP INDEX executions_segment")
    db.execute("DROP TABLE created_spans")
    db.execute("DROP INDEX executions_workflow_status")
    db.execute(f"PRAGMA user_version = {INPUT_EDGES_MIGRATION - 1}")
    db.close()
    began = time.perf_counter()
    SQLiteStore(path).close()
    return time.perf_counter() - began


def upgrade_postgres(dsn: str) -> float:
    """Seconds to open the database as it was before migrations 15 and 16 and their
    concurrently built indexes ((segment, id), (workflow, status, id))."""
    import psycopg

    from catenary.store.postgres import PostgresStore
    from catenary.store.postgres.schema import INPUT_EDGES_MIGRATION

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE execution_inputs")
        conn.execute("DROP INDEX executions_segment")
        conn.execute("DROP TABLE created_spans")
        conn.execute("DROP INDEX executions_workflow_status")
        conn.execute("DELETE FROM schema_version WHERE version >= %s", (INPUT_EDGES_MIGRATION,))
    began = time.perf_counter()
    PostgresStore(dsn).close()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--executions", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out: dict[str, Any] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "executions": args.executions,
    }
    work = Path(tempfile.mkdtemp(prefix="catenary-list-"))
    if args.only != "postgresql":
        from catenary.store import SQLiteStore

        sample: dict[str, list[Any]] = {k: [] for k in ("hashes", "keys", "runs", "outputs", "inputs")}
        seconds = load_sqlite(work / "db.sqlite", args.executions, sample)
        print(f"sqlite: loaded in {seconds:.0f} s, load {os.getloadavg()[0]:.1f}", file=sys.stderr)
        store = SQLiteStore(work / "db.sqlite")
        out["sqlite"] = {
            "sqlite": sqlite3.sqlite_version,
            "load_seconds": seconds,
            "load": os.getloadavg()[0],
        }
        out["sqlite"]["cases"] = measure(store, sample, args.executions, args.samples)
        store.close()
        out["sqlite"]["upgrade_seconds"] = upgrade_sqlite(work / "db.sqlite")
        print(
            f"sqlite: migrations 14-15 at {args.executions:,}: {out['sqlite']['upgrade_seconds']:.1f} s",
            file=sys.stderr,
        )
        (work / "db.sqlite").unlink()
    if args.only != "sqlite":
        from benchmarks.postgres_store import DURABLE
        from catenary.store.postgres import PostgresStore
        from tests.pg import PostgresServer

        server = PostgresServer.start(DURABLE)
        try:
            dsn = server.create_database()
            sample = {k: [] for k in ("hashes", "keys", "runs", "outputs", "inputs")}
            seconds = load_postgres(dsn, args.executions, sample)
            print(f"postgresql: loaded in {seconds:.0f} s, load {os.getloadavg()[0]:.1f}", file=sys.stderr)
            pg = PostgresStore(dsn)
            version = pg._read("SHOW server_version")[0][0]
            out["postgresql"] = {"postgresql": version, "load_seconds": seconds, "load": os.getloadavg()[0]}
            out["postgresql"]["cases"] = measure(pg, sample, args.executions, args.samples)
            pg.close()
            out["postgresql"]["upgrade_seconds"] = upgrade_postgres(dsn)
            print(
                f"postgresql: migrations 15-16 + index builds: {out['postgresql']['upgrade_seconds']:.1f} s",
                file=sys.stderr,
            )
        finally:
            server.stop()
    if args.json:
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
