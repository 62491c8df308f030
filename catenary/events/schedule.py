"""Schedules: a cron expression (UTC) whose ticks the serving node emits as events, signed by
its key (docs/events.md). Pure: which tick is due when; the sdk stores and fires.

A tick is fired once: the store keeps a row per (schedule, tick), written with the tick's
event, and the schedule's last tick. Ticks passed while no node served are not fired one by
one: with ``catch_up="once"`` the latest of them fires once, with ``"skip"`` none does.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from catenary.errors import ManifestError
from catenary.events.trigger import NAME
from catenary.extras import require_extra
from catenary.model.emitted import key_problem

CATCH_UP = ("once", "skip")
# A tick the node sees within this many seconds is on time; an older one was missed (the node
# was down or busy), and --catch-up decides.
GRACE = 10


@dataclass(frozen=True)
class Schedule:
    name: str
    cron: str
    key: str
    catch_up: str = "once"

    @classmethod
    def parse(cls, name: str, cron: str, key: str, catch_up: str = "once") -> Schedule:
        """A schedule, each field checked; a bad one is a ManifestError naming the option."""
        if not NAME.fullmatch(name):
            raise ManifestError("NAME", "1 to 64 of a-z, 0-9, '_', '.', '-', starting with a letter or digit")
        problem = key_problem(key)
        if problem:
            raise ManifestError("--event-key", problem)
        if catch_up not in CATCH_UP:
            raise ManifestError("--catch-up", f"expected one of {', '.join(CATCH_UP)}, got {catch_up!r}")
        check_cron(cron)
        return cls(name, cron, key, catch_up)

    def due(self, last_tick: int, now: int) -> tuple[int | None, int]:
        """(the tick to fire now or None, the new last tick) for a schedule whose ticks up to
        ``last_tick`` are done, at ``now`` (unix s). Of several due ticks only the latest
        counts; it fires when on time (within GRACE) or with catch-up ``once``."""
        latest = previous_tick(self.cron, now)
        if latest <= last_tick:
            return None, last_tick
        if self.catch_up == "skip" and now - latest > GRACE:
            return None, latest
        return latest, latest


def _croniter(cron: str, start: int) -> Any:
    require_extra("schedule")
    from croniter import croniter

    return croniter(cron, start)


def check_cron(cron: str) -> None:
    """Refuse what croniter cannot read, with its reason and the expected form."""
    if not isinstance(cron, str) or not cron.strip():
        raise ManifestError("--cron", "expected a cron expression, e.g. '*/5 * * * *'")
    require_extra("schedule")
    from croniter import CroniterError

    try:
        _croniter(cron, 0).get_next(float)
    except (CroniterError, ValueError, KeyError) as exc:
        raise ManifestError(
            "--cron",
            f"{cron!r} is not a cron expression ({exc}); expected five fields "
            "(minute hour day month weekday) or six with seconds last, in UTC",
        ) from None


def previous_tick(cron: str, now: int) -> int:
    """The latest tick at or before ``now`` (unix s)."""
    return int(_croniter(cron, now + 1).get_prev(float))


def next_tick(cron: str, after: int) -> int:
    """The first tick after ``after`` (unix s)."""
    return int(_croniter(cron, after).get_next(float))


def tick_data(name: str, tick: int, data: Any) -> dict[str, Any]:
    """The data of a tick's event: which schedule, the tick (unix s and its UTC text), the
    schedule's own data."""
    return {"schedule": name, "tick": tick, "time": utc_text(tick), "data": data}


def utc_text(seconds: int) -> str:
    """``2026-01-01T00:00:00Z``: a tick as its events and the CLI show it."""
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
