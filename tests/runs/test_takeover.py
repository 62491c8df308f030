"""A `catenary serve` node SIGKILLed in the middle of a run it drives, and the run finished
by a second node on the same PostgreSQL: every step recorded once, with the hashes of a
sequential run of the same run id (real processes, a real database)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from catenary import Node
from catenary.client import Client
from catenary.model.filter import ExecutionFilter
from tests.helpers import allow_anonymous, manifest
from tests.pg import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
OPS = "tests.runs.runs_ops"
SLOW = ("runs/slow", {"seconds": "0.3"})
# Three segments of three slow steps: long enough to kill the node in the middle of one.
WORKFLOW = manifest(([-1], [SLOW] * 3), ([0], [SLOW] * 3), ([1], [SLOW] * 3), name="slow-chain")


def serve(data_dir: Path, *options: str) -> tuple[subprocess.Popen[str], str]:
    """A `catenary serve` process with the slow operations and a 1 s run lease; its address."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("CATENARY_NODE", None)
    env.pop("CATENARY_DB", None)
    allow_anonymous(data_dir)
    proc = subprocess.Popen(
        [sys.executable, "-m", "catenary", "--data-dir", str(data_dir), *options, "--ops", OPS, "serve"]
        + ["--listen", "127.0.0.1:0", "--run-lease", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("listening on "):
        proc.kill()
        pytest.fail(f"catenary serve did not start: {proc.stderr.read() if proc.stderr else ''}")
    return proc, line.split()[-1]


def wait_for(check, what: str, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def test_a_killed_nodes_run_is_finished_by_another_node(pg_server: PostgresServer, tmp_path: Path) -> None:
    dsn = pg_server.create_database()
    procs = []
    try:
        a_proc, a_address = serve(tmp_path / "a", "--db", dsn)
        b_proc, b_address = serve(tmp_path / "b", "--db", dsn)
        procs += [a_proc, b_proc]
        with Client(a_address) as a, Client(b_address) as b:
            wf = a.workflows.create(json.dumps(WORKFLOW))
            run = a.runs.submit(wf.id, {0: [0]}).id
            # Kill A once segment 0 is recorded and segment 1 has started (A is in a step).
            wait_for(lambda: b.runs.get(run).next_segment >= 1, "segment 0")
            time.sleep(0.4)
            a_proc.send_signal(signal.SIGKILL)
            a_proc.wait(30)
            assert b.runs.get(run).status == "running"
            ended = wait_for(lambda: (s := b.runs.get(run)).status != "running" and s, "the takeover")
            assert ended.status == "completed", ended.error
            assert b.values.get(ended.outputs[2].output) == 9
            records = b.executions.list(ExecutionFilter(run=run), 100).executions
        # Every step once, completed; segment 0 by A, the last one by B (which took over).
        records.sort(key=lambda e: (e.segment, e.step))
        assert [(e.segment, e.step) for e in records] == [(s, t) for s in range(3) for t in range(3)]
        assert all(e.status == "completed" for e in records)
        by_a = {e.executor for e in records if e.segment == 0}
        by_b = {e.executor for e in records if e.segment == 2}
        assert len(by_a) == len(by_b) == 1 and by_a != by_b
        nonce = ended.nonce
        # The same run (same nonce, so same ids) stepped by hand on one node makes the same records.
        with Node(tmp_path / "sequential", operations=[OPS]) as alone:
            same = alone.workflows.create(json.dumps(WORKFLOW))
            state = alone.engine.new(same.id, nonce)
            assert state.id == run
            for segment in range(3):
                alone.runs.next(run, [0] if segment == 0 else [])
            expected = alone.executions.list(ExecutionFilter(run=run), 100).executions
        expected.sort(key=lambda e: (e.segment, e.step))
        assert [(e.hash, e.key, e.output) for e in records] == [(e.hash, e.key, e.output) for e in expected]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
        pg_server.drop_database(dsn)
