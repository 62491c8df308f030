"""Lineage in SQL, shared by both SQL stores: one recursive statement per direction and depth
mode, and the :class:`Lineage` its rows make."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from catenary.cid import CID
from catenary.model import Execution
from catenary.store.base import Lineage
from catenary.store.rows import COLUMN_NAMES, event_from_block, trusted_row_to_execution

DIRECTIONS = ("ancestors", "descendants")

# Lineage in one statement: a recursive walk over the parent edges, then the executions
# reached and (for ancestors) the events among their parents. Without a depth limit the
# walk keeps one row per execution (UNION drops repeats), so it visits each node once
# however many paths lead to it; with a limit it carries the hop count.
# One hop of the walk in each direction: the execution reached, and the joins that reach it.
_HOP = {
    "ancestors": (
        "x.id",
        "JOIN execution_parents p ON p.child = w.id JOIN executions x ON x.hash = p.parent",
    ),
    "descendants": (
        "p.child",
        "JOIN executions x ON x.id = w.id JOIN execution_parents p ON p.parent = x.hash",
    ),
}


def _walk(direction: str, limited: bool, hash_mark: str, depth_mark: str) -> str:
    reached, joins = _HOP[direction]
    if limited:
        return (
            f"walk(id, level) AS (SELECT id, 0 FROM executions WHERE hash = {hash_mark} "
            f"UNION SELECT {reached}, w.level + 1 FROM walk w {joins} WHERE w.level < {depth_mark})"
        )
    return (
        f"walk(id) AS (SELECT id FROM executions WHERE hash = {hash_mark} "
        f"UNION SELECT {reached} FROM walk w {joins})"
    )


def lineage_sql(direction: str, limited: bool, named: Callable[[str], str]) -> str:
    """The lineage statement. Each row is ``'x'``, the :data:`COLUMNS` of an execution and its
    ``id``; or ``'e'``, an event's hash and block, padded with NULLs."""
    nodes = (
        "SELECT id, min(level) AS level FROM walk GROUP BY id"
        if limited
        else "SELECT id, 0 AS level FROM walk"
    )
    columns = ", ".join(f"x.{c}" for c in COLUMN_NAMES)
    padding = ", ".join(["NULL"] * (len(COLUMN_NAMES) - 1))
    query = (
        f"WITH RECURSIVE {_walk(direction, limited, named('hash'), named('depth'))}, "
        f"nodes AS MATERIALIZED ({nodes}) "
        f"SELECT 'x', {columns}, x.id FROM nodes n JOIN executions x ON x.id = n.id"
    )
    if direction == "ancestors":
        # Events are parents of reached executions that are within the depth limit.
        within = f"WHERE n.level < {named('depth')}" if limited else ""
        query += (
            f" UNION ALL SELECT 'e', ev.hash, ev.data, {padding} FROM events ev "
            f"WHERE ev.hash IN (SELECT p.parent FROM nodes n JOIN execution_parents p "
            f"ON p.child = n.id {within})"
        )
    return query


def lineage_statements(named: Callable[[str], str]) -> dict[tuple[str, bool], str]:
    """:func:`lineage_sql` for each direction, with and without a depth limit."""
    return {(d, limited): lineage_sql(d, limited, named) for d in DIRECTIONS for limited in (False, True)}


def hop_counts(start: CID, executions: list[Execution], direction: str) -> dict[CID, int]:
    """Hop count of each execution from ``start``: a breadth-first walk over the edges among them."""
    following: dict[CID, list[CID]]
    if direction == "ancestors":
        following = {e.hash: list(dict.fromkeys(e.parents)) for e in executions}
    else:
        following = {e.hash: [] for e in executions}
        for e in executions:
            for parent in dict.fromkeys(e.parents):
                if parent in following:
                    following[parent].append(e.hash)
    levels = {start: 0}
    frontier = [start]
    while frontier:
        ahead = []
        for node in frontier:
            for nxt in following.get(node, ()):
                if nxt in following and nxt not in levels:
                    levels[nxt] = levels[node] + 1
                    ahead.append(nxt)
        frontier = ahead
    return levels


def lineage_from_rows(start: CID, rows: list[tuple[Any, ...]], direction: str) -> Lineage | None:
    """A :class:`Lineage` from the rows of :func:`lineage_sql`, in breadth-first order; ties in
    hop count keep insertion order (``id``: the walk's rows come in no fixed order)."""
    order: dict[CID, int] = {}
    executions = []
    events = []
    for r in rows:
        if r[0] == "x":
            e = trusted_row_to_execution(r[1:-1])
            order[e.hash] = r[-1]
            executions.append(e)
        else:
            events.append(event_from_block(r[2]))
    if not executions:
        return None
    levels = hop_counts(start, executions, direction)
    event_hashes = {e.hash for e in events}
    for e in executions:
        for parent in e.parents:
            if parent in event_hashes:
                levels[parent] = min(levels.get(parent, 1 << 62), levels[e.hash] + 1)
    executions.sort(key=lambda e: (levels[e.hash], order[e.hash]))
    events.sort(key=lambda e: levels[e.hash])
    return Lineage(executions, events, levels)
