#!/usr/bin/env python
"""Execution API latency and streaming through a real gRPC server on loopback.

    .venv/bin/python benchmarks/api_latency.py [--executions 1000000] [--data-dir DIR] [--json]

On a DB of N executions (bulk-loaded with benchmarks/bulk_load.py, reused if DIR has one):
  - List p50/p99, page_size 100, status filter, first page and a page deep in the data (5,000
    pages, or halfway down the matches on a DB too small for that; the page is checked full);
  - Get p50/p99 of distinct executions drawn at random from the whole DB;
  - Updates: latency from commit to subscriber (p50/p99) while a writer steps runs, both ends
    on one clock (time.perf_counter in this process: the commit's end is taken inside the
    store, just before it wakes the subscribers), not clamped;
  - stream throughput: executions/s replayed to one subscriber, one per message and batched;
  - what validating every CID of the rows read costs the replay (the store's read);
  - 100 concurrent subscribers held while 10 writers step runs (all receive everything).
Not a test: it prints figures for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bulk_load import inc, load  # noqa: E402

from catenary.api import Server  # noqa: E402
from catenary.cid import CID  # noqa: E402
from catenary.client import Client  # noqa: E402
from catenary.client.client import UPDATES_BATCH  # noqa: E402
from catenary.model import Status  # noqa: E402
from catenary.model.filter import ExecutionFilter  # noqa: E402
from catenary.sdk import Node  # noqa: E402
from catenary.sdk.execution import _make_token  # noqa: E402  (to jump 5,000 pages deep)
from catenary.store.base import StepCommit  # noqa: E402
from catenary.store.rows import COLUMNS, row_to_execution, trusted_row_to_execution  # noqa: E402


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def commit_clock(node: Node) -> dict[bytes, float]:
    """Execution hash -> when its commit ended (perf_counter), taken inside the store just
    before it wakes the subscribers: the moment a subscriber can first see the change. A
    benchmark-only wrapper around the store's commit and notification."""
    committed: dict[bytes, float] = {}
    pending = threading.local()
    store = node.store
    commit_step, notify = store.commit_step, store._notify

    def timed_commit(step: StepCommit) -> bool:
        pending.hashes = [e.hash.cid_bytes for e in step.executions]
        try:
            return commit_step(step)
        finally:
            pending.hashes = []

    def timed_notify() -> None:
        now = time.perf_counter()
        for h in getattr(pending, "hashes", ()):
            committed.setdefault(h, now)
        notify()

    store.commit_step = timed_commit  # type: ignore[method-assign]
    store._notify = timed_notify  # type: ignore[method-assign]
    return committed


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
    # A page deep in the data: 5,000 pages down, or halfway down the matches on a smaller DB.
    # The token is the id of the row just above the page (keyset: the page is id < token).
    matching = node.store._read("SELECT count(*) FROM executions WHERE status = 'completed'")[0][0]
    depth = min(5000, matching // 100 // 2)
    above = node.store._read(
        "SELECT id FROM executions WHERE status = 'completed' ORDER BY id DESC LIMIT 1 OFFSET ?",
        [depth * 100 - 1],
    )[0][0]
    deep_token = _make_token(above, flt)
    page = client.executions.list(flt, 100, deep_token)
    assert len(page.executions) == 100, f"the page {depth} deep has {len(page.executions)} executions"
    deep = timed(lambda: client.executions.list(flt, 100, deep_token), args.samples)
    # Distinct executions drawn from the whole DB, each read once (no hot window).
    hashes = iter(
        [
            CID(r[0])
            for r in node.store._read("SELECT hash FROM executions ORDER BY random() LIMIT ?", [args.samples])
        ]
    )
    gets = timed(lambda: client.executions.get(next(hashes)), args.samples)
    figures.update(
        list_deep_pages=depth,
        list_first_p50=pct(first, 50),
        list_first_p99=pct(first, 99),
        list_deep_p50=pct(deep, 50),
        list_deep_p99=pct(deep, 99),
        get_p50=pct(gets, 50),
        get_p99=pct(gets, 99),
    )

    # Stream throughput: replay the newest 200,000 changes to one subscriber, one execution per
    # message (what buf curl and older clients get) and batched (the Python client's default).
    replay = min(200_000, int(figures["executions"]))
    start_seq = int(figures["executions"]) - replay
    for name, batch in (("stream_per_s", UPDATES_BATCH), ("stream_unbatched_per_s", 0)):
        stop = threading.Event()
        t = time.perf_counter()
        count = 0
        for _execution in client.executions.updates(since_seq=start_seq, stop=stop, batch=batch):
            count += 1
            if count == replay:
                break
        figures[name] = replay / (time.perf_counter() - t)
        stop.set()

    # What validating every link of the rows read costs: the store now skips it for its own rows.
    rows = node.store._read(f"SELECT {COLUMNS} FROM executions ORDER BY seq DESC LIMIT 20000")
    for name, convert_row in (
        ("row_validated_us", row_to_execution),
        ("row_trusted_us", trusted_row_to_execution),
    ):
        t = time.perf_counter()
        for row in rows:
            convert_row(row)
        figures[name] = (time.perf_counter() - t) * 1e6 / len(rows)

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
    committed = commit_clock(node)
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
        h = result.final.cid_bytes
        for _ in range(200):
            if h in arrivals:
                break
            time.sleep(0.001)
        if h in arrivals:
            one.append((arrivals[h] - committed[h]) * 1000)
    one_stop.set()
    figures.update(updates_one_p50=pct(one, 50), updates_one_p99=pct(one, 99), updates_one_min=min(one))

    # 100 subscribers held while 10 writers run, and the latency seen by one of them.
    latencies: list[float] = []
    subscribers = 100
    received = [0] * subscribers
    ready = [threading.Event() for _ in range(subscribers)]
    stops = [threading.Event() for _ in range(subscribers)]
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

    def write(w: int) -> None:
        c = Client(server.address, key=node.identity)
        for i in range(per_writer):
            run = c.runs.new(wf.id)
            c.runs.next(run.id, [w * 1_000_000 + i])
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
    latencies.extend((arrived - committed[h]) * 1000 for h, arrived in pending_arrivals if h in committed)
    figures.update(
        subscribers=subscribers,
        writers=writers,
        subscribers_complete=sum(1 for n in received if n == writers * per_writer),
        updates_p50=pct(latencies, 50) if latencies else float("nan"),
        updates_p99=pct(latencies, 99) if latencies else float("nan"),
        updates_min=min(latencies) if latencies else float("nan"),
    )
    server.stop(grace=1)
    node.close()
    if args.json:
        print(json.dumps(figures))
        return
    print(f"DB of {int(figures['executions']):,} executions (data dir {data_dir})")
    print(
        f"List first page (100, status filter): p50 {figures['list_first_p50']:.2f} ms  "
        f"p99 {figures['list_first_p99']:.2f} ms"
    )
    print(
        f"List {figures['list_deep_pages']:,} pages deep:   p50 {figures['list_deep_p50']:.2f} ms  "
        f"p99 {figures['list_deep_p99']:.2f} ms"
    )
    print(
        f"Get (distinct, whole DB):             p50 {figures['get_p50']:.2f} ms  "
        f"p99 {figures['get_p99']:.2f} ms"
    )
    print(
        f"Updates commit->subscriber, 1 subscriber, sequential writes: "
        f"p50 {figures['updates_one_p50']:.2f} ms  "
        f"p99 {figures['updates_one_p99']:.2f} ms  min {figures['updates_one_min']:.2f} ms"
    )
    print(
        f"Updates commit->subscriber 0 of 100, 10 concurrent writers: "
        f"p50 {figures['updates_p50']:.2f} ms  p99 {figures['updates_p99']:.2f} ms  "
        f"min {figures['updates_min']:.2f} ms"
    )
    print(
        f"Stream replay to one subscriber: {figures['stream_per_s']:,.0f} executions/s batched "
        f"({UPDATES_BATCH} a message), {figures['stream_unbatched_per_s']:,.0f}/s one per message"
    )
    print(
        f"Store read per row, replaying: {figures['row_validated_us']:.1f} us validating every CID, "
        f"{figures['row_trusted_us']:.1f} us without (what the store does for its own rows)"
    )
    print(
        f"{subscribers} subscribers x {writers} writers: {figures['subscribers_complete']}/{subscribers} "
        f"received all {writers * per_writer} new executions"
    )


if __name__ == "__main__":
    main()
