"""The execution manager: get, list (keyset pages, filters), updates (stored then live), trace."""

from __future__ import annotations

import base64
import threading
import time

import pytest

from catenary.cid import cid_of, encode
from catenary.errors import BadInputError, ExecutionFailedError, NotFoundError
from catenary.model import Status
from catenary.model.filter import ExecutionFilter
from tests.helpers import manifest, run_events, snapshot

# three executions per run: two in segment 0, one in segment 1
SMALL = manifest(([-1], ["test/inc", "test/inc"]), ([0, -1], ["test/add"]))
SIX = manifest(
    ([-1], ["test/inc", "test/inc"]),
    ([0], ["test/inc"]),
    ([-1, 1], ["test/add", "test/inc"]),
    ([2, 0], ["test/add"]),
    ([-1, 3], ["test/add", "test/inc", "test/inc"]),
    ([4, 3], ["test/add"]),
)


def hashes(executions) -> list:
    return [e.hash for e in executions]


def all_newest_first(node) -> list:
    return sorted(node.executions.iterate(), key=lambda e: -e.seq)


# -- get ------------------------------------------------------------------------------------------


def test_get_and_unknown_hash(node, db_path) -> None:
    wf = node.workflows.create(SMALL)
    _, result = node.runs.run(wf.id, {0: [1], 1: [2]})
    e = node.executions.get(result.final)
    assert e.hash == result.final and e.segment == 1
    before = snapshot(db_path)
    with pytest.raises(NotFoundError, match="unknown execution"):
        node.executions.get(cid_of("no such execution"))
    assert snapshot(db_path) == before


# -- list and pages -----------------------------------------------------------------------------


@pytest.fixture
def populated(node):
    """Four runs of SMALL (12 executions) and one failing run."""
    wf = node.workflows.create(SMALL)
    runs = [node.runs.run(wf.id, {0: [i], 1: [10 * i]}, fresh=True)[0] for i in range(4)]
    bad = node.workflows.create(manifest(([-1], ["test/inc", "test/boom"]), name="bad"))
    with pytest.raises(ExecutionFailedError):
        node.runs.run(bad.id, {0: [1]})
    return wf, runs, bad


def test_list_newest_first_and_pages_cover_everything_once(node, populated) -> None:
    everything = all_newest_first(node)
    assert len(everything) == 14
    first = node.executions.list(page_size=5)
    assert hashes(first.executions) == hashes(everything[:5])
    seen, token = hashes(first.executions), first.next_page_token
    while token:
        page = node.executions.list(page_size=5, page_token=token)
        seen += hashes(page.executions)
        token = page.next_page_token
    assert seen == hashes(everything)
    assert node.executions.list(page_size=14).next_page_token is None
    assert node.executions.list(page_size=13).next_page_token is not None
    assert hashes(node.executions.iterate(page_size=3)) == hashes(everything)


def test_page_tokens_are_stable_while_new_executions_arrive(node, populated) -> None:
    wf, _, _ = populated
    snapshot_order = hashes(all_newest_first(node))
    page = node.executions.list(page_size=4)
    seen = hashes(page.executions)
    token = page.next_page_token
    arrivals = 0
    while token:
        node.runs.run(wf.id, {0: [100 + arrivals], 1: [0]})  # three new executions per page
        arrivals += 1
        page = node.executions.list(page_size=4, page_token=token)
        seen += hashes(page.executions)
        token = page.next_page_token
    assert seen == snapshot_order
    assert arrivals >= 3
    assert len(list(node.executions.iterate())) == 14 + 3 * arrivals


@pytest.mark.parametrize("size", [0, -1, 1001])
def test_page_size_bounds(node, size: int) -> None:
    with pytest.raises(BadInputError, match="page size"):
        node.executions.list(page_size=size)


def _token(payload) -> str:
    return base64.urlsafe_b64encode(encode(payload)).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "not a token at all!",
        "AAAA",
        _token("hello"),
        _token([1, 5]),
        _token([2, 5, b"12345678"]),
        _token([1, -5, b"12345678"]),
        _token([1, "5", b"12345678"]),
        _token([1, True, b"12345678"]),
        _token([1, 5, b"12345678"]),  # right shape, forged fingerprint
    ],
)
def test_forged_page_tokens_are_refused(node, populated, db_path, token: str) -> None:
    before = snapshot(db_path)
    with pytest.raises(BadInputError):
        node.executions.list(page_size=2, page_token=token)
    assert snapshot(db_path) == before


def test_token_for_another_filter_is_refused(node, populated) -> None:
    wf, runs, _ = populated
    token = node.executions.list(ExecutionFilter(workflow=wf.id), page_size=2).next_page_token
    assert token
    assert node.executions.list(ExecutionFilter(workflow=wf.id), page_size=2, page_token=token).executions
    for other in (
        ExecutionFilter(),
        ExecutionFilter(run=runs[0].id),
        ExecutionFilter(workflow=wf.id, statuses=(Status.COMPLETED,)),
    ):
        with pytest.raises(BadInputError, match="different filter"):
            node.executions.list(other, page_size=2, page_token=token)


def test_every_filter_field(node, populated) -> None:
    wf, runs, bad = populated
    everything = all_newest_first(node)

    def listed(**kw) -> set:
        return set(hashes(node.executions.iterate(ExecutionFilter(**kw), page_size=2)))

    def expected(pred) -> set:
        return {e.hash for e in everything if pred(e)}

    inc = node.operations.resolve_name("test/inc")
    first = [e for e in everything if e.run == runs[0].id]
    seg0_last = next(e for e in first if (e.segment, e.step) == (0, 1))
    event0 = next(e for e in first if (e.segment, e.step) == (0, 0)).parents[0]
    times = sorted(e.created_at for e in everything)
    value = seg0_last.output
    assert value is not None
    cases = {
        "statuses failed": (dict(statuses=(Status.FAILED,)), lambda e: e.status == Status.FAILED),
        "statuses any of": (dict(statuses=(Status.FAILED, Status.COMPLETED)), lambda e: True),
        "workflow": (dict(workflow=wf.id), lambda e: e.workflow == wf.id),
        "workflow bad": (dict(workflow=bad.id), lambda e: e.workflow == bad.id),
        "run": (dict(run=runs[2].id), lambda e: e.run == runs[2].id),
        "operation": (dict(operation=inc), lambda e: e.operation == inc),
        "segment": (dict(segment=1), lambda e: e.segment == 1),
        "parent execution": (dict(parent=seg0_last.hash), lambda e: seg0_last.hash in e.parents),
        "parent event": (dict(parent=event0), lambda e: event0 in e.parents),
        "key": (dict(key=seg0_last.key), lambda e: e.key == seg0_last.key),
        "created_after": (dict(created_after=times[5]), lambda e: e.created_at > times[5]),
        "created_before": (dict(created_before=times[5]), lambda e: e.created_at < times[5]),
        "range": (
            dict(created_after=times[2], created_before=times[9]),
            lambda e: times[2] < e.created_at < times[9],
        ),
        # the value 2 flows through runs 0, 1 and 2 and the failing run at different steps
        "input value": (dict(input=value), lambda e: value in e.inputs),
        "output value": (dict(output=value), lambda e: e.output == value),
        "input and output": (
            dict(input=value, output=value),
            lambda e: value in e.inputs and e.output == value,
        ),
        "combined": (
            dict(workflow=wf.id, segment=0, run=runs[1].id),
            lambda e: e.workflow == wf.id and e.segment == 0 and e.run == runs[1].id,
        ),
    }
    for name, (kw, pred) in cases.items():
        want = expected(pred)
        assert want, f"{name}: the fixture should have matches"
        assert listed(**kw) == want, name
        assert want != {e.hash for e in everything} or name == "statuses any of", name
    assert listed(parent=cid_of("nobody")) == set()
    assert listed(input=cid_of("nobody")) == listed(output=cid_of("nobody")) == set()
    # a parent is not an input: the event carrying run 0's first input is matched by neither
    assert listed(input=event0) == listed(output=event0) == set()
    assert all(ExecutionFilter(input=value).matches(e) == (value in e.inputs) for e in everything)
    assert listed(segment=7) == set()


# -- updates ----------------------------------------------------------------------------------


def test_updates_yields_stored_then_live_without_gaps_or_duplicates(make_node) -> None:
    reader = make_node()
    wf = reader.workflows.create(SMALL)
    for i in range(3):
        reader.runs.run(wf.id, {0: [i], 1: [i]})
    writer = make_node()  # a second connection to the same data dir
    live_runs = 15
    total = 3 * 3 + 3 * live_runs
    stop = threading.Event()
    watchdog = threading.Timer(20, stop.set)
    watchdog.start()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for i in range(live_runs):
                writer.runs.run(wf.id, {0: [1000 + i], 1: [i]})
                time.sleep(0.002)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=write)
    seen = []
    try:
        for execution in reader.executions.updates(stop=stop):
            seen.append(execution)
            if len(seen) == 1:
                thread.start()  # live writes begin after the subscriber has started
            if len(seen) >= total:
                break
    finally:
        stop.set()
        watchdog.cancel()
        if thread.is_alive() or thread.ident:
            thread.join(10)
    assert not errors
    assert len(seen) == total, f"saw {len(seen)} of {total}"
    assert [e.seq for e in seen] == list(range(1, total + 1))
    assert len({e.hash for e in seen}) == total
    assert {e.hash for e in seen} == {e.hash for e in reader.executions.iterate()}


def _drain(node, flt=None, since_seq: int = 0, seconds: float = 0.15) -> list:
    """Everything updates() yields until stopped after ``seconds`` (no writes meanwhile)."""
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    try:
        return list(node.executions.updates(flt, since_seq=since_seq, stop=stop))
    finally:
        timer.cancel()


def test_updates_since_seq_resumes_and_filters(node) -> None:
    wf = node.workflows.create(SMALL)
    runs = [node.runs.run(wf.id, {0: [i], 1: [i]})[0] for i in range(3)]
    assert [e.seq for e in _drain(node)] == list(range(1, 10))
    assert [e.seq for e in _drain(node, since_seq=4)] == [5, 6, 7, 8, 9]
    assert _drain(node, since_seq=9) == []
    only_run = _drain(node, ExecutionFilter(run=runs[1].id))
    assert {e.run for e in only_run} == {runs[1].id}
    assert [e.seq for e in only_run] == [4, 5, 6]
    assert [e.seq for e in _drain(node, ExecutionFilter(segment=1), since_seq=3)] == [6, 9]


def test_updates_ends_when_stop_is_set(node) -> None:
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    assert list(node.executions.updates(stop=stop)) == []
    assert time.monotonic() - started < 5


def test_updates_live_for_one_run(node) -> None:
    """Subscribe before the run is stepped; only its executions arrive, in order."""
    wf = node.workflows.create(SMALL)
    run = node.runs.new(wf.id)
    other = node.runs.new(wf.id)
    stop = threading.Event()
    watchdog = threading.Timer(10, stop.set)
    watchdog.start()

    def step() -> None:
        node.runs.next(other.id, [5])
        node.runs.next(run.id, [1])
        node.runs.next(other.id, [6])
        node.runs.next(run.id, [2])

    thread = threading.Thread(target=step)
    updates = node.executions.updates(ExecutionFilter(run=run.id), stop=stop)
    seen = []
    thread.start()
    for e in updates:
        seen.append(e)
        if len(seen) == 3:
            break
    watchdog.cancel()
    thread.join(5)
    assert [(e.segment, e.step) for e in seen] == [(0, 0), (0, 1), (1, 0)]
    assert {e.run for e in seen} == {run.id}


# -- trace ----------------------------------------------------------------------------------


def test_trace_of_final_execution_reaches_exactly_the_runs_events(node, db_path) -> None:
    wf = node.workflows.create(SIX)
    state, result = node.runs.run(wf.id, {0: [1], 2: [2], 4: [3]})
    trace = node.executions.trace(result.final)
    assert trace.root == result.final
    events = {n.hash for n in trace.nodes if n.kind == "event"}
    assert events == set(run_events(db_path, state.id))
    assert len(events) == 3
    executions = {n.hash for n in trace.nodes if n.kind == "execution"}
    run_execs = list(node.executions.iterate(ExecutionFilter(run=state.id)))
    assert executions == {e.hash for e in run_execs}  # every execution of this run feeds the last one
    assert len(trace.nodes) == len(executions) + len(events)  # each node once
    expected_edges = {(p, e.hash) for e in run_execs for p in e.parents}
    assert set(trace.edges) == expected_edges
    assert len(trace.edges) == len(expected_edges)
    for n in trace.nodes:
        if n.kind == "event":
            assert cid_of({"run": state.id, "segment": n.segment, "inputs": list(n.inputs)}) == n.hash
            assert n.segment in (0, 2, 4)


def test_trace_of_an_intermediate_execution(node, db_path) -> None:
    wf = node.workflows.create(SIX)
    state, _ = node.runs.run(wf.id, {0: [1], 2: [2], 4: [3]})
    seg1 = node.executions.list(ExecutionFilter(run=state.id, segment=1)).executions[0]
    trace = node.executions.trace(seg1.hash)
    kinds = sorted((n.kind, n.segment if n.kind == "event" else n.execution.segment) for n in trace.nodes)
    assert kinds == [("event", 0), ("execution", 0), ("execution", 0), ("execution", 1)]


def test_trace_of_a_memoized_run_stays_in_its_run(node, db_path) -> None:
    wf = node.workflows.create(SIX)
    node.runs.run(wf.id, {0: [1], 2: [2], 4: [3]})
    state, result = node.runs.run(wf.id, {0: [1], 2: [2], 4: [3]})
    trace = node.executions.trace(result.final)
    assert all(n.execution.run == state.id for n in trace.nodes if n.kind == "execution")
    assert all(n.execution.cached_from is not None for n in trace.nodes if n.kind == "execution")
    assert {n.hash for n in trace.nodes if n.kind == "event"} == set(run_events(db_path, state.id))


def test_trace_unknown_hash(node) -> None:
    with pytest.raises(NotFoundError):
        node.executions.trace(cid_of("nothing"))
