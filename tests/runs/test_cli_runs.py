"""`catenary run --node` against a real `serve` process: the run id first, --detach then
`runs follow`, `runs cancel`, and Ctrl-C on a follower without a terminal (it detaches)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from catenary.client import Client
from catenary.model.filter import ExecutionFilter
from tests.helpers import manifest
from tests.runs.test_takeover import ROOT, serve, wait_for

QUICK = manifest(([-1], ["runs/slow"]), ([0], ["runs/slow"]), name="quick")
LONG = manifest(([-1], [("runs/slow", {"seconds": "1"})] * 10), name="long")
MEDIUM = manifest(([-1], [("runs/slow", {"seconds": "0.5"})] * 4), name="medium")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Client, dict[str, str]]]:
    """A served SQLite node: its address, a client, and the workflow ids by name."""
    proc, address = serve(tmp_path_factory.mktemp("owned") / "node")
    try:
        with Client(address) as client:
            ids = {
                m["data"]["name"]: str(client.workflows.create(json.dumps(m)).id)
                for m in (QUICK, LONG, MEDIUM)
            }
            yield address, client, ids
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


def cli(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "catenary", "--node", address, *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("CATENARY_NODE", None)
    return env


def test_run_prints_the_run_id_first_then_the_result(node) -> None:
    address, client, ids = node
    done = cli(address, "run", ids["quick"], "-i", "0=1", "--progress")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("run bafy")
    run = lines[0].split()[1]
    assert "segment 1 done" in done.stderr
    assert done.stdout.splitlines()[:2] == [f"run     {run}", "result  3"]
    assert client.runs.get(client.runs.list()[0].id).status == "completed"


def test_detach_then_follow(node) -> None:
    address, client, ids = node
    detached = cli(address, "run", ids["quick"], "-i", "0=5", "--detach")
    assert detached.returncode == 0, detached.stderr
    run = detached.stdout.strip()
    assert run.startswith("bafy") and "\n" not in run
    followed = cli(address, "runs", "follow", run, "--json")
    assert followed.returncode == 0, followed.stderr
    document = json.loads(followed.stdout)
    assert (document["run"], document["done"], document["result"]) == (run, True, 7)


def test_detach_needs_a_node(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "catenary", "--data-dir", str(tmp_path / "d"), "run", "bafyx", "--detach"],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert done.returncode == 2 and "--detach needs --node" in done.stderr


def test_a_queue_is_refused_for_a_run_the_node_drives(node) -> None:
    """Run.Submit takes no queue routes: refused with a usage error rather than dropped."""
    address, _client, ids = node
    done = cli(address, "run", ids["quick"], "-i", "0=5", "--queue", "gpu")
    assert done.returncode == 2 and "--queue with --node" in done.stderr and done.stdout == ""


def test_runs_cancel_ends_the_run_at_a_step_boundary(node) -> None:
    address, client, ids = node
    from catenary.cid import CID

    # The segment takes 10 s; the cancel reaches it in the middle (its steps commit at its end).
    run = str(client.runs.submit(CID.parse(ids["long"]), {0: [0]}).id)
    cancelled = cli(address, "runs", "cancel", run, "--reason", "not needed")
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.strip() == f"run {run} cancelled: cancelled by an anonymous caller: not needed"

    state = client.runs.get(CID.parse(run))
    assert state.status == "cancelled" and state.next_segment == 0
    steps = client.executions.list(ExecutionFilter(run=CID.parse(run)), 100).executions
    assert len(steps) < 10 and all(e.status == "completed" for e in steps)
    again = cli(address, "runs", "cancel", run)
    assert again.returncode == 2 and "only a running run can be cancelled" in again.stderr
    followed = cli(address, "runs", "follow", run)
    assert followed.returncode == 1 and "is cancelled: cancelled by an anonymous caller" in followed.stderr


def test_ctrl_c_without_a_terminal_detaches(node) -> None:
    address, client, ids = node
    proc = subprocess.Popen(
        [sys.executable, "-m", "catenary", "--node", address, "run", ids["medium"], "-i", "0=1"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()
    assert first.startswith("run bafy"), first
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=60)
    assert proc.returncode == 0, rest
    assert "not on a terminal: detached" in rest
    from catenary.cid import CID

    run = CID.parse(first.split()[1])
    ended = wait_for(lambda: (s := client.runs.get(run)).status != "running" and s, "the run", 60)
    assert ended.status == "completed"  # the node went on driving it
