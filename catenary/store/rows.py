"""The rows both SQL stores keep, as the model's values: one mapping each way for executions,
and readers for runs, operations and events (docs/design.md, "The store")."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

import cbrrr

from catenary.cid import CID, decode, encode
from catenary.model import Event, Execution, OperationManifest, OperationVersion, Status
from catenary.model.results import Attempt
from catenary.store.base import ImportBatch, RunState, SegmentOutput

# The execution columns in the order every read returns them (the SPEC §4 record, then seq).
COLUMN_NAMES = (
    "hash",
    "key",
    "workflow",
    "run",
    "segment",
    "step",
    "operation",
    "config",
    "parents",
    "inputs",
    "status",
    "output",
    "error",
    "executor",
    "cached_from",
    "created_at",
    "started_at",
    "finished_at",
    "seq",
)
COLUMNS = ", ".join(COLUMN_NAMES)
RUN_COLUMNS = "id, workflow, nonce, status, next_segment, total_time, error, created_at, updated_at"


def cid_or_none(value: bytes | None) -> CID | None:
    return None if value is None else CID(value)


EMPTY_MAP = encode({})


def config_bytes(config: dict[str, str]) -> bytes:
    return EMPTY_MAP if not config else encode(config)


def links_bytes(cids: tuple[CID, ...]) -> bytes:
    """DAG-CBOR of a list of links (the parents and inputs columns). A list of CIDs has nothing
    for :func:`encode`'s value checks to find, so it is encoded directly; anything else goes
    through :func:`encode`, which names the problem."""
    links: list[Any] = list(cids)
    for item in links:
        if not isinstance(item, CID):
            return encode(links)
    return cbrrr.encode_dag_cbor(links, cid_type=CID)


INSERT_ATTEMPT = "INSERT INTO execution_attempts VALUES (?, ?, ?, ?, ?)"


def attempt_row(a: Attempt) -> tuple[Any, ...]:
    return (a.execution.cid_bytes, a.attempt, a.started_at, a.finished_at, a.error)


def execution_row(e: Execution) -> tuple[Any, ...]:
    """An execution as the values of :data:`COLUMN_NAMES` but ``seq`` (the writer numbers it)."""
    return (
        e.hash.cid_bytes,
        e.key.cid_bytes,
        e.workflow.cid_bytes,
        e.run.cid_bytes,
        e.segment,
        e.step,
        e.operation.cid_bytes,
        config_bytes(e.config),
        links_bytes(e.parents),
        links_bytes(e.inputs),
        e.status.value,
        e.output.cid_bytes if e.output else None,
        e.error,
        e.executor,
        e.cached_from.cid_bytes if e.cached_from else None,
        e.created_at,
        e.started_at,
        e.finished_at,
    )


def input_edges(rows: Iterable[tuple[int, bytes]]) -> list[tuple[bytes, int]]:
    """The execution_inputs rows (value CID, execution id) of ``(id, inputs column)`` rows:
    what a migration fills for executions stored before the table existed."""
    return [
        (link.cid_bytes, row_id)
        for row_id, inputs in rows
        for link in {c.cid_bytes: c for c in cast("list[CID]", decode(inputs))}.values()
    ]


def row_to_execution(row: Sequence[Any]) -> Execution:
    """An execution from the columns :data:`COLUMNS` names, validating every link."""
    return _execution(
        row,
        decode(row[7]),
        tuple(cast("list[CID]", decode(row[8]))),
        tuple(cast("list[CID]", decode(row[9]))),
    )


def _execution(
    row: Sequence[Any], config: dict[str, str], parents: tuple[CID, ...], inputs: tuple[CID, ...]
) -> Execution:
    """The record of ``row`` with its three DAG-CBOR columns already decoded (by either reader)."""
    return Execution(
        hash=CID(row[0]),
        key=CID(row[1]),
        workflow=CID(row[2]),
        run=CID(row[3]),
        segment=row[4],
        step=row[5],
        operation=CID(row[6]),
        config=config,
        parents=parents,
        inputs=inputs,
        status=Status(row[10]),
        output=cid_or_none(row[11]),
        error=row[12],
        executor=row[13],
        cached_from=cid_or_none(row[14]),
        created_at=row[15],
        started_at=row[16],
        finished_at=row[17],
        seq=row[18] or 0,  # NULL: committed on PostgreSQL, not numbered yet (a moment)
    )


_decode_links = cbrrr.decode_dag_cbor


def trusted_row_to_execution(row: Sequence[Any]) -> Execution:
    """:func:`row_to_execution` for columns this store wrote itself, without re-validating each
    link: a deep trace decodes tens of thousands of CIDs, and validation was most of its time."""
    config, parents, inputs = row[7], row[8], row[9]
    return _execution(
        row,
        {} if config == EMPTY_MAP else decode(config),
        tuple(cast("list[CID]", _decode_links(parents, cid_ctor=CID))),
        tuple(cast("list[CID]", _decode_links(inputs, cid_ctor=CID))),
    )


def event_from_block(data: bytes) -> Event:
    return Event.from_data(decode(data))


def operation_from_row(row: Sequence[bytes]) -> tuple[OperationManifest, OperationVersion]:
    version = decode(row[1])
    return (
        OperationManifest.from_data(decode(row[0])),
        OperationVersion(version["operation"], version["implementation"]),
    )


def run_from_row(row: Sequence[Any], outputs: dict[int, SegmentOutput]) -> RunState:
    return RunState(CID(row[0]), CID(row[1]), row[2], row[3], row[4], row[5], row[6], row[7], row[8], outputs)


def import_rows(batch: ImportBatch) -> list[tuple[str, int, list[tuple[Any, ...]]]]:
    """The rows a verified bundle adds to each table but blocks and executions, as (table,
    column count, rows), in the order both stores insert them (each in its own dialect)."""
    return [
        (
            "operations",
            5,
            [
                (v.id.cid_bytes, m.id.cid_bytes, m.name, encode(m.data()), encode(v.data()))
                for m, v in batch.operations
            ],
        ),
        ("workflows", 4, [(w.id.cid_bytes, w.name, encode(w.data()), batch.now) for w in batch.workflows]),
        (
            "runs",
            9,
            [
                (
                    r.id.cid_bytes,
                    r.workflow.cid_bytes,
                    r.nonce,
                    r.status,
                    r.next_segment,
                    r.total_time,
                    r.error,
                    r.created_at,
                    r.updated_at,
                )
                for r in batch.runs
            ],
        ),
        (
            "segment_outputs",
            5,
            [
                (r.id.cid_bytes, o.segment, o.output.cid_bytes, o.producer.cid_bytes, o.segment_time)
                for r in batch.runs
                for o in r.outputs.values()
            ],
        ),
        (
            "events",
            5,
            [
                (e.hash.cid_bytes, e.run.cid_bytes, e.segment, encode(e.data()), batch.now)
                for e in batch.events
            ],
        ),
    ]
