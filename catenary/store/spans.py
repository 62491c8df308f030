"""A lower bound of ``created_at`` per span of 1,024 execution ids: what lets List by
``created_before`` start its walk near the answer, with pages still ordered by id (SPEC §5).

A page of ``created_at < T`` ordered by id descending starts at the newest matching row. Ids
and ``created_at`` rise together but not exactly (clocks of several nodes, ids drawn before
commit on PostgreSQL, executions copied from peers with their own time), so no index gives
that row: the id walk skips every newer row, the ``created_at`` index returns every older
one to sort. ``created_spans`` holds, per span ``id >> SPAN_BITS``, a lower bound of the
``created_at`` of its rows (on PostgreSQL, the least of several rows), written in the
transaction that inserts them. The newest span whose bound is below T bounds the ids a
match can have: ``id < (span + 1) << SPAN_BITS``.
The ``created_at`` predicate stays in the query, so the page is exact whatever the order of
the times; the bound only decides where the walk begins (a late row in a new span makes it
begin higher, which is slower, never wrong). Rows are never moved between spans and a
deleted row leaves a bound that is still a lower bound.
"""

from __future__ import annotations

SPAN_BITS = 10

# SQLite (one writer at a time): fold the rows just inserted into their spans.
SQLITE_FOLD = (
    "INSERT INTO created_spans (span, least_created) "
    f"SELECT id >> {SPAN_BITS}, min(created_at) FROM executions WHERE id BETWEEN ? AND ? GROUP BY 1 "
    "ON CONFLICT (span) DO UPDATE SET least_created = min(least_created, excluded.least_created)"
)

# PostgreSQL (concurrent writers), in the insert statement where ``ins`` holds the new rows:
# a row for each of their spans that no committed row bounds already (in the usual order of
# times, only a span's first writer adds one). The table has no key, so a writer never waits
# for another's uncommitted row (as it would on a primary key's conflict); concurrent
# writers may add a row each. What one sees committed, any reader that sees its rows sees.
PG_FOLD = (
    "INSERT INTO created_spans (span, least_created) SELECT r.span, r.least FROM ("
    f"SELECT id >> {SPAN_BITS} AS span, min(created_at) AS least FROM ins GROUP BY 1) r "
    "WHERE NOT EXISTS (SELECT 1 FROM created_spans s WHERE s.span = r.span AND s.least_created <= r.least)"
)

# Both stores' backfill of a database from before the table.
BACKFILL = (
    "INSERT INTO created_spans (span, least_created) "
    f"SELECT id >> {SPAN_BITS}, min(created_at) FROM executions GROUP BY 1"
)


def before_bound(mark: str) -> str:
    """The condition on ``id`` implied by ``created_at < mark`` (one parameter: the moment)."""
    newest = f"SELECT span FROM created_spans WHERE least_created < {mark} ORDER BY span DESC LIMIT 1"
    return f"id < (coalesce(({newest}), -1) + 1) * {1 << SPAN_BITS}"
