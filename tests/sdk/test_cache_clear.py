"""cache clear: later runs recompute, history is kept (issue 19), on both stores."""

from __future__ import annotations

import pytest

from catenary.errors import NotFoundError
from catenary.model.filter import ExecutionFilter
from tests.helpers import manifest

WF = manifest(([-1], ["test/inc", "test/count"]))


def test_clear_makes_later_runs_recompute_and_keeps_history(node, ops) -> None:
    wf = node.workflows.create(WF)
    node.runs.run(wf.id, {0: [1]})
    node.runs.run(wf.id, {0: [1]})
    assert (ops.CALLS["test/inc"], ops.CALLS["test/count"]) == (1, 1)  # the second run was cached
    before = node.executions.list(ExecutionFilter(workflow=wf.id)).executions

    node.operations.clear_cache("test/count")
    third = node.runs.run(wf.id, {0: [1]})
    assert (ops.CALLS["test/inc"], ops.CALLS["test/count"]) == (1, 2)  # only test/count recomputed
    executions = node.executions.list(ExecutionFilter(run=third.id)).executions
    assert {e.step: e.cached_from is None for e in executions} == {0: False, 1: True}
    node.runs.run(wf.id, {0: [1]})
    assert ops.CALLS["test/count"] == 2  # the recomputed one is reused again

    node.operations.clear_cache()
    node.runs.run(wf.id, {0: [1]})
    assert (ops.CALLS["test/inc"], ops.CALLS["test/count"]) == (2, 3)
    after = {e.hash for e in node.executions.list(ExecutionFilter(workflow=wf.id), page_size=1000).executions}
    assert {e.hash for e in before} <= after  # nothing deleted


def test_clear_an_unknown_operation_is_refused(node) -> None:
    with pytest.raises(NotFoundError, match="no operation named 'nope'"):
        node.operations.clear_cache("nope")
