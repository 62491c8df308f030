"""Concurrency: several processes on one SQLite data dir, many subscribers, slow subscribers."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

from catenary import ExecutionFailedError, ExecutionFilter, RunStateError
from catenary.sdk import Node
from catenary.sdk.doctor import Doctor
from catenary.sdk.updates import UpdateHub

from . import crash_worker


def open_node(data_dir: Path) -> Node:
    node = Node(data_dir)
    for op in (crash_worker.mix, crash_worker.add, crash_worker.pick):
        node.registry.add(op)
    node.operations.publish()
    return node


def step_runs(data_dir: str, seed: int, runs: int, queue) -> None:  # noqa: ANN001
    """A child process: run `runs` workflows to the end; report outcomes, never raise."""
    node = open_node(Path(data_dir))
    wf = node.workflows.create(crash_worker.manifest())
    outcomes = {"completed": 0, "failed": 0, "unexpected": []}
    for i in range(runs):
        try:
            node.runs.run(wf.id, {0: [(seed * 1000 + i) % 40], 1: [(seed + i) % 40]})
            outcomes["completed"] += 1
        except ExecutionFailedError:
            outcomes["failed"] += 1
        except Exception as exc:  # noqa: BLE001 - what the test must prove never happens
            outcomes["unexpected"].append(f"{type(exc).__name__}: {exc}")
    queue.put(outcomes)
    node.close()


def test_processes_step_runs_on_one_data_dir_without_lock_errors(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("forkserver")
    queue = ctx.Queue()
    data_dir = tmp_path / "data"
    open_node(data_dir).close()
    workers = [ctx.Process(target=step_runs, args=(str(data_dir), seed, 25, queue)) for seed in range(4)]
    for w in workers:
        w.start()
    results = [queue.get(timeout=300) for _ in workers]
    for w in workers:
        w.join()
    assert all(r["unexpected"] == [] for r in results), results
    assert sum(r["completed"] + r["failed"] for r in results) == 100
    with open_node(data_dir) as node:
        report = Doctor(node.store).check()
        assert report.ok, report.findings[:5]
        assert len(node.runs.list(None, 1000)) == 100


def test_one_run_stepped_from_two_threads_commits_each_segment_once(tmp_path: Path) -> None:
    node = open_node(tmp_path / "data")
    other = open_node(tmp_path / "data")  # a second connection, as a second process would have
    wf = node.workflows.create(crash_worker.manifest())
    run = node.runs.new(wf.id)
    refused: list[Exception] = []
    barrier = threading.Barrier(2)

    def step(n: Node) -> None:
        barrier.wait()
        try:
            n.runs.next(run.id, [3])
        except RunStateError as exc:
            refused.append(exc)

    threads = [threading.Thread(target=step, args=(n,)) for n in (node, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    state = node.runs.get(run.id)
    # Either the second caller lost the commit race for segment 0 (refused, nothing stored),
    # or it started after the first committed and stepped segment 1 itself.
    assert (len(refused), state.next_segment) in ((1, 1), (0, 2))
    recorded = node.executions.list(None, 100).executions
    for segment, length in ((0, 2), (1, 2)):
        if segment < state.next_segment:
            assert len([e for e in recorded if e.segment == segment]) == length
    node.close()
    other.close()


def test_hundred_subscribers_and_ten_writers(tmp_path: Path) -> None:
    node = open_node(tmp_path / "data")
    wf = node.workflows.create(crash_worker.manifest())
    start = node.executions.latest_seq()
    stops = [threading.Event() for _ in range(100)]
    seen: list[list[int]] = [[] for _ in range(100)]

    def subscribe(i: int) -> None:
        for execution in node.executions.updates(None, start, stop=stops[i]):
            seen[i].append(execution.seq)

    def write(w: int) -> None:
        for i in range(5):
            try:
                node.runs.run(wf.id, {0: [(w * 7 + i) % 40], 1: [(w + i) % 40]})
            except ExecutionFailedError:
                pass

    subs = [threading.Thread(target=subscribe, args=(i,)) for i in range(100)]
    for t in subs:
        t.start()
    writers = [threading.Thread(target=write, args=(w,)) for w in range(10)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    top = node.executions.latest_seq()
    deadline = threading.Event()
    for _ in range(200):
        if all(s and s[-1] == top for s in seen):
            break
        deadline.wait(0.05)
    for s in stops:
        s.set()
    for t in subs:
        t.join(10)
    expected = list(range(start + 1, top + 1))
    assert all(s == expected for s in seen), "a subscriber missed or repeated a change"
    node.close()


def test_slow_subscriber_neither_stalls_writers_nor_grows_memory(tmp_path: Path) -> None:
    node = open_node(tmp_path / "data")
    wf = node.workflows.create(crash_worker.manifest())
    hub = UpdateHub(node.store, poll_interval=0.01, capacity=4)
    start = node.store.max_seq()
    slow = hub.updates(ExecutionFilter(), start, None)
    writes_done = threading.Event()

    def write() -> None:
        for i in range(60):
            try:
                node.runs.run(wf.id, {0: [i % 40], 1: [(i * 3) % 40]})
            except ExecutionFailedError:
                pass
        writes_done.set()

    # The first next() subscribes; then the subscriber stops reading while writers run.
    writer = threading.Thread(target=write)
    node.runs.run(wf.id, {0: [1], 1: [2]})
    got = [next(slow)]
    writer.start()
    assert writes_done.wait(120), "writers stalled behind a subscriber that does not read"
    writer.join()
    subscriber = next(iter(hub._subscribers))
    assert len(subscriber.batches) <= 4  # bounded: old batches were dropped, not kept
    top = node.store.max_seq()
    for execution in slow:
        got.append(execution)
        if execution.seq == top:
            break
    seqs = [e.seq for e in got]
    assert seqs == list(range(start + 1, top + 1)), "the slow subscriber lost or repeated changes"
    hub.close()
    node.close()
