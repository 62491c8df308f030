"""The execution filter as SQL conditions, shared by the SQLite and PostgreSQL stores."""

from __future__ import annotations

from typing import Any

from catenary.model.filter import ExecutionFilter
from catenary.store.spans import before_bound


def equal_clauses(mark: str, columns: dict[str, Any]) -> tuple[list[str], list[Any]]:
    """``column = mark`` for each column given a value (None: no condition), and those values."""
    given = {column: value for column, value in columns.items() if value is not None}
    return [f"{column} = {mark}" for column in given], list(given.values())


def where_clauses(flt: ExecutionFilter, mark: str) -> tuple[list[str], list[Any]]:
    """Conditions (ANDed) and their parameters; ``mark`` is the driver's placeholder
    (``?`` for sqlite3, ``%s`` for psycopg).

    Each field is served by an index (docs/design.md, "Indexes"), so that a page ordered by
    id is a backward walk of that index: (status, id), (workflow, id), (run, id),
    (operation, id), (segment, id), (output, id), (key, status), and the edge tables
    execution_parents and execution_inputs, whose (value, child) keys list the children in id
    order; workflow with one status has (workflow, status, id). created_before also bounds the
    ids by the created_spans summary (catenary.store.spans), so the backward walk starts near
    the newest match; created_after walks the ids back from the newest, or the created_at
    index where the planner expects few matches."""
    where: list[str] = []
    params: list[Any] = []
    statuses = sorted({s.value for s in flt.statuses})
    if len(statuses) == 1:
        # "=" lets a page be a backward scan of the (status, id) index; IN may fetch every
        # match and sort them
        where.append(f"status = {mark}")
        params.append(statuses[0])
    elif statuses:
        where.append(f"status IN ({', '.join([mark] * len(statuses))})")
        params.extend(statuses)
    cids = {column: getattr(flt, column) for column in ("workflow", "run", "operation", "key")}
    equal, values = equal_clauses(mark, {c: v.cid_bytes for c, v in cids.items() if v is not None})
    where += equal
    params += values
    if flt.segment is not None:
        where.append(f"segment = {mark}")
        params.append(flt.segment)
    if flt.parent is not None:
        where.append(f"id IN (SELECT child FROM execution_parents WHERE parent = {mark})")
        params.append(flt.parent.cid_bytes)
    if flt.created_after is not None:
        where.append(f"created_at > {mark}")
        params.append(flt.created_after)
    if flt.created_before is not None:
        where += [f"created_at < {mark}", before_bound(mark)]
        params += [flt.created_before, flt.created_before]
    if flt.output is not None:
        where.append(f"output = {mark}")
        params.append(flt.output.cid_bytes)
    if flt.input is not None:
        where.append(f"id IN (SELECT child FROM execution_inputs WHERE input = {mark})")
        params.append(flt.input.cid_bytes)
    return where, params
