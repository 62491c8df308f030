"""Task queues with real processes: `catenary serve` (SQLite or PostgreSQL) and `catenary
executor` processes that ask it for work (Queue.Claim; docs/design.md, "Task queues").

- Three executors share the work: every execution is claimed exactly once (one `claimed`
  entry in its history, one completion among the executors' lines), nothing refused.
- A zombie (an executor stopped past its lease while its execution went to another) is
  refused and told so, then goes on taking work.
- Runs route remote steps to named queues; each executor takes work from its own queue only.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from catenary.api import Server
from catenary.client import Client
from catenary.errors import ExecutionFailedError
from catenary.model import Status
from catenary.model.filter import ExecutionFilter
from catenary.operations.wasm.abi import parse_manifest
from catenary.sdk import Node
from catenary.trust.identity import Identity
from tests.executors.conftest import REMOTE_OPS
from tests.executors.test_processes import (
    JS_EXECUTOR,
    Processes,
    events,
    free_port,
    node_js,  # noqa: F401 (a fixture)
    processes,  # noqa: F401 (a fixture)
    step_in_background,
    wait_for,
)
from tests.helpers import allow_anonymous, check_hashes, manifest, open_policy

both_stores = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


def serve(processes: Processes, db: str | None) -> tuple[subprocess.Popen[str], str]:
    """`catenary serve` on the test's store (the data dir's SQLite file, or PostgreSQL)."""
    allow_anonymous(processes.data_dir)  # the executors here call without keys
    store = ["--db", db] if db else []
    proc = processes.catenary(
        *store, "--ops", REMOTE_OPS, "--remote-wait", "120", "serve", "--listen", f"127.0.0.1:{free_port()}"
    )
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("listening on "):
        proc.kill()
        pytest.fail(f"catenary serve did not start: {proc.stderr.read() if proc.stderr else ''}")
    return proc, line.split()[-1]


def executor(
    processes: Processes, address: str, name: str, *, lease: float = 30.0, queue: str = "default", **env: str
) -> subprocess.Popen[str]:
    home = processes.data_dir.parent / f"executor-{name}"
    home.mkdir(exist_ok=True)
    processes.ids[name] = Identity.load_or_create_file(home / "executor_key.pem").id
    return processes.catenary(
        "executor",
        "--node",
        address,
        "--operations",
        REMOTE_OPS,
        "--dir",
        str(home),
        "--lease",
        str(lease),
        "--queue",
        queue,
        "--wait",
        "5",
        "--json",
        **env,
    )


def run_many(client: Client, workflow: Any, inputs: list[Any], threads: int = 8) -> list[Any]:
    """One run per input, ``threads`` at a time; their results in input order."""
    results: list[Any] = [None] * len(inputs)
    lock = threading.Lock()
    todo = list(enumerate(inputs))

    def work() -> None:
        while True:
            with lock:
                if not todo:
                    return
                i, value = todo.pop()
            try:
                results[i] = client.runs.run(workflow, {0: [value]})[1].result
            except Exception as exc:  # handed to the test
                results[i] = exc

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(300)
    return results


@both_stores
def test_three_executors_claim_every_execution_exactly_once(processes: Processes, db: str | None) -> None:
    node, address = serve(processes, db)
    workers = [executor(processes, address, f"w{i}") for i in range(3)]
    client = Client(address)
    wf = client.workflows.create(json.dumps(manifest(([-1], ["test/remote-shout"]))))
    words = [f"word {i}" for i in range(60)]
    assert run_many(client, wf.id, words) == [w.upper() + "!" for w in words]
    lines = [line for w in workers for line in events(processes.stop(w)[0])]
    assert Counter(line["event"] for line in lines) == {"completed": 60}  # none lost, none refused
    records = list(client.executions.iterate(ExecutionFilter(workflow=wf.id)))
    assert len(records) == 60 and {e.status for e in records} == {Status.COMPLETED}
    assert sorted(line["execution"] for line in lines) == sorted(str(e.hash) for e in records)
    ids = set(processes.ids.values())
    client.close()
    processes.stop(node)
    store = open_store(processes, db)
    try:
        for e in records:
            assert e.executor in ids
            check_hashes(e)
            history = [(h.change, h.executor) for h in store.execution_history(e.hash)]
            assert history == [("claimed", e.executor)]  # claimed once, never refused or expired
    finally:
        store.close()


def open_store(processes: Processes, db: str | None) -> Any:
    """The node's store, opened directly (the node has stopped)."""
    if db:
        from catenary.store.postgres import PostgresStore

        return PostgresStore(db)
    from catenary.store import SQLiteStore

    return SQLiteStore(processes.data_dir / "catenary.db")


def test_a_zombie_is_refused_told_why_and_keeps_working(processes: Processes, tmp_path: Path) -> None:
    node, address = serve(processes, None)
    client = Client(address)
    wf = client.workflows.create(json.dumps(manifest(([-1], ["test/remote-slow"]))))
    hold = tmp_path / "hold"
    hold.touch()  # the zombie's call of test/remote-slow waits for it to go
    zombie = executor(processes, address, "zombie", lease=1.0, CATENARY_TEST_HOLD=str(hold))
    run = client.runs.new(wf.id)
    stepping, outcome = step_in_background(client, run.id, [4])
    [execution] = wait_for(
        lambda: [
            e
            for e in client.executions.list(ExecutionFilter(run=run.id)).executions
            if e.status is Status.IN_PROGRESS
        ],
        "the zombie's claim",
    )
    assert execution.executor == processes.ids["zombie"]
    zombie.send_signal(signal.SIGSTOP)  # no renewals: its lease lapses (by the database's clock)
    try:
        wait_for(lambda: client.executions.get(execution.hash).status is Status.CREATED, "the lapse")
        other = executor(processes, address, "other")
        stepping.join(60)
        assert outcome and not isinstance(outcome[0], Exception), outcome
        assert outcome[0].result == 40
        done = client.executions.get(execution.hash)
        assert (done.status, done.executor) == (Status.COMPLETED, processes.ids["other"])
        processes.stop(other)
    finally:
        hold.unlink()
        zombie.send_signal(signal.SIGCONT)
    # Its renewal or report is refused, saying so; its result is not recorded.
    zombie_out = Lines(zombie)
    [line] = wait_for(lambda: zombie_out.events("lost"), "the zombie to learn it lost the lease")
    assert line["execution"] == str(execution.hash)
    assert "lapsed" in line["detail"] and processes.ids["other"] in line["detail"], line
    again = client.executions.get(execution.hash)
    assert (again.executor, client.values.get(again.output)) == (processes.ids["other"], 40)
    # And it goes on working: the next execution (nobody else serves the queue) is its.
    second = client.runs.run(wf.id, {0: [5]})
    assert second[1].result == 50
    assert client.executions.get(second[1].final).executor == processes.ids["zombie"]
    out, _ = processes.stop(zombie)
    seen = [e["event"] for e in zombie_out.seen + events(out)]
    assert seen == ["lost", "completed"]
    client.close()
    processes.stop(node)
    store = open_store(processes, None)
    history = [(h.change, h.executor) for h in store.execution_history(execution.hash)]
    store.close()
    assert history == [
        ("claimed", processes.ids["zombie"]),
        ("lease_expired", processes.ids["zombie"]),
        ("claimed", processes.ids["other"]),
    ]


class Lines:
    """The JSON lines a running process prints, read as they come (without blocking)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        self.fd = proc.stdout.fileno()
        self.seen: list[dict[str, Any]] = []
        self.partial = b""

    def events(self, event: str) -> list[dict[str, Any]]:
        while select.select([self.fd], [], [], 0)[0]:
            chunk = os.read(self.fd, 65536)
            if not chunk:
                break
            *complete, self.partial = (self.partial + chunk).split(b"\n")
            self.seen += [json.loads(line) for line in complete if line.strip()]
        return [line for line in self.seen if line["event"] == event]


def test_runs_route_remote_steps_to_named_queues(processes: Processes) -> None:
    node, address = serve(processes, None)
    gpu = executor(processes, address, "gpu", queue="gpu")
    plain = executor(processes, address, "plain")
    client = Client(address)
    wf = client.workflows.create(json.dumps(manifest(([-1], ["test/remote-shout"]))))
    routed = client.runs.run(wf.id, {0: ["a"]}, queues={"test/remote-shout": "gpu"})
    unrouted = client.runs.run(wf.id, {0: ["b"]})
    by_step = client.runs.run(wf.id, {0: ["c"]}, queues={"0.0": "gpu", "*": "nowhere"})
    assert [r.result for _, r in (routed, unrouted, by_step)] == ["A!", "B!", "C!"]
    executors = [client.executions.get(r.final).executor for _, r in (routed, unrouted, by_step)]
    assert executors == [processes.ids["gpu"], processes.ids["plain"], processes.ids["gpu"]]
    # Work on a queue nobody serves waits there: the executors of other queues leave it.
    state = client.runs.new(wf.id, queues={"*": "nowhere"})
    stepping, outcome = step_in_background(client, state.id, ["d"])
    [waiting] = wait_for(
        lambda: list(client.executions.list(ExecutionFilter(run=state.id)).executions), "the step"
    )
    assert client.executions.claim("late", "elsewhere", wait=1.0) == []
    [claimed] = client.executions.claim("late", "nowhere", max_count=5, wait=5.0)
    assert (claimed.hash, claimed.status, claimed.executor) == (waiting.hash, Status.IN_PROGRESS, "late")
    client.executions.update(waiting.hash, Status.FAILED, "late", error="no GPU here")
    stepping.join(60)
    assert isinstance(outcome[0], ExecutionFailedError) and "no GPU here" in str(outcome[0])
    out = [events(processes.stop(proc)[0]) for proc in (gpu, plain)]
    assert [[e["event"] for e in lines] for lines in out] == [["completed"] * 2, ["completed"]]
    client.close()
    processes.stop(node)


def test_a_node_js_zombie_is_refused_and_keeps_working(node_js: str, tmp_path: Path) -> None:
    node = Node(tmp_path / "data", remote_wait=60)
    server = Server(node, "127.0.0.1:0", policy=open_policy(node)).start()
    hold = tmp_path / "hold"
    hold.touch()
    (tmp_path / "js").mkdir()
    js_id = Identity.load_or_create_file(tmp_path / "js" / "executor_key.pem").id  # the key it uses
    js = subprocess.Popen(
        [node_js, str(JS_EXECUTOR), "--node", server.address, "--dir", str(tmp_path / "js")]
        + ["--lease", "1", "--hold", str(hold)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        spec = parse_manifest(json.loads((JS_EXECUTOR.parent / "shout.json").read_text()), "shout.json")
        version = node.operations.register_remote(spec).version_id
        step = {"inputs": [-1], "sequence": [{"version_id": str(version), "config": {}}]}
        wf = node.workflows.create(json.dumps({"data": {**manifest()["data"], "segments": [step]}}))
        run = node.runs.new(wf.id)
        stepping, outcome = step_in_background(node, run.id, ["x"])
        [execution] = wait_for(
            lambda: [
                e
                for e in node.executions.list(ExecutionFilter(run=run.id)).executions
                if e.status is Status.IN_PROGRESS
            ],
            "the Node.js executor's claim",
        )
        assert execution.executor == js_id
        js.send_signal(signal.SIGSTOP)  # stalled past its lease: a zombie
        try:
            wait_for(lambda: node.executions.get(execution.hash).status is Status.CREATED, "the lapse")
            [taken] = node.executions.claim("other", operations=[version], wait=5.0)
            node.executions.update(taken.hash, Status.COMPLETED, "other", output="X!")
            stepping.join(60)
            assert outcome[0].result == "X!"
        finally:
            hold.unlink()
            js.send_signal(signal.SIGCONT)
        lines = Lines(js)
        [lost] = wait_for(lambda: lines.events("lost"), "the Node.js executor to learn it lost the lease")
        assert "lapsed" in lost["error"] and "other" in lost["error"], lost
        assert node.executions.get(execution.hash).executor == "other"  # its result was not recorded
        # It keeps working.
        assert node.runs.run(wf.id, {0: ["y"]}).last.result == "Y!"
        [done] = wait_for(lambda: lines.events("completed"), "the next execution")
        assert done["executor"] == js_id
    finally:
        js.kill()
        js.communicate(timeout=30)
        server.stop(grace=1)
        node.close()
