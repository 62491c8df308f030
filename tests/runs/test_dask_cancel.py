"""A cancel interrupts the operation in flight where the executor can: a Dask future is
cancelled, so the run ends at once, with nothing of the interrupted segment recorded."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import distributed
import pytest

from catenary import Node
from catenary.engine.executor import DaskExecutor
from catenary.model.filter import ExecutionFilter
from catenary.runs.follow import follow
from tests.helpers import manifest

LONG = manifest(([-1], [("runs/slow", {"seconds": "1"})] * 3), name="long-on-dask")


@pytest.fixture
def client() -> Iterator[distributed.Client]:
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0"
    )
    client = distributed.Client(cluster, set_as_default=False)
    yield client
    client.close()
    cluster.close()


def test_cancel_interrupts_the_dask_call_in_flight(client: distributed.Client, tmp_path: Path) -> None:
    with Node(
        tmp_path / "n", operations=["tests.runs.runs_ops"], executor=DaskExecutor(client=client)
    ) as node:
        wf = node.workflows.create(json.dumps(LONG))
        state = node.runs.submit(wf.id, {0: [0]})
        time.sleep(0.5)  # inside the first one-second step
        node.runs.cancel(state.id, "stop now")
        ended = follow(node, state.id)
        assert (ended.status, ended.error) == ("cancelled", f"cancelled by {node.id}: stop now")
        # Interrupted in its first step: no step of the segment finished, none is recorded
        # (a local executor would have finished that step and recorded it).
        assert node.executions.list(ExecutionFilter(run=state.id)).executions == []
