"""The Dask distributed backend: operations run on Dask workers, the engine records as always.

- A workflow run on a Dask cluster records, for every execution, the same key and output as on
  the local executor, and every hash recomputes (the hashes differ only through the run).
- A worker that dies while running a call: Dask retries it on another worker and the execution
  completes once; a call that kills every worker it gets fails its execution cleanly.
- An unreachable cluster records nothing and says so.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dask
import distributed
import pytest

from catenary.engine.executor import DaskExecutor, LocalExecutor
from catenary.errors import ExecutionFailedError, ExecutorUnavailableError
from catenary.model import Status
from catenary.model.filter import ExecutionFilter
from catenary.sdk import Node
from tests.executors.test_processes import env, free_port
from tests.helpers import check_hashes, manifest

ROOT = Path(__file__).resolve().parents[2]
OPS = ["tests.ops_fixture", "tests.dask.dask_ops"]
PIPELINE = manifest(
    ([-1], ["std/utf8-encode", ("std/hash", {"algorithm": "blake3"}), "example/adler32", "test/triple"]),
    ([-1, 0], ["test/add", "test/inc"]),
    ([0], ["test/count"]),
    ([1, 2], ["test/add", "test/triple"]),
    ([-1], ["std/cid", "std/utf8-encode", ("std/hash", {"algorithm": "sha2-256"})]),
    name="dask-parity",
)
INPUTS = {0: ["hello dask"], 1: [5], 4: [b"some bytes"]}


@pytest.fixture(scope="module")
def in_process_cluster() -> Iterator[distributed.Client]:
    """Two single-threaded workers in this process (processes=False: quick to start)."""
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0"
    )
    client = distributed.Client(cluster, set_as_default=False)
    yield client
    client.close()
    cluster.close()


@pytest.fixture
def node_on(tmp_path: Path) -> Iterator[Callable[..., Node]]:
    opened: list[Node] = []

    def make(name: str, executor: Any, **kwargs: Any) -> Node:
        node = Node(tmp_path / name, operations=OPS, executor=executor, **kwargs)
        node.operations.add_wasm((ROOT / "examples" / "wasm" / "adler32.wat").read_bytes())
        opened.append(node)
        return node

    yield make
    for node in opened:
        node.close()


def run_pipeline(node: Node) -> dict[tuple[int, int], Any]:
    wf = node.workflows.create(json.dumps(PIPELINE))
    state, result = node.runs.run(wf.id, INPUTS)
    assert result.done
    return {(e.segment, e.step): e for e in node.executions.iterate(ExecutionFilter(run=state.id))}


def test_a_dask_run_records_the_same_keys_and_outputs_as_a_local_run(node_on, in_process_cluster) -> None:
    local = run_pipeline(node_on("local", LocalExecutor()))
    dask_node = node_on("dask", DaskExecutor(client=in_process_cluster))
    with distributed.get_task_stream(client=in_process_cluster) as tasks:
        on_dask = run_pipeline(dask_node)
    assert sorted(local) == sorted(on_dask) and len(local) == 12
    for position, here in local.items():
        there = on_dask[position]
        assert (there.key, there.output, there.operation, there.config) == (
            here.key,
            here.output,
            here.operation,
            here.config,
        ), position
        assert there.hash != here.hash and there.run != here.run  # the run differs, nothing else
        assert there.status is Status.COMPLETED and there.cached_from is None
        check_hashes(here)
        check_hashes(there)
    # Every invocation (Python and WASM operations) ran as a task on a worker.
    ran = sorted(task["key"].rsplit("-", 1)[0].removeprefix("catenary-") for task in tasks.data)
    names = {o.version_id: o.manifest.name for o in dask_node.operations.list()}
    assert ran == sorted(names[e.operation] for e in on_dask.values())
    assert {task["worker"] for task in tasks.data} <= set(in_process_cluster.scheduler_info()["workers"])


def test_concurrent_runs_share_the_cluster(node_on, in_process_cluster) -> None:
    """Parallelism is across runs: many next() calls in flight, one task each on the cluster."""
    from concurrent.futures import ThreadPoolExecutor

    node = node_on("fan", DaskExecutor(client=in_process_cluster))
    wf = node.workflows.create(json.dumps(manifest(([-1], ["test/nap", "test/inc"]), name="fan")))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: node.runs.run(wf.id, {0: [n % 3]})[1].result, range(8)))
    assert results == [n % 3 + 1 for n in range(8)]


def test_an_operation_timeout_on_dask_fails_the_execution(node_on, in_process_cluster) -> None:
    node = node_on("slow", DaskExecutor(client=in_process_cluster), operation_timeout=0.1)
    wf = node.workflows.create(json.dumps(manifest(([-1], ["test/nap"]), name="slow")))
    with pytest.raises(ExecutionFailedError, match="OperationTimeout: test/nap did not finish"):
        node.runs.run(wf.id, {0: [5]})


def test_an_unreachable_cluster_records_nothing(node_on) -> None:
    node = node_on("away", DaskExecutor(f"tcp://127.0.0.1:{free_port()}", connect_timeout=0.5))
    wf = node.workflows.create(json.dumps(manifest(([-1], ["test/inc"]), name="away")))
    run = node.runs.new(wf.id)
    with pytest.raises(ExecutorUnavailableError, match="cannot reach the Dask scheduler at dask://127.0.0.1"):
        node.runs.next(run.id, [1])
    state = node.runs.get(run.id)
    assert (state.status, state.next_segment) == ("running", 0)
    assert node.executions.list(ExecutionFilter(run=run.id)).executions == []


@pytest.fixture(scope="module")
def process_cluster() -> Iterator[distributed.Client]:
    """Two worker processes under nannies (which restart a killed worker); a call is retried
    once on another worker before Dask gives up on it (allowed-failures 1)."""
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
        )
        client = distributed.Client(cluster, set_as_default=False)
        yield client
        client.close()
        cluster.close()


def test_a_worker_crash_is_retried_or_fails_the_execution_cleanly(
    node_on, process_cluster, tmp_path: Path
) -> None:
    node = node_on("crash", DaskExecutor(client=process_cluster))
    marker = tmp_path / "crashed-once"
    wf = node.workflows.create(
        json.dumps(
            manifest(
                ([-1], ["test/inc", ("test/crash-once", {"marker": str(marker)})]),
                ([0], ["test/crash-always"]),
                name="crash",
            )
        )
    )
    run = node.runs.new(wf.id)
    first = node.runs.next(run.id, [6])  # the first worker dies; Dask runs it again elsewhere
    assert marker.exists()
    records = list(node.executions.iterate(ExecutionFilter(run=run.id)))
    assert sorted((e.step, e.status.value) for e in records) == [(0, "completed"), (1, "completed")]
    assert node.values.get(node.executions.get(first.final).output) == 8
    with pytest.raises(ExecutionFailedError, match="KilledWorker") as info:
        node.runs.next(run.id)  # kills every worker it is given
    failed = node.executions.get(info.value.execution.hash)
    assert failed.status is Status.FAILED and failed.segment == 1 and "KilledWorker" in failed.error
    state = node.runs.get(run.id)
    assert state.status == "failed" and state.next_segment == 1
    assert len(list(node.executions.iterate(ExecutionFilter(run=run.id)))) == 3  # nothing lost
    for e in node.executions.iterate(ExecutionFilter(run=run.id)):
        check_hashes(e)


def test_the_cli_runs_a_workflow_on_dask_local(tmp_path: Path) -> None:
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(manifest(([-1], ["std/utf8-encode", "std/cid"]), name="cli-dask")))

    def catenary(*args: str) -> Any:
        proc = subprocess.run(
            [sys.executable, "-m", "catenary", "--data-dir", str(tmp_path / "d"), *args, "--json"],
            capture_output=True,
            text=True,
            env=env(),
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    wf = catenary("workflow", "create", str(path))["id"]
    run = catenary("--executor", "dask:local", "run", wf, "--input", "0=text:hello world", "--fresh")
    assert run["result"] == "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"


def test_the_speedup_benchmark_records_the_same_executions_in_every_mode(
    in_process_cluster, tmp_path: Path
) -> None:
    """benchmarks/dask_speedup.py at a toy size (not timed): what it measures is real work."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("dask_speedup", ROOT / "benchmarks" / "dask_speedup.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    for op, work in (("bench/burn", 1000), ("bench/digest", 1)):
        _, local = bench.measure(
            tmp_path, f"{op}-local".replace("/", "-"), LocalExecutor(), op, work, [1, 2, 3], 1
        )
        _, on_dask = bench.measure(
            tmp_path,
            f"{op}-dask".replace("/", "-"),
            DaskExecutor(client=in_process_cluster),
            op,
            work,
            [1, 2, 3],
            2,
        )
        assert on_dask == local and len(set(local.values())) == 3
    assert bench.burn.func(7, "0") == 3
