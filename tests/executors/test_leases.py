"""Claims are leases: renewed by their owner, returned to ``created`` when they lapse (the one
recovery transition, in_progress -> created), and every claim and expiry is in the history.

Expiry is driven by ``sweep(now=...)`` with an explicit clock, so nothing here depends on timing,
except the last test, which lets a short lease lapse for real while the engine waits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from catenary.api import Server
from catenary.client import Client
from catenary.errors import BadInputError, ExecutionPendingError, LeaseLostError, StatusTransitionError
from catenary.model import Execution, Status
from catenary.model.filter import ExecutionFilter
from catenary.sdk import Node
from tests.executors.conftest import workflow
from tests.helpers import open_policy, query

S = 10**9  # ns per second
# Every test runs on both stores.
pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


def created(node: Node, value: int = 7) -> Execution:
    """A remote execution in status created: the engine records it, then stops waiting."""
    wait, node.engine.remote_wait = node.engine.remote_wait, 0
    try:
        wf = workflow(node, ([-1], ["test/remote-slow"]))
        with pytest.raises(ExecutionPendingError) as info:
            node.runs.next(node.runs.new(wf.id).id, [value])
    finally:
        node.engine.remote_wait = wait
    return info.value.execution


def history(node: Node, execution: Execution) -> list[tuple[str, str | None]]:
    return [(h.change, h.executor) for h in node.executions.history(execution.hash)]


def test_a_lapsed_claim_returns_to_created_and_the_history_says_so(remote_node: Node, db: str | None) -> None:
    node = remote_node
    e = created(node)
    claimed = node.executions.update(e.hash, Status.IN_PROGRESS, "a", lease=30)
    assert (claimed.status, claimed.executor) == (Status.IN_PROGRESS, "a") and claimed.started_at
    now = time.time_ns()
    assert node.executions.sweep(now) == []  # still leased
    [back] = node.executions.sweep(now + 31 * S)
    assert back.hash == e.hash and back.status is Status.CREATED
    assert back.executor is None and back.started_at is None and back.seq > claimed.seq
    entries = node.executions.history(e.hash)
    assert [(h.change, h.executor, h.seq) for h in entries] == [
        ("claimed", "a", claimed.seq),
        ("lease_expired", "a", back.seq),
    ]
    assert "lease of a ended at" in entries[1].detail
    # The executor that lost its claim cannot report any more, and is told why; another one
    # takes it over.
    with pytest.raises(LeaseLostError, match="the lease of a lapsed at .* it waits for an executor again"):
        node.executions.update(e.hash, Status.COMPLETED, "a", output=70)
    node.executions.update(e.hash, Status.IN_PROGRESS, "b", lease=30)
    done = node.executions.update(e.hash, Status.COMPLETED, "b", output=70)
    assert (done.status, done.executor, node.values.get(done.output)) == (Status.COMPLETED, "b", 70)
    assert history(node, e) == [("claimed", "a"), ("lease_expired", "a"), ("claimed", "b")]
    assert query(
        db or node.data_dir / "catenary.db",
        "SELECT count(*) FROM executions WHERE hash = ?",
        (e.hash.cid_bytes,),
    ) == [(1,)]
    assert node.executions.sweep(now + 10**6 * S) == []  # finished executions have no lease


def test_the_owner_renews_its_lease_and_nobody_else_can(remote_node: Node) -> None:
    node = remote_node
    e = created(node)
    now = time.time_ns()
    claimed = node.executions.update(e.hash, Status.IN_PROGRESS, "a", lease=10)
    renewed = node.executions.update(e.hash, Status.IN_PROGRESS, "a", lease=100)
    assert renewed.seq == claimed.seq  # a renewal is not a change of the record
    assert node.executions.sweep(now + 50 * S) == []
    with pytest.raises(StatusTransitionError, match="actual in_progress \\(claimed by a\\)"):
        node.executions.update(e.hash, Status.IN_PROGRESS, "b")
    assert [x.hash for x in node.executions.sweep(now + 101 * S)] == [e.hash]
    assert history(node, e) == [("claimed", "a"), ("lease_expired", "a")]


def test_a_claim_without_a_lease_gets_the_node_default(make_node) -> None:
    node = make_node(operations=["tests.executors.remote_ops"], lease=5)
    e = created(node)
    node.executions.update(e.hash, Status.IN_PROGRESS, "a")
    now = time.time_ns()
    assert node.executions.sweep(now + 4 * S) == []
    assert len(node.executions.sweep(now + 6 * S)) == 1


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), True, 10**6, "5"])
def test_bad_leases_are_refused_and_change_nothing(remote_node: Node, bad: object) -> None:
    e = created(remote_node)
    with pytest.raises(BadInputError, match="lease"):
        remote_node.executions.update(e.hash, Status.IN_PROGRESS, "a", lease=bad)  # type: ignore[arg-type]
    assert remote_node.executions.get(e.hash) == e
    assert remote_node.executions.history(e.hash) == []


def test_updates_shows_the_execution_created_again(remote_node: Node) -> None:
    node = remote_node
    e = created(node)
    claimed = node.executions.update(e.hash, Status.IN_PROGRESS, "a", lease=30)
    [back] = node.executions.sweep(time.time_ns() + 60 * S)
    stop = threading.Event()
    stream = node.executions.updates(ExecutionFilter(statuses=(Status.CREATED,)), claimed.seq, stop)
    again = next(stream)
    stop.set()
    assert (again.hash, again.status, again.seq) == (e.hash, Status.CREATED, back.seq)


@pytest.fixture
def client(remote_node: Node) -> Iterator[Client]:
    server = Server(remote_node, "127.0.0.1:0", policy=open_policy(remote_node)).start()
    c = Client(server.address)
    yield c
    c.close()
    server.stop(grace=1)


def test_leases_through_the_api(remote_node: Node, client: Client) -> None:
    e = created(remote_node)
    with pytest.raises(BadInputError, match="lease"):
        client.executions.update(e.hash, Status.IN_PROGRESS, "a", lease=-2)
    claimed = client.executions.update(e.hash, Status.IN_PROGRESS, "a", lease=30)
    assert client.executions.update(e.hash, Status.IN_PROGRESS, "a", lease=60).seq == claimed.seq
    with pytest.raises(StatusTransitionError, match="claimed by a"):
        client.executions.update(e.hash, Status.IN_PROGRESS, "b", lease=60)
    [back] = remote_node.executions.sweep(time.time_ns() + 61 * S)
    assert client.executions.get(e.hash).status is Status.CREATED


def test_a_claim_that_lapses_while_the_engine_waits_goes_to_another_executor(remote_node, thread_executor):
    node = remote_node
    wf = workflow(node, ([-1], ["test/remote-slow"]))
    run = node.runs.new(wf.id)
    outcome: list[object] = []
    stepping = threading.Thread(target=lambda: outcome.append(node.runs.next(run.id, [2])))
    stepping.start()
    flt = ExecutionFilter(run=run.id)
    for _ in range(200):  # the engine records it created, then waits
        page = node.executions.list(flt).executions
        if page:
            break
        time.sleep(0.02)
    [pending] = page
    node.executions.update(pending.hash, Status.IN_PROGRESS, "dies", lease=0.3)  # and never reports
    thread_executor("survivor")
    stepping.join(30)
    assert outcome and outcome[0].result == 20
    done = node.executions.get(pending.hash)
    assert (done.status, done.executor) == (Status.COMPLETED, "survivor")
    assert history(node, pending) == [("claimed", "dies"), ("lease_expired", "dies"), ("claimed", "survivor")]
