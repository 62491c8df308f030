"""The store contract, run on every backend (SQLite and PostgreSQL): values, operations,
workflows, runs, step commits, keyset pages, seq, claims, lineage, attestations, imports.

Backend-specific schema checks are in test_sqlite_schema.py and test_postgres_schema.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from catenary.cid import CID, block, cid_of
from catenary.model import Event, Execution, Run, Status, Workflow, hash_data, key_data
from catenary.model.filter import ExecutionFilter
from catenary.operations import default_registry
from catenary.store import (
    AttestationRow,
    Dispute,
    ImportBatch,
    MemoCandidate,
    RunState,
    SegmentOutput,
    SQLiteStore,
    StepCommit,
    Store,
)
from tests.helpers import data, snapshot

S = 10**9  # a second, in ns

OP = default_registry().by_name("std/utf8-encode")


@pytest.fixture
def location(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """Where the store keeps its records: a SQLite file, or a fresh PostgreSQL database's URL."""
    if backend == "postgresql":
        return request.getfixturevalue("pg_database")
    return tmp_path / "db.sqlite"


@pytest.fixture
def open_store(location: Path | str) -> Iterator[Callable[[], Store]]:
    """Open stores on the test's location (closed at teardown): several act as several nodes."""
    opened: list[Store] = []

    def make() -> Store:
        if isinstance(location, Path):
            s: Store = SQLiteStore(location)
        else:
            from catenary.store.postgres import PostgresStore

            s = PostgresStore(location)
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()


@pytest.fixture
def store(open_store: Callable[[], Store]) -> Store:
    return open_store()


def make_run(store: Store, nonce: bytes = bytes(16)) -> Run:
    run = Run(cid_of("wf"), nonce)
    store.create_run(run, 100)
    return run


def execution(
    run: Run,
    segment: int,
    step: int,
    parents: list[CID],
    inputs: list[CID],
    status: Status = Status.COMPLETED,
    output: CID | None = None,
    created_at: int = 1,
    cached_from: CID | None = None,
    config: dict[str, str] | None = None,
) -> Execution:
    config = config or {}
    op = OP.version_id
    terminal = status in (Status.COMPLETED, Status.FAILED)
    return Execution(
        hash=cid_of(hash_data(run.workflow, segment, step, op, config, parents, inputs)),
        key=cid_of(key_data(op, config, inputs)),
        workflow=run.workflow,
        run=run.id,
        segment=segment,
        step=step,
        operation=op,
        config=config,
        parents=tuple(parents),
        inputs=tuple(inputs),
        status=status,
        output=output if status == Status.COMPLETED else None,
        error="failed: x" if status == Status.FAILED else None,
        executor="node-t" if terminal else None,
        cached_from=cached_from,
        created_at=created_at,
        started_at=created_at + 1 if terminal else None,
        finished_at=created_at + 2 if terminal else None,
        seq=0,
    )


def commit(
    store: Store,
    run: Run,
    segment: int,
    executions: list[Execution],
    *,
    events: list[Event] = (),
    blocks=(),
    status: str = "running",
    error: str | None = None,
    attestations: list[AttestationRow] = (),
) -> bool:
    last = executions[-1]
    out = None if error else SegmentOutput(segment, last.output, last.hash, 1.5)
    return store.commit_step(
        StepCommit(
            run.id,
            segment,
            list(events),
            executions,
            list(blocks),
            out,
            status,
            1.5 * (segment + 1),
            error,
            200 + segment,
            list(attestations),
        )
    )


def attestation(execution_hash: CID, n: int, role: str = "executor") -> AttestationRow:
    cid, raw = block({"attests": execution_hash, "n": n})
    return AttestationRow(execution_hash, cid, raw, f"did:key:z{n}", role)


# -- opening ------------------------------------------------------------------------------------


def test_reopening_keeps_data_and_does_not_migrate_again(open_store, location) -> None:
    s = open_store()
    cid, raw = block({"v": 1})
    s.put_blocks([(cid, raw)])
    version = s.schema_version()
    s.close()
    before = snapshot(location)
    s = open_store()
    assert s.get_block(cid) == raw
    assert s.schema_version() == version
    assert snapshot(location) == before


# -- values, operations, workflows ----------------------------------------------------------------


def test_blocks_are_content_addressed_and_idempotent(store: Store) -> None:
    cid, raw = block([1, "two", b"three"])
    store.put_blocks([(cid, raw)])
    store.put_blocks([(cid, raw)])
    assert store.get_block(cid) == raw
    assert store.get_block(cid_of("absent")) is None
    store.put_blocks([])


def test_operations_roundtrip(store: Store) -> None:
    store.put_operation(OP.manifest, OP.version)
    store.put_operation(OP.manifest, OP.version)
    manifest, version = store.get_version(OP.version_id)
    assert manifest == OP.manifest and version.id == OP.version_id
    assert [v.id for _, v in store.list_versions()] == [OP.version_id]
    assert store.get_version(cid_of("nope")) is None


def test_operations_are_listed_by_name_bytewise(store: Store) -> None:
    registry = default_registry()
    names = ["std/utf8-encode", "std/hash", "std/cid", "std/concat"]
    for name in names:
        op = registry.by_name(name)
        store.put_operation(op.manifest, op.version)
    assert [m.name for m, _ in store.list_versions()] == sorted(names, key=str.encode)


def test_workflows_roundtrip(store: Store) -> None:
    wf = Workflow.from_data(
        {**data(), "segments": [{"inputs": [-1], "sequence": [{"version_id": OP.version_id, "config": {}}]}]}
    )
    store.put_workflow(wf, 5)
    store.put_workflow(wf, 6)
    assert store.get_workflow(wf.id) == wf
    assert [(i, t) for i, _, t in store.list_workflows()] == [(wf.id, 5)]
    assert store.get_workflow(cid_of("nope")) is None


# -- runs and step commits ----------------------------------------------------------------------


def test_run_roundtrip(store: Store) -> None:
    run = make_run(store, b"n" * 16)
    state = store.get_run(run.id)
    assert (
        state.id,
        state.workflow,
        state.nonce,
        state.status,
        state.next_segment,
        state.total_time,
        state.error,
        state.outputs,
    ) == (run.id, run.workflow, b"n" * 16, "running", 0, 0.0, None, {})
    assert Run(state.workflow, state.nonce).id == state.id
    assert store.get_run(cid_of("nope")) is None
    assert [r.id for r in store.list_runs()] == [run.id]
    assert store.list_runs(workflow=cid_of("other")) == []
    assert [r.id for r in store.list_runs(workflow=run.workflow)] == [run.id]


def test_commit_step_records_everything_atomically(store: Store) -> None:
    run = make_run(store)
    value_cid, raw = block("in")
    event = Event(run.id, 0, (value_cid,))
    out_cid, out_raw = block(b"in")
    e = execution(run, 0, 0, [event.hash], [value_cid], output=out_cid)
    assert commit(store, run, 0, [e], events=[event], blocks=[(value_cid, raw), (out_cid, out_raw)])
    stored = store.get_execution(e.hash)
    assert stored == Execution(**{**e.__dict__, "seq": 1})
    assert store.get_event(event.hash) == event
    assert store.get_event(cid_of("no event")) is None
    assert store.get_block(out_cid) == out_raw
    state = store.get_run(run.id)
    assert state.next_segment == 1 and state.total_time == 1.5 and state.updated_at == 200
    assert state.outputs == {0: SegmentOutput(0, out_cid, e.hash, 1.5)}


def test_stale_commit_writes_nothing(store: Store, location) -> None:
    run = make_run(store)
    e0 = execution(run, 0, 0, [cid_of("ev")], [cid_of(1)], output=cid_of(2))
    assert commit(store, run, 0, [e0])
    before = snapshot(location)
    e0b = execution(run, 0, 0, [cid_of("ev2")], [cid_of(3)], output=cid_of(4))
    cid, raw = block("orphan")
    assert commit(store, run, 0, [e0b], blocks=[(cid, raw)]) is False  # segment 0 is already done
    assert snapshot(location) == before
    assert store.get_execution(e0b.hash) is None


def test_failed_run_cannot_be_committed_to(store: Store) -> None:
    run = make_run(store)
    failed = execution(run, 0, 0, [cid_of("ev")], [cid_of(1)], status=Status.FAILED)
    assert commit(store, run, 0, [failed], status="failed", error="boom")
    state = store.get_run(run.id)
    assert (state.status, state.next_segment, state.error) == ("failed", 0, "boom")
    retry = execution(run, 0, 0, [cid_of("ev")], [cid_of(5)], output=cid_of(6))
    assert commit(store, run, 0, [retry]) is False


def test_concurrent_steps_of_one_run_commit_once(open_store) -> None:
    """Two stores (two nodes) commit segment 0 of one run at once: exactly one wins."""
    first, second = open_store(), open_store()
    run = make_run(first)
    results: list[bool] = []
    barrier = threading.Barrier(2)

    def step(s: Store, n: int) -> None:
        e = execution(run, 0, 0, [cid_of(f"ev{n}")], [cid_of(n)], output=cid_of(n + 1))
        barrier.wait()
        results.append(commit(s, run, 0, [e]))

    threads = [threading.Thread(target=step, args=(s, n)) for n, s in enumerate((first, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True]
    assert first.get_run(run.id).next_segment == 1
    assert len(first.executions_since(ExecutionFilter(), 0, 10)) == 1


def test_get_run_for_step_reads_only_the_named_outputs(store: Store) -> None:
    run = make_run(store)
    parent = cid_of("ev")
    for segment in range(3):
        e = execution(run, segment, 0, [parent], [cid_of(segment)], output=cid_of(segment + 1))
        commit(store, run, segment, [e])
        parent = e.hash
    full = store.get_run(run.id)
    assert sorted(full.outputs) == [0, 1, 2]
    seen: list[int] = []

    def wanted(state: RunState) -> list[int]:
        seen.append(state.next_segment)
        return [0, 2]

    partial = store.get_run_for_step(run.id, wanted)
    assert seen == [3]
    assert partial.outputs == {0: full.outputs[0], 2: full.outputs[2]}
    assert partial.next_segment == full.next_segment and partial.total_time == full.total_time
    assert store.get_run_for_step(run.id, lambda state: []).outputs == {}
    assert store.get_run_for_step(cid_of("nope"), wanted) is None


# -- seq ----------------------------------------------------------------------------------------


def test_a_sound_store_has_no_integrity_problems(store: Store, chain) -> None:
    assert store.integrity_problems() == []


def test_seq_is_monotonic_and_bumped_per_execution(store: Store) -> None:
    run = make_run(store)
    assert store.max_seq() == 0
    a = execution(run, 0, 0, [cid_of("ev")], [cid_of(1)], output=cid_of(2))
    b = execution(run, 0, 1, [a.hash], [cid_of(2)], output=cid_of(3))
    commit(store, run, 0, [a, b])
    c = execution(run, 1, 0, [b.hash], [cid_of(3)], output=cid_of(4))
    commit(store, run, 1, [c])
    seqs = [store.get_execution(x.hash).seq for x in (a, b, c)]
    assert seqs == [1, 2, 3]
    assert store.max_seq() == 3


def test_a_reader_resuming_by_seq_never_misses_a_concurrent_commit(open_store) -> None:
    """Writers on several stores commit at once while a reader polls ``executions_since(last)``.
    Every seq it sees is above the last one, and at the end it has seen every change: a change
    committed after the reader moved past its seq would be lost to it (which is what happens
    when seq order differs from commit order)."""
    writers = [open_store() for _ in range(4)]
    reader = open_store()
    per_writer, done = 40, threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def write(s: Store, w: int) -> None:
        try:
            run = make_run(s, bytes([w]) * 16)
            parent = cid_of(f"event{w}")
            for segment in range(per_writer):
                e = execution(run, segment, 0, [parent], [cid_of(segment)], output=cid_of(w))
                assert commit(s, run, segment, [e])
                parent = e.hash
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def read() -> None:
        last = 0
        while True:
            finished = done.is_set()
            for e in reader.executions_since(ExecutionFilter(), last, 1000):
                assert e.seq > last
                seen.append(e.seq)
                last = e.seq
            if finished:
                return

    threads = [threading.Thread(target=write, args=(s, w)) for w, s in enumerate(writers)]
    watcher = threading.Thread(target=read)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    watcher.join()
    assert not errors
    assert seen == list(range(1, len(writers) * per_writer + 1))


def test_find_completed_ignores_failed(store: Store) -> None:
    run = make_run(store)
    failed = execution(run, 0, 0, [cid_of("ev")], [cid_of(1)], status=Status.FAILED)
    commit(store, run, 0, [failed], status="failed", error="x")
    assert store.find_completed(failed.key) is None
    assert store.memo_candidates(failed.key) == []
    run2 = make_run(store, b"2" * 16)
    ok = execution(run2, 0, 0, [cid_of("ev2")], [cid_of(1)], output=cid_of(9))
    commit(store, run2, 0, [ok])
    assert ok.key == failed.key
    assert store.find_completed(failed.key).hash == ok.hash
    assert store.memo_candidates(failed.key) == [MemoCandidate(cid_of(9), ok.hash, frozenset())]
    run3 = make_run(store, b"3" * 16)
    hit = execution(run3, 0, 0, [cid_of("ev3")], [cid_of(1)], output=cid_of(9), cached_from=ok.hash)
    commit(store, run3, 0, [hit])
    # A cache hit is not a candidate itself: the execution that did the work is.
    assert store.memo_candidates(hit.key) == [MemoCandidate(cid_of(9), ok.hash, frozenset())]


def test_memo_candidates_carry_signers_and_skip_disputed(store: Store) -> None:
    run = make_run(store)
    ok = execution(run, 0, 0, [cid_of("ev")], [cid_of(1)], output=cid_of(9))
    commit(store, run, 0, [ok])
    store.put_attestations(
        [
            AttestationRow(ok.hash, cid_of("a1"), b"x", "did:key:zA", "executor"),
            AttestationRow(ok.hash, cid_of("a2"), b"y", "did:key:zB", "validator"),
        ],
        5,
    )
    assert store.memo_candidates(ok.key) == [
        MemoCandidate(cid_of(9), ok.hash, frozenset({"did:key:zA", "did:key:zB"}))
    ]
    assert store.get_dispute(ok.hash) is None
    assert store.put_disputes([Dispute(ok.hash, 7, "verify: got another output")]) == 1
    assert store.put_disputes([Dispute(ok.hash, 8, "again")]) == 0  # the first dispute stays
    assert store.get_dispute(ok.hash) == Dispute(ok.hash, 7, "verify: got another output")
    assert store.memo_candidates(ok.key) == []


# -- listing ----------------------------------------------------------------------------------


@pytest.fixture
def chain(store: Store):
    """Ten executions across two runs; created_at = 10 * position."""
    runs = [make_run(store, bytes([i]) * 16) for i in range(2)]
    made = []
    for r, run in enumerate(runs):
        parent = cid_of(f"event{r}")
        for segment in range(5):
            e = execution(
                run,
                segment,
                0,
                [parent],
                [cid_of(segment)],
                output=cid_of(segment + 1),
                created_at=10 * len(made),
                config={"n": str(segment % 2)},
            )
            commit(store, run, segment, [e])
            made.append(e)
            parent = e.hash
    return runs, made


def test_list_is_newest_first_with_keyset_pages(store: Store, chain) -> None:
    _, made = chain
    page, cursor = store.list_executions(ExecutionFilter(), 4, None)
    assert [e.hash for e in page] == [e.hash for e in reversed(made)][:4]
    seen = [e.hash for e in page]
    while cursor is not None:
        page, cursor = store.list_executions(ExecutionFilter(), 4, cursor)
        seen += [e.hash for e in page]
    assert seen == [e.hash for e in reversed(made)]


def test_list_filters(store: Store, chain) -> None:
    runs, made = chain

    def hashes(**kw) -> list[CID]:
        return [e.hash for e in store.list_executions(ExecutionFilter(**kw), 100, None)[0]]

    assert hashes(run=runs[0].id) == [e.hash for e in reversed(made[:5])]
    assert hashes(segment=3) == [made[8].hash, made[3].hash]
    assert hashes(parent=made[1].hash) == [made[2].hash]
    assert hashes(parent=cid_of("event1")) == [made[5].hash]
    assert hashes(key=made[2].key) == [made[7].hash, made[2].hash]
    assert hashes(created_after=70) == [made[9].hash, made[8].hash]
    assert hashes(created_before=20) == [made[1].hash, made[0].hash]
    assert hashes(created_after=20, created_before=50) == [made[4].hash, made[3].hash]
    assert hashes(statuses=(Status.FAILED,)) == []
    assert len(hashes(statuses=(Status.COMPLETED,))) == 10
    assert len(hashes(statuses=(Status.FAILED, Status.COMPLETED))) == 10
    assert len(hashes(workflow=runs[0].workflow)) == 10
    assert hashes(workflow=cid_of("other")) == []
    assert len(hashes(operation=OP.version_id)) == 10


def test_executions_since_is_in_seq_order(store: Store, chain) -> None:
    _, made = chain
    got = store.executions_since(ExecutionFilter(), 3, 100)
    assert [e.seq for e in got] == list(range(4, 11))
    assert [e.hash for e in got] == [e.hash for e in made[3:]]
    assert len(store.executions_since(ExecutionFilter(), 0, 2)) == 2
    assert [e.seq for e in store.executions_since(ExecutionFilter(segment=0), 0, 100)] == [1, 6]


# -- external executors: create and claim ----------------------------------------------------------


def test_insert_execution_records_created_once(store: Store, location) -> None:
    run = make_run(store)
    e = execution(run, 0, 0, [cid_of("ev")], [cid_of(1)], status=Status.CREATED)
    stored = store.insert_execution(e)
    assert stored == Execution(**{**e.__dict__, "seq": 1})
    assert [x.hash for x in store.list_executions(ExecutionFilter(parent=cid_of("ev")), 10, None)[0]] == [
        e.hash
    ]
    before = snapshot(location)
    assert store.insert_execution(e) is None
    assert snapshot(location) == before
    assert store.max_seq() == 1


def test_transition_moves_status_bumps_seq_and_stores_output(store: Store, location) -> None:
    run = make_run(store)
    e = execution(run, 0, 0, [cid_of("ev")], [cid_of(1)], status=Status.CREATED)
    store.insert_execution(e)
    claimed = store.transition(e.hash, Status.CREATED, Status.IN_PROGRESS, now=50, executor="node-x")
    assert (claimed.status, claimed.executor, claimed.started_at, claimed.seq) == (
        Status.IN_PROGRESS,
        "node-x",
        50,
        2,
    )
    before = snapshot(location)
    assert store.transition(e.hash, Status.CREATED, Status.IN_PROGRESS, now=51, executor="node-y") is None
    assert (
        store.transition(cid_of("nope"), Status.CREATED, Status.IN_PROGRESS, now=51, executor="node-y")
        is None
    )
    assert snapshot(location) == before
    out_cid, out_raw = block("done")
    done = store.transition(e.hash, Status.IN_PROGRESS, Status.COMPLETED, now=60, output=(out_cid, out_raw))
    assert (done.status, done.output, done.finished_at, done.seq, done.executor) == (
        Status.COMPLETED,
        out_cid,
        60,
        3,
        "node-x",
    )
    assert store.get_block(out_cid) == out_raw
    assert store.memo_candidates(e.key) == [MemoCandidate(out_cid, e.hash, frozenset())]
    assert [x.seq for x in store.executions_since(ExecutionFilter(), 0, 10)] == [3]
    assert store.max_seq() == 3


def test_transition_to_failed_records_the_error(store: Store) -> None:
    run = make_run(store)
    e = execution(run, 0, 0, [cid_of("ev")], [cid_of(1)], status=Status.CREATED)
    store.insert_execution(e)
    store.transition(e.hash, Status.CREATED, Status.IN_PROGRESS, now=50, executor="node-x")
    failed = store.transition(e.hash, Status.IN_PROGRESS, Status.FAILED, now=70, error="it broke")
    assert (failed.status, failed.error, failed.output, failed.finished_at) == (
        Status.FAILED,
        "it broke",
        None,
        70,
    )


def test_contested_claims_from_several_stores_have_one_winner(open_store) -> None:
    stores = [open_store() for _ in range(4)]
    run = make_run(stores[0])
    items = [
        execution(run, 0, step, [cid_of("ev")], [cid_of(step)], status=Status.CREATED) for step in range(5)
    ]
    for e in items:
        stores[0].insert_execution(e)
    winners: dict[CID, list[str]] = {e.hash: [] for e in items}
    barrier = threading.Barrier(len(stores))

    def claim(s: Store, name: str) -> None:
        barrier.wait()
        for e in items:
            if s.transition(e.hash, Status.CREATED, Status.IN_PROGRESS, now=1, executor=name):
                winners[e.hash].append(name)

    threads = [threading.Thread(target=claim, args=(s, f"node-{i}")) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(len(names) == 1 for names in winners.values()), winners
    for e in items:
        assert stores[-1].get_execution(e.hash).executor == winners[e.hash][0]
    assert stores[-1].max_seq() == 2 * len(items)


# -- lineage --------------------------------------------------------------------------------------


@pytest.fixture
def diamond(store: Store):
    """event -> a -> (b, c) -> d, in one run; d has parents [b, c, b]."""
    run = make_run(store)
    value, raw = block("v")
    event = Event(run.id, 0, (value,))
    a = execution(run, 0, 0, [event.hash], [value], output=cid_of("a"))
    commit(store, run, 0, [a], events=[event], blocks=[(value, raw)])
    b = execution(run, 1, 0, [a.hash], [cid_of("a")], output=cid_of("b"))
    commit(store, run, 1, [b])
    c = execution(run, 2, 0, [a.hash], [cid_of("a")], output=cid_of("c"), config={"n": "1"})
    commit(store, run, 2, [c])
    d = execution(
        run, 3, 0, [b.hash, c.hash, b.hash], [cid_of("b"), cid_of("c"), cid_of("b")], output=cid_of("d")
    )
    commit(store, run, 3, [d])
    return event, a, b, c, d


def test_lineage_ancestors_reach_the_events(store: Store, diamond) -> None:
    event, a, b, c, d = diamond
    found = store.lineage(d.hash, "ancestors")
    assert [e.hash for e in found.executions] == [d.hash, b.hash, c.hash, a.hash]
    assert found.events == [event]
    assert found.levels == {d.hash: 0, b.hash: 1, c.hash: 1, a.hash: 2, event.hash: 3}
    limited = store.lineage(d.hash, "ancestors", depth=1)
    assert [e.hash for e in limited.executions] == [d.hash, b.hash, c.hash]
    assert limited.events == []
    assert store.lineage(a.hash, "ancestors", depth=1).events == [event]


def test_lineage_descendants(store: Store, diamond) -> None:
    _, a, b, c, d = diamond
    found = store.lineage(a.hash, "descendants")
    assert [e.hash for e in found.executions] == [a.hash, b.hash, c.hash, d.hash]
    assert found.events == []
    assert found.levels == {a.hash: 0, b.hash: 1, c.hash: 1, d.hash: 2}
    assert [e.hash for e in store.lineage(a.hash, "descendants", depth=1).executions] == [
        a.hash,
        b.hash,
        c.hash,
    ]
    assert [e.hash for e in store.lineage(d.hash, "descendants").executions] == [d.hash]


def test_lineage_of_unknown_hash_and_bad_direction(store: Store, diamond) -> None:
    assert store.lineage(cid_of("nope"), "ancestors") is None
    with pytest.raises(ValueError, match="direction"):
        store.lineage(diamond[1].hash, "sideways")


# -- attestations and imports ----------------------------------------------------------------------


def test_attestations_are_stored_indexed_and_idempotent(store: Store) -> None:
    run = make_run(store)
    e = execution(run, 0, 0, [cid_of("ev")], [cid_of(1)], output=cid_of(2))
    first = attestation(e.hash, 1)
    assert commit(store, run, 0, [e], attestations=[first])
    assert store.list_attestations(e.hash) == [first]
    assert store.get_block(first.cid) == first.data
    second = attestation(e.hash, 2, "validator")
    assert store.put_attestations([second, first], now=300) == 1
    assert store.put_attestations([second], now=301) == 0
    assert store.list_attestations(e.hash) == [first, second]
    assert store.list_attestations(cid_of("nope")) == []


def test_a_later_attestation_announces_its_execution_again(store: Store) -> None:
    """A new attestation on a completed execution gives it a new seq (peers follow Updates:
    docs/network.md); one already held changes nothing."""
    run = make_run(store)
    e = execution(run, 0, 0, [cid_of("ev")], [cid_of(1)], output=cid_of(2))
    assert commit(store, run, 0, [e], attestations=[attestation(e.hash, 1)])
    before = store.get_execution(e.hash)
    assert before is not None
    vote = attestation(e.hash, 2, "validator")
    assert store.put_attestations([vote], now=300) == 1
    after = store.get_execution(e.hash)
    assert after is not None and after.seq > before.seq and after.seq == store.max_seq()
    again = store.executions_since(ExecutionFilter(), before.seq, 10)
    assert [x.hash for x in again] == [e.hash]
    assert store.put_attestations([vote], now=301) == 0
    unchanged = store.get_execution(e.hash)
    assert unchanged is not None and unchanged.seq == after.seq


def test_key_attestations_span_every_execution_of_a_key_and_dissents_are_not_memo_signers(
    store: Store,
) -> None:
    first, second = make_run(store), make_run(store, bytes([1]) * 16)
    a = execution(first, 0, 0, [cid_of("ev")], [cid_of(1)], output=cid_of(2))
    b = execution(second, 0, 0, [cid_of("ev2")], [cid_of(1)], output=cid_of(3))  # same key
    assert a.key == b.key and a.hash != b.hash
    assert commit(store, first, 0, [a], attestations=[attestation(a.hash, 1)])
    assert commit(store, second, 0, [b], attestations=[attestation(b.hash, 2)])
    dissent = attestation(b.hash, 3, "dissent")
    store.put_attestations([dissent], now=300)
    found = store.key_attestations(a.key)
    assert [(e.hash, row.signer, row.role) for e, row in found] == [
        (a.hash, "did:key:z1", "executor"),
        (b.hash, "did:key:z2", "executor"),
        (b.hash, "did:key:z3", "dissent"),
    ]
    assert store.key_attestations(cid_of("nope")) == []
    signers = {c.origin: c.signers for c in store.memo_candidates(a.key)}
    assert signers == {a.hash: frozenset({"did:key:z1"}), b.hash: frozenset({"did:key:z2"})}


def _bundle(source: Store) -> ImportBatch:
    """Everything ``source`` holds about its first run, as an import batch."""
    run = source.list_runs()[0]
    executions = source.executions_since(ExecutionFilter(run=run.id), 0, 100)
    events = [source.get_event(p) for e in executions for p in e.parents if source.get_event(p)]
    attestations = [a for e in executions for a in source.list_attestations(e.hash)]
    wf = Workflow.from_data(
        {**data(), "segments": [{"inputs": [-1], "sequence": [{"version_id": OP.version_id, "config": {}}]}]}
    )
    value, raw = block("v")
    return ImportBatch(
        blocks=[(value, raw)],
        operations=[(OP.manifest, OP.version)],
        workflows=[wf],
        runs=[source.get_run(run.id)],
        events=events,
        executions=executions,
        attestations=attestations,
        now=999,
    )


def test_import_batch_writes_once_and_counts_what_was_new(store: Store, tmp_path: Path) -> None:
    source = SQLiteStore(tmp_path / "source.sqlite")
    try:
        run = make_run(source)
        value, raw = block("v")
        event = Event(run.id, 0, (value,))
        a = execution(run, 0, 0, [event.hash], [value], output=cid_of("a"))
        b = execution(run, 0, 1, [a.hash], [cid_of("a")], output=cid_of("b"))
        commit(
            source,
            run,
            0,
            [a, b],
            events=[event],
            blocks=[(value, raw)],
            attestations=[attestation(a.hash, 1)],
        )
        batch = _bundle(source)
    finally:
        source.close()
    store.insert_execution(
        execution(make_run(store, b"x" * 16), 0, 0, [cid_of("other")], [cid_of(5)], status=Status.CREATED)
    )
    counts = store.import_batch(batch)
    assert counts == {
        "blocks": 1,
        "operations": 1,
        "workflows": 1,
        "runs": 1,
        "segment_outputs": 1,
        "events": 1,
        "executions": 2,
        "attestations": 1,
    }
    got = store.get_execution(b.hash)
    assert (got.status, got.output, got.executor, got.created_at) == (
        Status.COMPLETED,
        cid_of("b"),
        "node-t",
        b.created_at,
    )
    assert [e.seq for e in store.executions_since(ExecutionFilter(run=run.id), 0, 10)] == [2, 3]
    assert store.get_run(run.id).outputs == batch.runs[0].outputs
    assert store.list_attestations(a.hash) == batch.attestations
    assert [e.hash for e in store.lineage(b.hash, "ancestors").executions] == [b.hash, a.hash]
    assert store.import_batch(batch) == {k: 0 for k in counts}
    assert store.max_seq() == 3


# -- waiting for changes ----------------------------------------------------------------------------


def test_wait_for_change_returns_at_once_when_a_later_seq_exists(store: Store) -> None:
    run = make_run(store)
    commit(store, run, 0, [execution(run, 0, 0, [cid_of("ev")], [cid_of(1)], output=cid_of(2))])
    woke = threading.Event()

    def wait() -> None:
        store.wait_for_change(0, 30)
        woke.set()

    t = threading.Thread(target=wait)
    t.start()
    t.join(timeout=20)
    assert woke.is_set()


def test_wait_for_change_wakes_on_a_commit(store: Store) -> None:
    run = make_run(store)
    started, woke = threading.Event(), threading.Event()

    def wait() -> None:
        started.set()
        store.wait_for_change(store.max_seq(), 30)
        woke.set()

    t = threading.Thread(target=wait)
    t.start()
    started.wait()
    assert not woke.wait(0.2)  # nothing committed yet: still waiting
    commit(store, run, 0, [execution(run, 0, 0, [cid_of("ev")], [cid_of(1)], output=cid_of(2))])
    t.join(timeout=20)  # far below the 30 s timeout: woken by the commit
    assert woke.is_set()


# -- leases of external executors ------------------------------------------------------------------


def test_a_claim_is_a_lease_with_history(store: Store, location) -> None:
    run = make_run(store)
    e = execution(run, 0, 0, [cid_of("ev")], [cid_of(1)], status=Status.CREATED)
    store.insert_execution(e)
    start = time.time_ns() - 10**9  # the database's clock, give or take (this machine's)
    claimed = store.claim(e.hash, "exec-1", lease=1_000 * S)
    assert (claimed.status, claimed.executor, claimed.seq) == (Status.IN_PROGRESS, "exec-1", 2)
    assert start < claimed.started_at < time.time_ns() + 10**9  # set by the store, not the caller
    before = snapshot(location)
    assert store.claim(e.hash, "exec-2", lease=2_000 * S) is None
    assert store.renew_lease(e.hash, "exec-2", 5_000 * S) is False
    assert snapshot(location) == before
    assert store.renew_lease(e.hash, "exec-1", 5_000 * S) is True
    assert store.get_execution(e.hash).seq == 2  # a renewal is not a change of the record
    assert store.expire_leases() == []  # by the database's clock: 5,000 s to go
    assert store.expire_leases(now=claimed.started_at + 4_999 * S) == []
    assert [(h.seq, h.at, h.change, h.executor) for h in store.execution_history(e.hash)] == [
        (2, claimed.started_at, "claimed", "exec-1")
    ]


def test_lapsed_leases_return_to_created_and_can_be_claimed_again(store: Store) -> None:
    run = make_run(store)
    items = [
        execution(run, 0, step, [cid_of("ev")], [cid_of(step)], status=Status.CREATED) for step in range(3)
    ]
    for e in items:
        store.insert_execution(e)
    t0 = time.time_ns()
    store.claim(items[0].hash, "exec-1", lease=100 * S)
    store.claim(items[1].hash, "exec-1", lease=300 * S)
    store.claim(items[2].hash, "exec-2", lease=100 * S)
    expired = store.expire_leases(now=t0 + 200 * S)
    assert [e.hash for e in expired] == [items[0].hash, items[2].hash]
    assert all((e.status, e.executor, e.started_at) == (Status.CREATED, None, None) for e in expired)
    assert [e.seq for e in expired] == [7, 8]
    assert store.get_execution(items[1].hash).status is Status.IN_PROGRESS
    assert store.expire_leases(now=t0 + 200 * S) == []
    history = store.execution_history(items[2].hash)
    assert [(h.seq, h.change, h.executor) for h in history] == [
        (6, "claimed", "exec-2"),
        (8, "lease_expired", "exec-2"),
    ]
    assert "exec-2" in history[1].detail
    again = store.claim(items[0].hash, "exec-3", lease=900 * S)
    assert (again.status, again.executor, again.seq) == (Status.IN_PROGRESS, "exec-3", 9)
    assert [e.seq for e in store.executions_since(ExecutionFilter(), 6, 10)] == [8, 9]  # 7 moved to 9


def test_lapsed_leases_are_expired_once_when_nodes_sweep_together(open_store) -> None:
    stores = [open_store() for _ in range(3)]
    run = make_run(stores[0])
    items = [
        execution(run, 0, step, [cid_of("ev")], [cid_of(step)], status=Status.CREATED) for step in range(6)
    ]
    for e in items:
        stores[0].insert_execution(e)
        stores[0].claim(e.hash, "exec-1", lease=1)
    barrier = threading.Barrier(len(stores))
    expired: list[CID] = []

    def sweep(s: Store) -> None:
        barrier.wait()
        expired.extend(e.hash for e in s.expire_leases(now=time.time_ns() + 100 * S))

    threads = [threading.Thread(target=sweep, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(expired) == sorted(e.hash for e in items)
    for e in items:
        assert [h.change for h in stores[0].execution_history(e.hash)] == ["claimed", "lease_expired"]


def test_peers_cursor_counts_and_provenance(store: Store) -> None:
    """The peers table (issue 18): the cursor never goes back, outcomes are counted, provenance kept."""
    from catenary.store.peers import PeerRow

    peer = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    assert store.put_peer(PeerRow(peer, "127.0.0.1:1", "http://127.0.0.1:2", None, 5)) is True
    assert store.put_peer(PeerRow(peer, "127.0.0.1:3", "http://127.0.0.1:4", "/ca.pem", 6)) is False
    e1, e2 = cid_of("e1"), cid_of("e2")
    store.peer_outcome(peer, 10, 100, [e1, e2])
    store.peer_outcome(peer, 7, 101, [], "block bafy...: its bytes hash to something else")
    store.peer_trouble(peer, "connection refused", 102)
    row = store.get_peer(peer)
    assert row is not None
    assert (row.address, row.gateway, row.tls_ca, row.added_at) == (
        "127.0.0.1:3",
        "http://127.0.0.1:4",
        "/ca.pem",
        5,
    )
    assert (row.cursor, row.received, row.refused) == (10, 2, 1)  # an older seq does not move it back
    assert (row.last_error, row.last_error_at, row.last_seen_at) == ("connection refused", 102, 101)
    assert store.provenance(e1) == (peer, 100) and store.provenance(cid_of("local")) is None
    store.peer_outcome(peer, 11, 103, [e1])  # stored again: the first provenance stays
    assert store.provenance(e1) == (peer, 100)
    assert [p.id for p in store.list_peers()] == [peer]
    assert store.delete_peer(peer) is True and store.delete_peer(peer) is False
    assert store.get_peer(peer) is None and store.provenance(e2) == (peer, 100)


# -- task queues -------------------------------------------------------------------------------------


def test_claim_next_takes_the_oldest_of_a_queue_once(store: Store) -> None:
    run = make_run(store)
    store.put_operation(OP.manifest, OP.version)
    store.set_run_queues(run.id, {"0.1": "gpu", OP.manifest.name: "cpu"})
    assert store.run_queues(run.id) == {"0.1": "gpu", OP.manifest.name: "cpu"}
    items = [
        execution(run, 0, step, [cid_of("ev")], [cid_of(step)], status=Status.CREATED) for step in range(4)
    ]
    for e in items:
        store.insert_execution(e)
    assert store.claim_next("x", "default", (), 10, S) == []  # every step is routed elsewhere
    [gpu] = store.claim_next("g", "gpu", (), 10, S)
    assert (gpu.hash, gpu.status, gpu.executor) == (items[1].hash, Status.IN_PROGRESS, "g")
    assert store.claim_next("c", "cpu", (cid_of("another op"),), 10, S) == []  # not its operation
    first = store.claim_next("c", "cpu", (OP.version_id,), 2, S)
    rest = store.claim_next("c", "cpu", (), 10, S)
    assert [e.hash for e in first + rest] == [items[0].hash, items[2].hash, items[3].hash]  # oldest first
    assert [e.seq for e in first + rest] == sorted(e.seq for e in first + rest)
    assert store.claim_next("c", "cpu", (), 10, S) == []
    for e in [gpu, *first, *rest]:
        assert [(h.change, h.executor, h.seq) for h in store.execution_history(e.hash)] == [
            ("claimed", e.executor, e.seq)
        ]


def test_concurrent_claimants_on_several_nodes_win_each_execution_once(open_store) -> None:
    stores = [open_store() for _ in range(3)]
    run = make_run(stores[0])
    items = [
        execution(run, 0, step, [cid_of("ev")], [cid_of(step)], status=Status.CREATED) for step in range(60)
    ]
    for e in items:
        stores[0].insert_execution(e)
    barrier = threading.Barrier(6)
    won: list[tuple[str, CID]] = []

    def claim(s: Store, name: str) -> None:
        barrier.wait()
        while got := s.claim_next(name, "default", (), 3, 60 * S):
            won.extend((name, e.hash) for e in got)

    threads = [
        threading.Thread(target=claim, args=(s, f"exec-{i}-{n}"))
        for i, s in enumerate(stores)
        for n in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(h.cid_bytes for _, h in won) == sorted(e.hash.cid_bytes for e in items)  # once each
    for name, h in won:
        history = stores[1].execution_history(h)
        assert [(x.change, x.executor) for x in history] == [("claimed", name)]
        assert stores[2].get_execution(h).executor == name
