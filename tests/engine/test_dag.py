"""Segments as a DAG (Engine.advance), retries and timeouts per step, and `runs retry`.

- A run whose ready segments run at once records exactly what the same run stepped one
  segment at a time records: hashes, keys, outputs, memo hits, the run's state.
- A step under a retry policy is tried until it completes or the policy gives up; every
  attempt is kept beside the execution, which ends completed or failed once.
- A failed run is retried as a new run that reuses what completed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from catenary.engine.policy import RunOptions, StepPolicy
from catenary.errors import BadInputError, ExecutionFailedError, InputError, RunStateError
from catenary.model import Status
from catenary.model.filter import ExecutionFilter
from catenary.sdk import Node
from tests.helpers import check_hashes, manifest

OPS = ["tests.ops_fixture", "tests.engine.retry_ops"]
NONCE = bytes(range(16))
# Segments 1, 2 and 4 are ready together once 0 has run; 2's first step has the key of 1's
# second (inc of 6), so a sequential run records it as a memo hit of segment 1's.
DAG = manifest(
    ([-1], ["test/inc"]),
    ([0], ["retry/sleep", "test/inc"]),
    ([0], ["test/inc"]),
    ([1, 2], ["test/add"]),
    ([-1], ["retry/sleep"]),
    ([3, 4], ["test/add"]),
    name="dag",
)
DAG_INPUTS = {0: [5], 4: [3]}


@pytest.fixture
def node_at(tmp_path: Path) -> Iterator[Callable[..., Node]]:
    opened: list[Node] = []

    def make(name: str, **kwargs: Any) -> Node:
        node = Node(tmp_path / name, operations=OPS, **kwargs)
        opened.append(node)
        return node

    yield make
    for node in opened:
        node.close()


def records(node: Node, run: Any) -> dict[tuple[int, int], tuple[Any, ...]]:
    found = {}
    for e in node.executions.iterate(ExecutionFilter(run=run)):
        check_hashes(e)
        found[(e.segment, e.step)] = (
            e.hash,
            e.key,
            e.output,
            e.cached_from,
            e.status,
            e.parents,
            e.inputs,
            e.error,
        )
    return found


def test_ready_segments_at_once_record_what_a_sequential_run_records(node_at) -> None:
    nodes = {"sequential": node_at("seq"), "parallel": node_at("par")}
    seen = {}
    steps: list[int] = []
    for name, node in nodes.items():
        wf = node.workflows.create(json.dumps(DAG))
        run = node.runs.new(wf.id, NONCE)
        if name == "sequential":
            for index in range(6):
                last = node.runs.next(run.id, DAG_INPUTS.get(index, ()))
        else:
            last = node.engine.advance(run.id, DAG_INPUTS, 4, on_step=lambda r: steps.append(r.segment))
            assert steps == [0, 1, 2, 3, 4, 5]  # committed in index order
        state = node.runs.get(run.id)
        outputs = {i: (o.output, o.producer) for i, o in state.outputs.items()}
        seen[name] = (
            records(node, run.id),
            last.result,
            last.final,
            state.status,
            state.next_segment,
            outputs,
        )
    assert seen["parallel"] == seen["sequential"]
    executions, result, *_ = seen["parallel"]
    assert result == 7 + 7 + 3 and len(executions) == 7
    assert executions[(2, 0)][3] == executions[(1, 1)][0]  # the memo hit a sequential run has


def test_a_parallel_run_stops_at_a_failure_as_a_sequential_one(node_at) -> None:
    node = node_at("fail")
    wf = node.workflows.create(
        json.dumps(
            manifest(
                ([-1], ["test/inc"]), ([0], ["test/boom"]), ([0], ["test/inc"]), ([2], ["test/inc"]), name="f"
            )
        )
    )
    run = node.runs.new(wf.id)
    with pytest.raises(ExecutionFailedError, match="test/boom"):
        node.engine.advance(run.id, {0: [1]}, 3)
    state = node.runs.get(run.id)
    assert (state.status, state.next_segment) == ("failed", 1)
    # Segments 2 and 3 may have run beside 1; a sequential run never reaches them.
    assert sorted(records(node, run.id)) == [(0, 0), (1, 0)]
    with pytest.raises(RunStateError):
        node.engine.advance(run.id, {}, 2)


def test_bad_input_for_a_later_segment_runs_nothing(node_at) -> None:
    node = node_at("bad")
    wf = node.workflows.create(json.dumps(DAG))
    run = node.runs.new(wf.id)
    with pytest.raises(InputError, match="segment 4"):
        node.engine.advance(run.id, {0: [5]}, 2)
    assert records(node, run.id) == {} and node.runs.get(run.id).next_segment == 0


FLAKY = manifest(([-1], ["test/inc", ("retry/flaky", {"counter": "COUNTER", "fails": "2"})]), name="flaky")


def flaky_workflow(node: Node, tmp_path: Path, fails: int = 2) -> Any:
    text = json.dumps(FLAKY).replace("COUNTER", str(tmp_path / "counter")).replace('"2"', f'"{fails}"')
    return node.workflows.create(text)


def test_a_flaky_step_completes_on_its_third_attempt_with_three_attempts_kept(node_at, tmp_path) -> None:
    node = node_at("flaky")
    wf = flaky_workflow(node, tmp_path)
    options = RunOptions(steps={"retry/flaky": StepPolicy(attempts=3, backoff=0.01)})
    done = node.runs.run(wf.id, {0: [1]}, options=options)
    assert done.result == 3 and (tmp_path / "counter").read_text() == "3"
    flaky = records(node, done.id)[(0, 1)]
    assert flaky[4] is Status.COMPLETED and flaky[7] is None
    attempts = node.executions.attempts(flaky[0])
    assert [(a.attempt, a.error) for a in attempts] == [
        (1, "ConnectionError: flaky call 1"),
        (2, "ConnectionError: flaky call 2"),
        (3, None),
    ]
    assert all(a.started_at <= a.finished_at for a in attempts)
    assert attempts[0].finished_at <= attempts[1].started_at
    first = records(node, done.id)[(0, 0)]
    assert node.executions.attempts(first[0]) == []  # a step without a retry policy: one try


def test_a_step_that_fails_every_attempt_fails_once_with_its_attempts(node_at, tmp_path) -> None:
    node = node_at("exhausted")
    wf = flaky_workflow(node, tmp_path, fails=5)
    with pytest.raises(ExecutionFailedError, match=r"flaky call 2 \(attempt 2 of 2\)"):
        node.runs.run(wf.id, {0: [1]}, options=RunOptions(StepPolicy(attempts=2)))
    (run,) = node.runs.list(wf.id)
    failed = records(node, run.id)[(0, 1)]
    assert failed[4] is Status.FAILED
    assert [a.error for a in node.executions.attempts(failed[0])] == [
        "ConnectionError: flaky call 1",
        "ConnectionError: flaky call 2",
    ]


def test_only_the_named_error_classes_are_retried(node_at) -> None:
    node = node_at("classes")
    wf = node.workflows.create(json.dumps(manifest(([-1], ["retry/bad-value"]), name="bad")))
    options = RunOptions(StepPolicy(attempts=3, retry_on=("ConnectionError",)))
    with pytest.raises(ExecutionFailedError, match="ValueError: no good: 1$"):
        node.runs.run(wf.id, {0: [1]}, options=options)
    (run,) = node.runs.list(wf.id)
    (failed,) = records(node, run.id).values()
    assert [a.error for a in node.executions.attempts(failed[0])] == ["ValueError: no good: 1"]


def test_a_step_timeout_fails_the_step_and_is_retried_like_any_failure(node_at) -> None:
    node = node_at("timeout")
    wf = node.workflows.create(json.dumps(manifest(([-1], ["retry/sleep"]), name="slow")))
    options = RunOptions(steps={"0.0": StepPolicy(attempts=2, timeout=0.05)})
    with pytest.raises(ExecutionFailedError, match="OperationTimeout: retry/sleep did not finish within"):
        node.runs.run(wf.id, {0: [100]}, options=options)
    (run,) = node.runs.list(wf.id)
    (failed,) = records(node, run.id).values()
    errors = [a.error for a in node.executions.attempts(failed[0])]
    assert len(errors) == 2 and all(e.startswith("OperationTimeout") for e in errors)
    # The same step within its timeout completes: the timeout is per step, not the node's.
    assert node.runs.run(wf.id, {0: [1]}, options=options).result == 1


def test_a_policy_is_not_part_of_any_id(node_at, tmp_path) -> None:
    plain, retried = node_at("plain"), node_at("retried")
    ids = []
    for node, options in ((plain, None), (retried, RunOptions(StepPolicy(attempts=3, timeout=5.0)))):
        wf = flaky_workflow(node, tmp_path, fails=0)
        run = node.runs.new(wf.id, NONCE)
        node.runs.resume(run.id, {0: [1]}, options=options)
        ids.append((wf.id, {k: v[:3] for k, v in records(node, run.id).items()}))
    assert ids[0] == ids[1]


def test_runs_retry_starts_where_the_failed_run_failed(node_at, tmp_path) -> None:
    node = node_at("retry")
    text = json.dumps(
        manifest(
            ([-1], ["test/count"]),
            ([0], [("retry/flaky", {"counter": "COUNTER", "fails": "1"})]),
            ([-1, 1], ["test/add"]),
            name="resume",
        )
    ).replace("COUNTER", str(tmp_path / "counter"))
    wf = node.workflows.create(text)
    with pytest.raises(ExecutionFailedError, match="flaky call 1"):
        node.runs.run(wf.id, {0: [4], 2: [100]})
    (failed,) = node.runs.list(wf.id)
    with pytest.raises(InputError, match=r"never reached segment\(s\) 2"):
        node.runs.retry(failed.id)
    retried = node.runs.retry(failed.id, {2: [100]})
    assert retried.status == "completed" and retried.result == 100 + 8 + 1
    before, after = records(node, failed.id), records(node, retried.id)
    assert after[(0, 0)][3] == before[(0, 0)][0]  # reused, not run again
    assert after[(1, 0)][3] is None and after[(1, 0)][4] is Status.COMPLETED
    assert node.runs.get(failed.id).status == "failed"  # terminal, as recorded
    with pytest.raises(RunStateError, match="only a failed run"):
        node.runs.retry(retried.id)


def test_run_options_from_json_name_what_is_wrong() -> None:
    options = RunOptions.from_json('{"default": {"attempts": 2}, "steps": {"std/hash": {"timeout": 1}}}', "f")
    assert options.policy(0, 0, "std/hash").timeout == 1.0
    assert options.policy(0, 0, "other").attempts == 2
    with pytest.raises(BadInputError, match=r"f\.steps\.x: expected a map"):
        RunOptions.from_json('{"steps": {"x": 3}}', "f")
    with pytest.raises(BadInputError, match=r"f\.default: attempts must be at least 1"):
        RunOptions.from_json('{"default": {"attempts": 0}}', "f")


def test_a_process_pool_runs_ready_segments_with_the_same_records(node_at) -> None:
    from catenary.engine.executor import ProcessExecutor

    fan = manifest(
        ([-1], ["test/inc"]),
        *[([0], [("retry/spin", {"work": str(1000 + i)})]) for i in range(4)],
        name="fan",
    )
    seen = []
    for node in (node_at("local"), node_at("pool", executor=ProcessExecutor(2))):
        wf = node.workflows.create(json.dumps(fan))
        run = node.runs.new(wf.id, NONCE)
        node.runs.resume(run.id, {0: [1]}, parallel=4)
        seen.append(records(node, run.id))
    assert seen[0] == seen[1] and len(seen[0]) == 5


def test_attempts_and_a_parallel_run_on_each_store(make_node, tmp_path) -> None:
    """The attempts rows and in-order commits of concurrent segments, on SQLite and PostgreSQL."""
    node = make_node(operations=OPS)
    wf = flaky_workflow(node, tmp_path)
    options = RunOptions(StepPolicy(attempts=3))
    done = node.runs.run(wf.id, {0: [1]}, options=options, parallel=2)
    flaky = records(node, done.id)[(0, 1)]
    assert [a.error is None for a in node.executions.attempts(flaky[0])] == [False, False, True]
    fan = node.workflows.create(json.dumps(DAG))
    assert node.runs.run(fan.id, DAG_INPUTS, parallel=4).result == 17
