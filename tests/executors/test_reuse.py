"""The policy gates the cache (issue 13, item 7): a completed execution is reused only when an
attestation by a signer the policy trusts for its operation vouches for it (by default: this
node's own), and never once a verify re-execution disputed it. On both stores."""

from __future__ import annotations

import json
import time
import tomllib

import pytest
from click.testing import CliRunner

from catenary.cli.main import cli
from catenary.errors import ExecutionPendingError
from catenary.model import Status
from catenary.sdk import Node
from catenary.trust import attestation
from catenary.trust.identity import Identity
from catenary.trust.policy import Policy
from tests.executors.conftest import workflow
from tests.helpers import manifest, query

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
OPS = ["tests.executors.remote_ops", "tests.ops_fixture", "tests.trust.trust_ops"]


def trusting(node: Node, key: str, operations: list[str]) -> Policy:
    document = f'[[rules.trust_executor]]\nkeys = ["{key}"]\noperations = {json.dumps(operations)}\n'
    return Policy.parse(tomllib.loads(document), node.id)


def remote_run(node: Node, wf_id, value: int):
    """One run of a one-step remote workflow, left pending: its execution."""
    wait, node.engine.remote_wait = node.engine.remote_wait, 0
    try:
        with pytest.raises(ExecutionPendingError) as info:
            node.runs.next(node.runs.new(wf_id).id, [value])
    finally:
        node.engine.remote_wait = wait
    return info.value.execution


def report(node: Node, execution, executor: str, output: int):
    node.executions.update(execution.hash, Status.IN_PROGRESS, executor, lease=30)
    return node.executions.update(execution.hash, Status.COMPLETED, executor, output=output)


def test_an_unattested_report_is_never_served_from_the_cache(make_node, db) -> None:
    """The attack of issue 13: a forged report must not come back from the cache as the node's."""
    node = make_node(operations=OPS, remote_wait=20)
    wf = workflow(node, ([-1], ["test/remote-slow"]))
    forged = report(node, remote_run(node, wf.id, 7), "anonymous-liar", 666)
    again = remote_run(node, wf.id, 7)  # asked of an executor again, not taken from the cache
    assert again.hash != forged.hash and again.key == forged.key and again.status is Status.CREATED
    assert again.cached_from is None
    where = db or node.data_dir / "catenary.db"
    assert query(where, "SELECT count(*) FROM executions WHERE cached_from IS NOT NULL") == [(0,)]


def test_a_result_signed_by_a_key_the_policy_trusts_is_reused(make_node, tmp_path) -> None:
    node = make_node(operations=OPS, remote_wait=20)
    executor = Identity.generate()
    wf = workflow(node, ([-1], ["test/remote-slow"]))
    done = report(node, remote_run(node, wf.id, 3), executor.id, 30)
    assert done.output is not None
    node.store.put_attestations(
        [attestation.sign(executor, done.hash, done.key, done.output, attestation.EXECUTOR)], time.time_ns()
    )
    # Signed, but by a key the default policy does not trust: asked again.
    assert remote_run(node, wf.id, 3).cached_from is None
    # Trusted for another operation only: still asked again.
    node.policy = trusting(node, executor.id, ["test/remote-shout"])
    assert remote_run(node, wf.id, 3).cached_from is None
    # Trusted for this operation (by name, or by version id): reused, naming the worker.
    for scope in ("test/remote-slow", str(done.operation)):
        node.policy = trusting(node, executor.id, [scope])
        state, result = node.runs.run(wf.id, {0: [3]})
        hit = node.executions.get(result.final)
        assert (result.result, hit.cached_from, hit.executor) == (30, done.hash, node.id)


def test_a_disputed_execution_is_never_reused_and_exec_get_says_so(make_node, data_dir, db) -> None:
    node = make_node(operations=OPS)
    wf = node.workflows.create(manifest(([-1], ["trust/random"]), name="random"))
    _, first = node.runs.run(wf.id, {0: [16]})
    _, second = node.runs.run(wf.id, {0: [16]})
    assert node.executions.get(second.final).cached_from == first.final  # trusted: its own
    report_ = node.trust.verify(second.final)  # a cache hit; re-execution disagrees
    assert report_.overall == "mismatch"
    for h in (second.final, first.final):  # the hit and the execution it was cached from
        dispute = node.executions.dispute(h)
        assert dispute is not None and dispute.detail.startswith(f"verify by {node.id}: ")
    _, third = node.runs.run(wf.id, {0: [16]})
    recomputed = node.executions.get(third.final)
    assert recomputed.cached_from is None and node.executions.dispute(third.final) is None
    # A fourth run reuses the fresh, undisputed execution; never the disputed one.
    _, fourth = node.runs.run(wf.id, {0: [16]})
    assert node.executions.get(fourth.final).cached_from == third.final

    args = ["--data-dir", str(data_dir), *(["--db", db] if db else []), "exec", "get"]
    runner = CliRunner()
    shown = runner.invoke(cli, [*args, str(first.final), "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["disputed"]["detail"] == node.executions.dispute(first.final).detail
    clean = json.loads(runner.invoke(cli, [*args, str(third.final), "--json"]).output)
    assert clean["disputed"] is None
    human = runner.invoke(cli, [*args, str(first.final)])
    assert "DISPUTED: verify by" in human.output and "never reused" in human.output
