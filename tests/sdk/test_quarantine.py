"""`doctor --repair` quarantines a record that does not fit its workflow (issue 13, item 6):
the record stays in the DB, but memoization and execution lists no longer serve it. On both
stores."""

from __future__ import annotations

import time

from catenary.model import Status
from catenary.model.filter import ExecutionFilter
from catenary.store import Quarantined
from tests.helpers import manifest, query

WF = manifest(([-1], ["test/inc", "test/count"]))


def plant_misfit(node, run_id):
    """A completed test/inc of 7 that answers 100, put where the workflow has no step (step 5),
    written straight to the store as someone with the DB file (or an old version) could: its
    key is the one a run on 7 looks up."""
    first = next(e for e in node.executions.list(ExecutionFilter(run=run_id)).executions if e.step == 0)
    seven, bogus = node.values.put(7), node.values.put(100)
    inv = first.invocation
    misfit = type(inv)(inv.workflow, 0, 5, inv.operation, dict(inv.config), inv.parents, (seven,))
    now = time.time_ns()
    record = misfit.record(run_id, Status.COMPLETED, output=bogus, created_at=now, finished_at=now)
    assert node.store.insert_execution(record) is not None
    return record


def test_repair_quarantines_a_misfit_and_memo_never_reuses_it(node, ops, db_path) -> None:
    wf = node.workflows.create(WF)
    run = node.runs.run(wf.id, {0: [1]})
    misfit = plant_misfit(node, run.id)
    assert [c.origin for c in node.store.memo_candidates(misfit.key)] == [misfit.hash]  # the threat

    report = node.doctor.check()
    assert [(f.check, f.subject, f.repairable) for f in report.findings] == [
        ("placement", str(misfit.hash), True)
    ]
    assert report.findings[0].message.startswith("step: 5")

    repaired = node.doctor.check(repair=True)
    assert repaired.ok and [(r.action, r.subject) for r in repaired.repairs] == [
        ("quarantined", str(misfit.hash))
    ]
    assert "does not fit its workflow: step: 5" in repaired.repairs[0].reason
    after = node.doctor.check()
    assert after.ok and after.quarantined == 1 and not after.repairs

    # Kept, and readable by hash, but served by nothing.
    kept = node.store.get_execution(misfit.hash)
    assert kept is not None and (kept.hash, kept.output) == (misfit.hash, misfit.output)
    assert query(db_path, "SELECT count(*) FROM executions WHERE hash = ?", [misfit.hash.cid_bytes]) == [(1,)]
    assert node.store.memo_candidates(misfit.key) == []
    assert node.store.find_completed(misfit.key) is None
    listed = node.executions.list(ExecutionFilter(workflow=wf.id), page_size=1000).executions
    assert misfit.hash not in {e.hash for e in listed}
    assert misfit.hash not in {e.hash for e in node.store.executions_since(ExecutionFilter(), 0, 1000)}

    second = node.runs.run(wf.id, {0: [7]})
    assert ops.CALLS["test/inc"] == 2  # recomputed, not taken from the misfit
    step0 = next(e for e in node.executions.list(ExecutionFilter(run=second.id)).executions if e.step == 0)
    assert step0.cached_from is None and node.values.get(step0.output) == 8


def test_a_run_resting_on_a_quarantined_output_is_reported(node, ops) -> None:
    wf = node.workflows.create(WF)
    run = node.runs.run(wf.id, {0: [1]})
    producer = node.store.get_run(run.id).outputs[0].producer
    node.store.quarantine([Quarantined(producer, time.time_ns(), "test")])
    report = node.doctor.check(repair=True)
    assert [(f.check, f.subject, f.message) for f in report.findings] == [
        ("run", str(run.id), f"segment 0 output comes from quarantined execution {producer}")
    ]
    assert not report.repairs and not report.ok
