"""A Dask backend that survives its cluster (issue 15): the scheduler killed mid-run and started
again on the same port is an outage, not a failure. The run completes, every execution is
completed, none is recorded failed; the operations (which call a helper in their own module)
run on a worker that does not have that module.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from catenary.engine.executor import DaskExecutor
from catenary.model import Status
from catenary.model.filter import ExecutionFilter
from catenary.sdk import Node
from tests.executors.test_processes import env, free_port
from tests.helpers import manifest

# Written to a directory only this process has on its path: workers must get it by value.
SHIPPED = '''
import time

from catenary.operations import operation


def helper(x: int) -> int:
    return 2 * x + 1


@operation("outage/slow", inputs=["int"], output="int", groups=["test"])
def slow(x: int) -> int:
    """Sleeps 0.4 s, then helper(x) (a function of this module)."""
    time.sleep(0.4)
    return helper(x)
'''


class Cluster:
    """A scheduler and one worker, as processes, that the test can kill and start again."""

    def __init__(self, workdir: Path) -> None:
        self.port, self.workdir = free_port(), workdir
        self.processes: list[subprocess.Popen[bytes]] = []

    def _start(self, *args: str) -> None:
        self.processes.append(
            subprocess.Popen(
                [sys.executable, "-m", *args],
                cwd=self.workdir,  # not the shipped module's directory
                env=env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    def start(self) -> None:
        self._start(
            "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(self.port),
            "--dashboard-address", "127.0.0.1:0", "--no-show",
        )  # fmt: skip
        self._start(
            "distributed.cli.dask_worker", f"tcp://127.0.0.1:{self.port}", "--nthreads", "1",
            "--no-nanny", "--no-dashboard",
        )  # fmt: skip

    def kill(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait()
        self.processes.clear()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    workdir = tmp_path / "cluster"
    workdir.mkdir()
    running = Cluster(workdir)
    running.start()
    yield running
    running.kill()


def test_a_scheduler_killed_and_restarted_mid_run_is_an_outage(cluster, tmp_path: Path, monkeypatch) -> None:
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "outage_ops.py").write_text(SHIPPED)
    monkeypatch.syspath_prepend(str(shipped))
    executor = DaskExecutor(f"tcp://127.0.0.1:{cluster.port}", connect_timeout=30, outage=120)
    node = Node(tmp_path / "node", operations=["outage_ops"], executor=executor)
    try:
        executor.client.wait_for_workers(1, timeout=60)
        segments = [([-1], ["outage/slow"])] + [([i], ["outage/slow"]) for i in range(5)]
        wf = node.workflows.create(json.dumps(manifest(*segments, name="outage")))
        outcome: list[object] = []
        runner = threading.Thread(target=lambda: outcome.append(node.runs.run(wf.id, {0: [1]})))
        runner.start()
        # Kill the whole cluster once the run has recorded a segment (a call is in flight then).
        deadline = time.monotonic() + 60
        while not any(run.next_segment >= 1 for run in node.runs.list(wf.id)):
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.05)
        cluster.kill()
        time.sleep(1.5)  # the scheduler is gone a while: the client is reconnecting
        cluster.start()  # on the same port
        runner.join(180)
        assert not runner.is_alive()
        (done,) = outcome
        state = node.runs.get(done.id)  # type: ignore[attr-defined]
        assert state.status == "completed" and done.result == 127  # type: ignore[attr-defined]
        records = list(node.executions.iterate(ExecutionFilter(run=state.id)))
        assert len(records) == 6 and {e.status for e in records} == {Status.COMPLETED}
        assert list(node.executions.iterate(ExecutionFilter(statuses=(Status.FAILED,)))) == []
    finally:
        node.close()
