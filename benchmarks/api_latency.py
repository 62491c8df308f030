#!/usr/bin/env python
"""Execution API latency and streaming through a real gRPC server on loopback.

    .venv/bin/python benchmarks/api_latency.py [--executions 1000000] [--data-dir DIR] [--json]

On a DB of N executions (bulk-loaded with benchmarks/bulk_load.py, reused if DIR has one):
  - List p50/p99, page_size 100, status filter, first page and a page 5,000 pages deep;
  - Get p50/p99 of random executions;
  - Updates: latency from commit to subscriber (p50/p99) while a writer steps runs;
  - stream throughput: executions/s replayed to one subscriber;
  - 100 concurrent subscribers held while 10 writers step runs (all receive everything).
Not a test: it prints figures for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bulk_load import inc, load  # noqa: E402

from catenary.api import Server  # noqa: E402
from catenary.client import Client  # noqa: E402
from catenary.model import Status  # noqa: E402
from catenary.model.filter import ExecutionFilter  # noqa: E402
from catenary.sdk import Node  # noqa: E402
from catenary.sdk.execution import _make_token  # noqa: E402  (to jump 5,000 pages deep)


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--executions", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="catenary-api-bench-"))
    if not (data_dir / "catenary.db").exists():
        print(f"bulk-loading {args.executions:,} executions into {data_dir}", file=sys.stderr)
        t = time.perf_counter()
        load(data_dir, args.executions).close()
        print(f"loaded in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    node = Node(data_dir)
    node.registry.add(inc)
    server = Server(node, "127.0.0.1:0", max_workers=256).start()
    client = Client(server.address, key=node.identity)
    figures: dict[str, float] = {"executions": node.executions.latest_seq()}

    flt = ExecutionFilter(statuses=(Status.COMPLETED,))
    first = timed(lambda: client.executions.list(flt, 100), args.samples)
    top = node.store.list_executions(ExecutionFilter(), 1, None)[0]
    newest_id = node.store._read("SELECT max(id) FROM executions")[0][0]
    deep_token = _make_token(max(1, newest_id - 5000 * 100), flt)
    deep = timed(lambda: client.executions.list(flt, 100, deep_token), args.samples)
    hashes = [
        e.hash
        for e in node.store.list_executions(ExecutionFilter(), 1000, random.randint(1000, newest_id))[0]
    ]
    gets = timed(lambda: client.executions.get(random.choice(hashes)), args.samples)
    figures.update(
        list_first_p50=pct(first, 50),
        list_first_p99=pct(first, 99),
        list_deep_p50=pct(deep, 50),
        list_deep_p99=pct(deep, 99),
        get_p50=pct(gets, 50),
        get_p99=pct(gets, 99),
    )
    assert top is not None

    # Stream throughput: replay the newest 200,000 changes to one subscriber.
    replay = min(200_000, int(figures["executions"]))
    start_seq = int(figures["executions"]) - replay
    stop = threading.Event()
    t = time.perf_counter()
    count = 0
    for execution in client.executions.updates(since_seq=start_seq, stop=stop):
        count += 1
        if count == replay:
            break
    figures["stream_per_s"] = replay / (time.perf_counter() - t)

    wf = node.workflows.create(
        {
            "data": {
                "name": "tiny",
                "creators": [],
                "description": "",
                "groups": [],
                "segments": [{"inputs": [-1], "sequence": [{"op": "bench/inc", "config": {}}]}],
            }
        }
    )
    # Commit -> subscriber latency with one subscriber, writes one at a time.
    one: list[float] = []
    arrivals: dict[bytes, float] = {}
    one_ready, one_stop = threading.Event(), threading.Event()

    def listen_one() -> None:
        c = Client(server.address, key=node.identity)
        for execution in c.executions.updates(from_now=True, stop=one_stop, ready=one_ready):
            arrivals[execution.hash.cid_bytes] = time.perf_counter()
        c.close()

    threading.Thread(target=listen_one, daemon=True).start()
    one_ready.wait(30)
    for i in range(200):
        run = client.runs.new(wf.id)
        result = client.runs.next(run.id, [10_000_000 + i])
        returned = time.perf_counter()
        for _ in range(200):
            if result.final.cid_bytes in arrivals:
                break
            time.sleep(0.001)
        if result.final.cid_bytes in arrivals:
            one.append(max(0.0, (arrivals[result.final.cid_bytes] - returned) * 1000))
    one_stop.set()
    figures.update(updates_one_p50=pct(one, 50), updates_one_p99=pct(one, 99))

    # 100 subscribers held while 10 writers run, and the latency seen by one of them.
    latencies: list[float] = []
    subscribers = 100
    received = [0] * subscribers
    ready = [threading.Event() for _ in range(subscribers)]
    stops = [threading.Event() for _ in range(subscribers)]
    commit_times: dict[bytes, float] = {}
    pending_arrivals: list[tuple[bytes, float]] = []

    def subscribe(i: int) -> None:
        c = Client(server.address, key=node.identity)
        for execution in c.executions.updates(from_now=True, stop=stops[i], ready=ready[i]):
            received[i] += 1
            if i == 0:
                arrived = time.perf_counter()
                pending_arrivals.append((execution.hash.cid_bytes, arrived))
        c.close()

    threads = [threading.Thread(target=subscribe, args=(i,), daemon=True) for i in range(subscribers)]
    for th in threads:
        th.start()
    for r in ready:
        r.wait(30)
    writers = 10
    per_writer = 50
    lock = threading.Lock()

    def write(w: int) -> None:
        c = Client(server.address, key=node.identity)
        for i in range(per_writer):
            run = c.runs.new(wf.id)
            result = c.runs.next(run.id, [w * 1_000_000 + i])
            # Measured from when next() returned (the commit is done by then); a subscriber
            # that got it earlier counts as 0.
            with lock:
                commit_times.setdefault(result.final.cid_bytes, time.perf_counter())
        c.close()

    wthreads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for th in wthreads:
        th.start()
    for th in wthreads:
        th.join()
    deadline = time.time() + 30
    while min(received) < writers * per_writer and time.time() < deadline:
        time.sleep(0.05)
    for s in stops:
        s.set()
    latencies.extend(
        max(0.0, (arrived - commit_times[h]) * 1000) for h, arrived in pending_arrivals if h in commit_times
    )
    figures.update(
        subscribers=subscribers,
        writers=writers,
        subscribers_complete=sum(1 for n in received if n == writers * per_writer),
        updates_p50=pct(latencies, 50) if latencies else float("nan"),
        updates_p99=pct(latencies, 99) if latencies else float("nan"),
    )
    server.stop(grace=1)
    node.close()
    if args.json:
        print(json.dumps(figures))
        return
    print(f"DB of {int(figures['executions']):,} executions (data dir {data_dir})")
    print(
        f"List first page (100, status filter): p50 {figures['list_first_p50']:.2f} ms  p99 {figures['list_first_p99']:.2f} ms"
    )
    print(
        f"List 5,000 pages deep:                p50 {figures['list_deep_p50']:.2f} ms  p99 {figures['list_deep_p99']:.2f} ms"
    )
    print(
        f"Get:                                  p50 {figures['get_p50']:.2f} ms  p99 {figures['get_p99']:.2f} ms"
    )
    print(
        f"Updates commit->subscriber, 1 subscriber, sequential writes: p50 {figures['updates_one_p50']:.2f} ms  "
        f"p99 {figures['updates_one_p99']:.2f} ms"
    )
    print(
        f"Updates commit->subscriber 0 of 100, 10 concurrent writers: "
        f"p50 {figures['updates_p50']:.2f} ms  p99 {figures['updates_p99']:.2f} ms"
    )
    print(f"Stream replay to one subscriber: {figures['stream_per_s']:,.0f} executions/s")
    print(
        f"{subscribers} subscribers x {writers} writers: {figures['subscribers_complete']}/{subscribers} "
        f"received all {writers * per_writer} new executions"
    )


if __name__ == "__main__":
    main()
