#!/usr/bin/env python
"""Emitted events (issue 17): events ingested per second on SQLite and PostgreSQL, through the
sdk and through gRPC ``Event.Emit``; and the latency from an Emit to the first execution of the
run its trigger starts (SQLite, loopback).

    .venv/bin/python benchmarks/events.py [--events 300] [--samples 200] [--rounds 3] [--clients 8]
        [--no-postgres] [--json]

Ingest: one thread emits ``--events`` events one after another (``node.events.emit``, or a
``Client(key=...)`` that signs each event and calls Emit on a server in this process), and
``--clients`` threads emit through gRPC at once; an event is durable when the call returns.
No trigger exists, so each store is followed by a dispatch that finds nothing. PostgreSQL is
a throwaway server (tests/pg.py) with the durable settings (fsync, synchronous_commit on);
SQLite is WAL with synchronous=NORMAL.

Latency: a trigger on the key starts a one-segment workflow (``std/utf8-encode`` of the
event's string, distinct per event so none is a cache hit). Dispatch runs inside the Emit
call, after the event is stored and before the answer, so the first execution is stored
before the Emit is acknowledged; the figures are from the call sent (client clock) to (a) the
execution finished (its ``finished_at``, the commit follows at once) and (b) the
acknowledgement, against (c) the same Emit with no trigger. Rounds of every part are
interleaved; each round is printed with the load average. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from catenary.api import Server  # noqa: E402
from catenary.client import Client  # noqa: E402
from catenary.sdk import Node  # noqa: E402
from catenary.trust.identity import Identity  # noqa: E402

DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
ENCODE = {
    "data": {
        "name": "encode",
        "creators": [],
        "description": "",
        "groups": ["bench"],
        "segments": [{"inputs": [-1], "sequence": [{"op": "std/utf8-encode", "config": {}}]}],
    }
}
TARGET_P99_MS = 20.0


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


class Served:
    """A node (SQLite, or PostgreSQL with ``db``), its gRPC server and a client with alice's key."""

    def __init__(self, alice: Identity, db: str | None = None) -> None:
        data_dir = Path(tempfile.mkdtemp(prefix="catenary-bench-events-"))
        (data_dir / "policy.toml").write_text(
            f'[rules]\nread = ["self", "{alice.id}"]\n\n[[rules.emit]]\nkeys = ["self", "{alice.id}"]\n'
        )
        self.node = Node(data_dir, db=db) if db else Node(data_dir)
        self.server = Server(self.node, "127.0.0.1:0", max_workers=8).start()
        self.client = Client(self.server.address, key=alice)

    def close(self) -> None:
        self.client.close()
        self.server.stop(grace=1)
        self.node.close()


def ingest(emit: Callable[[str, Any], object], count: int, first: int) -> float:
    """Events per second, ``count`` emitted one after another."""
    t = time.perf_counter()
    for i in range(first, first + count):
        emit("bench.ingest", {"i": i})
    return count / (time.perf_counter() - t)


def ingest_parallel(client: Client, count: int, first: int, threads: int) -> float:
    """Events per second, ``count`` emitted by ``threads`` threads sharing one channel."""
    share = count // threads

    def emit(start: int) -> None:
        for i in range(start, start + share):
            client.events.emit("bench.ingest", {"i": i})

    workers = [threading.Thread(target=emit, args=(first + n * share,)) for n in range(threads)]
    t = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return share * threads / (time.perf_counter() - t)


def latency(served: Served, count: int, first: int) -> tuple[list[float], list[float], list[float]]:
    """(sent -> first execution finished, sent -> ack with the trigger, sent -> ack without
    one), in ms."""
    sent: dict[str, int] = {}
    acked, plain = [], []
    for i in range(first, first + count):
        t0 = time.time_ns()
        stored = served.client.events.emit("bench.latency", {"s": f"event {i}"})
        acked.append((time.time_ns() - t0) / 1e6)
        sent[str(stored.id)] = t0
        t0 = time.time_ns()
        served.client.events.emit("bench.plain", {"s": f"event {i}"})
        plain.append((time.time_ns() - t0) / 1e6)
    to_execution = []
    for firing in served.node.triggers.history("latency", limit=10**6):
        if str(firing.event) not in sent:
            continue
        assert firing.status == "fired" and firing.run is not None, firing
        run = served.node.runs.get(firing.run)
        execution = served.node.executions.get(run.outputs[0].producer)
        assert execution.finished_at is not None
        to_execution.append((execution.finished_at - sent[str(firing.event)]) / 1e6)
    assert len(to_execution) == count, (len(to_execution), count)
    return to_execution, acked, plain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=300, help="events per ingest round")
    parser.add_argument("--samples", type=int, default=200, help="latency samples per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8, help="threads of the parallel gRPC part")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    alice = Identity.generate()
    pg = None
    stores: dict[str, Served] = {"sqlite": Served(alice)}
    if not args.no_postgres:
        from tests.pg import PostgresServer

        pg = PostgresServer.start(DURABLE)
        stores["postgres"] = Served(alice, db=pg.create_database())
    lat = Served(alice)
    wf = lat.node.workflows.create(ENCODE)
    lat.node.triggers.create(
        {"name": "latency", "on": "bench.latency", "workflow": str(wf.id), "inputs": ["$.s"]}
    )
    rows: list[dict[str, Any]] = []
    try:
        for r in range(args.rounds):
            first = r * 10**6
            for name, served in stores.items():
                for path, emit in (("sdk", served.node.events.emit), ("grpc", served.client.events.emit)):
                    rate = ingest(emit, args.events, first)
                    first += args.events
                    rows.append({"round": r, "part": f"ingest {name} {path}", "per_s": rate, "load": load()})
                    print(f"round {r}  ingest {name:8} {path:4}  {rate:7.0f} events/s   load {load()}")
                rate = ingest_parallel(served.client, args.events, first, args.clients)
                first += args.events
                part = f"grpc x{args.clients}"
                rows.append({"round": r, "part": f"ingest {name} {part}", "per_s": rate, "load": load()})
                print(f"round {r}  ingest {name:8} {part}  {rate:7.0f} events/s   load {load()}")
            to_exec, acked, plain = latency(lat, args.samples, first)
            row = {
                "round": r,
                "part": "latency sqlite grpc",
                "exec_p50": pct(to_exec, 50),
                "exec_p99": pct(to_exec, 99),
                "ack_p50": pct(acked, 50),
                "ack_p99": pct(acked, 99),
                "plain_p50": pct(plain, 50),
                "plain_p99": pct(plain, 99),
                "load": load(),
            }
            rows.append(row)
            print(
                f"round {r}  latency sqlite grpc  to first execution p50 {row['exec_p50']:.1f} "
                f"p99 {row['exec_p99']:.1f} ms; ack p50 {row['ack_p50']:.1f} p99 {row['ack_p99']:.1f} ms; "
                f"no trigger p50 {row['plain_p50']:.1f} p99 {row['plain_p99']:.1f} ms   load {load()}"
            )
    finally:
        for served in (*stores.values(), lat):
            served.close()
        if pg is not None:
            pg.stop()
    p99 = statistics.median(r["exec_p99"] for r in rows if "exec_p99" in r)
    verdict = "met" if p99 <= TARGET_P99_MS else f"missed by {p99 - TARGET_P99_MS:.1f} ms"
    print(
        f"event -> first execution p99 (median of rounds) {p99:.1f} ms; "
        f"target {TARGET_P99_MS:.0f} ms {verdict}"
    )
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
