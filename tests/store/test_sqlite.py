"""The embedded SQLite store: schema, values, runs, commits, keyset pages, seq."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from catenary.cid import CID, block, cid_of
from catenary.errors import StoreError
from catenary.model import Event, Execution, Run, Status, Workflow, hash_data, key_data
from catenary.model.filter import ExecutionFilter
from catenary.operations import default_registry
from catenary.store import SegmentOutput, SQLiteStore, StepCommit
from catenary.store.sqlite import MIGRATIONS
from tests.helpers import data, snapshot

OP = default_registry().by_name("std/utf8-encode")


@pytest.fixture
def store(tmp_path: Path):
    s = SQLiteStore(tmp_path / "db.sqlite")
    yield s
    s.close()


def make_run(store: SQLiteStore, nonce: bytes = bytes(16)) -> Run:
    run = Run(cid_of("wf"), nonce)
    store.create_run(run, 100)
    return run


def execution(run: Run, segment: int, step: int, parents: list[CID], inputs: list[CID],
              status: Status = Status.COMPLETED, output: CID | None = None, created_at: int = 1,
              cached_from: CID | None = None, config: dict[str, str] | None = None) -> Execution:
    config = config or {}
    op = OP.version_id
    return Execution(
        hash=cid_of(hash_data(run.workflow, segment, step, op, config, parents, inputs)),
        key=cid_of(key_data(op, config, inputs)), workflow=run.workflow, run=run.id, segment=segment,
        step=step, operation=op, config=config, parents=tuple(parents), inputs=tuple(inputs),
        status=status, output=output if status == Status.COMPLETED else None,
        error="failed: x" if status == Status.FAILED else None, executor="node-t",
        cached_from=cached_from, created_at=created_at, started_at=created_at + 1,
        finished_at=created_at + 2, seq=0)


def commit(store: SQLiteStore, run: Run, segment: int, executions: list[Execution], *,
           events: list[Event] = (), blocks=(), status: str = "running", error: str | None = None) -> bool:
    last = executions[-1]
    out = None if error else SegmentOutput(segment, last.output, last.hash, 1.5)
    return store.commit_step(StepCommit(run.id, segment, list(events), executions, list(blocks), out,
                                        status, 1.5 * (segment + 1), error, 200 + segment))


# -- schema ---------------------------------------------------------------------------------------

def test_new_file_is_wal_with_current_schema(store: SQLiteStore, tmp_path: Path) -> None:
    assert store.schema_version() == len(MIGRATIONS)
    con = sqlite3.connect(tmp_path / "db.sqlite")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    con.close()


def test_reopening_keeps_data_and_does_not_migrate_again(tmp_path: Path) -> None:
    s = SQLiteStore(tmp_path / "db.sqlite")
    cid, raw = block({"v": 1})
    s.put_blocks([(cid, raw)])
    s.close()
    s = SQLiteStore(tmp_path / "db.sqlite")
    assert s.get_block(cid) == raw
    assert s.schema_version() == len(MIGRATIONS)
    s.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    SQLiteStore(tmp_path / "db.sqlite").close()
    con = sqlite3.connect(tmp_path / "db.sqlite")
    con.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="newer"):
        SQLiteStore(tmp_path / "db.sqlite")


def test_corrupt_file_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError):
        SQLiteStore(path)


def test_indexes_exist_for_every_filter(store: SQLiteStore, tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / "db.sqlite")
    indexed = {row[0] for row in con.execute(
        "SELECT il.name FROM sqlite_master m, pragma_index_list(m.name) l, pragma_index_info(l.name) il "
        "WHERE m.name = 'executions' AND il.seqno = 0")}
    con.close()
    assert {"hash", "key", "workflow", "run", "operation", "status", "created_at"} <= indexed


# -- values, operations, workflows ------------------------------------------------------------------

def test_blocks_are_content_addressed_and_idempotent(store: SQLiteStore) -> None:
    cid, raw = block([1, "two", b"three"])
    store.put_blocks([(cid, raw)])
    store.put_blocks([(cid, raw)])
    assert store.get_block(cid) == raw
    assert store.get_block(cid_of("absent")) is None


def test_operations_roundtrip(store: SQLiteStore) -> None:
    store.put_operation(OP.manifest, OP.version)
    store.put_operation(OP.manifest, OP.version)
    manifest, version = store.get_version(OP.version_id)
    assert manifest == OP.manifest and version.id == OP.version_id
    assert [v.id for _, v in store.list_versions()] == [OP.version_id]
    assert store.get_version(cid_of("nope")) is None


def test_workflows_roundtrip(store: SQLiteStore) -> None:
    wf = Workflow.from_data({**data(), "segments": [
        {"inputs": [-1], "sequence": [{"version_id": OP.version_id, "config": {}}]}]})
    store.put_workflow(wf, 5)
    store.put_workflow(wf, 6)
    assert store.get_workflow(wf.id) == wf
    assert [(i, t) for i, _, t in store.list_workflows()] == [(wf.id, 5)]
    assert store.get_workflow(cid_of("nope")) is None


# -- runs and step commits ----------------------------------------------------------------------

def test_run_roundtrip(store: SQLiteStore) -> None:
    run = make_run(store, b"n" * 16)
    state = store.get_run(run.id)
    assert (state.id, state.workflow, state.nonce, state.status, state.next_segment, state.total_time,
            state.error, state.outputs) == (run.id, run.workflow, b"n" * 16, "running", 0, 0.0, None, {})
    assert Run(state.workflow, state.nonce).id == state.id
    assert store.get_run(cid_of("nope")) is None
    assert [r.id for r in store.list_runs()] == [run.id]
    assert store.list_runs(workflow=cid_of("other")) == []


def test_commit_step_records_everything_atomically(store: SQLiteStore) -> None:
    run = make_run(store)
    value_cid, raw = block("in")
    event = Event(run.id, 0, (value_cid,))
    out_cid, out_raw = block(b"in")
    e = execution(run, 0, 0, [event.hash], [value_cid], output=out_cid)
    assert commit(store, run, 0, [e], events=[event], blocks=[(value_cid, raw), (out_cid, out_raw)])
    stored = store.get_execution(e.hash)
    assert stored == Execution(**{**e.__dict__, "seq": 1})
    assert store.get_event(event.hash) == event
    assert store.get_block(out_cid) == out_raw
    state = store.get_run(run.id)
    assert state.next_segment == 1 and state.total_time == 1.5 and state.updated_at == 200
    assert state.outputs == {0: SegmentOutput(0, out_cid, e.hash, 1.5)}


def test_stale_commit_writes_nothing(store: SQLiteStore, tmp_path: Path) -> None:
    run = make_run(store)
    e0 = execution(run, 0, 0, [cid_of("ev")], [cid_of(1)], output=cid_of(2))
    assert commit(store, run, 0, [e0])
    before = snapshot(tmp_path / "db.sqlite")
    e0b = execution(run, 0, 0, [cid_of("ev2")], [cid_of(3)], output=cid_of(4))
    cid, raw = block("orphan")
    assert commit(store, run, 0, [e0b], blocks=[(cid, raw)]) is False  # segment 0 is already done
    assert snapshot(tmp_path / "db.sqlite") == before
    assert store.get_execution(e0b.hash) is None


def test_failed_run_cannot_be_committed_to(store: SQLiteStore) -> None:
    run = make_run(store)
    failed = execution(run, 0, 0, [cid_of("ev")], [cid_of(1)], status=Status.FAILED)
    assert commit(store, run, 0, [failed], status="failed", error="boom")
    state = store.get_run(run.id)
    assert (state.status, state.next_segment, state.error) == ("failed", 0, "boom")
    retry = execution(run, 0, 0, [cid_of("ev")], [cid_of(5)], output=cid_of(6))
    assert commit(store, run, 0, [retry]) is False


def test_seq_is_monotonic_and_bumped_per_execution(store: SQLiteStore) -> None:
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


def test_find_completed_ignores_failed(store: SQLiteStore) -> None:
    run = make_run(store)
    failed = execution(run, 0, 0, [cid_of("ev")], [cid_of(1)], status=Status.FAILED)
    commit(store, run, 0, [failed], status="failed", error="x")
    assert store.find_completed(failed.key) is None
    run2 = make_run(store, b"2" * 16)
    ok = execution(run2, 0, 0, [cid_of("ev2")], [cid_of(1)], output=cid_of(9))
    commit(store, run2, 0, [ok])
    assert ok.key == failed.key
    assert store.find_completed(failed.key).hash == ok.hash


# -- listing ----------------------------------------------------------------------------------

@pytest.fixture
def chain(store: SQLiteStore):
    """Ten executions across two runs; created_at = 10 * position."""
    runs = [make_run(store, bytes([i]) * 16) for i in range(2)]
    made = []
    for r, run in enumerate(runs):
        parent = cid_of(f"event{r}")
        for segment in range(5):
            e = execution(run, segment, 0, [parent], [cid_of(segment)], output=cid_of(segment + 1),
                          created_at=10 * len(made), config={"n": str(segment % 2)})
            commit(store, run, segment, [e])
            made.append(e)
            parent = e.hash
    return runs, made


def test_list_is_newest_first_with_keyset_pages(store: SQLiteStore, chain) -> None:
    _, made = chain
    page, cursor = store.list_executions(ExecutionFilter(), 4, None)
    assert [e.hash for e in page] == [e.hash for e in reversed(made)][:4]
    seen = [e.hash for e in page]
    while cursor is not None:
        page, cursor = store.list_executions(ExecutionFilter(), 4, cursor)
        seen += [e.hash for e in page]
    assert seen == [e.hash for e in reversed(made)]


def test_list_filters(store: SQLiteStore, chain) -> None:
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
    assert len(hashes(workflow=runs[0].workflow)) == 10
    assert hashes(workflow=cid_of("other")) == []
    assert len(hashes(operation=OP.version_id)) == 10


def test_executions_since_is_in_seq_order(store: SQLiteStore, chain) -> None:
    _, made = chain
    got = store.executions_since(ExecutionFilter(), 3, 100)
    assert [e.seq for e in got] == list(range(4, 11))
    assert [e.hash for e in got] == [e.hash for e in made[3:]]
    assert len(store.executions_since(ExecutionFilter(), 0, 2)) == 2
    assert [e.seq for e in store.executions_since(ExecutionFilter(segment=0), 0, 100)] == [1, 6]
