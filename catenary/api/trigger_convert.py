"""Triggers, firings and schedules: protobuf messages <-> :mod:`catenary.model.emitted`, for
the servicer and the client alike (as :mod:`catenary.api.event_convert` does for events)."""

from __future__ import annotations

import json

from catenary.api import convert
from catenary.cid import CID
from catenary.model.emitted import Firing, ScheduleRow, TriggerRow
from catenary.proto.api import trigger_pb2


def trigger_to_pb(row: TriggerRow) -> trigger_pb2.TriggerInfo:
    return trigger_pb2.TriggerInfo(
        name=row.name,
        definition=json.dumps(row.definition, sort_keys=True),
        enabled=row.enabled,
        from_position=row.from_position,
        created_at=row.created_at,
    )


def trigger_from_pb(msg: trigger_pb2.TriggerInfo) -> TriggerRow:
    return TriggerRow(msg.name, json.loads(msg.definition), msg.enabled, msg.from_position, msg.created_at)


def firing_to_pb(f: Firing) -> trigger_pb2.Firing:
    return trigger_pb2.Firing(
        trigger=f.trigger,
        event=f.event.cid_bytes,
        status=f.status,
        run=f.run.cid_bytes if f.run else b"",
        reason=f.reason or "",
        at=f.at,
    )


def firing_from_pb(msg: trigger_pb2.Firing) -> Firing:
    run = convert.cid(msg.run, "run") if msg.run else None
    return Firing(msg.trigger, convert.cid(msg.event, "event"), msg.status, run, msg.reason or None, msg.at)


def schedule_to_pb(row: ScheduleRow, ticks: list[tuple[int, CID]] | None = None) -> trigger_pb2.ScheduleInfo:
    return trigger_pb2.ScheduleInfo(
        name=row.name,
        cron=row.cron,
        key=row.key,
        data=row.data,
        catch_up=row.catch_up,
        last_tick=row.last_tick,
        created_at=row.created_at,
        ticks=[trigger_pb2.Tick(tick=t, event=e.cid_bytes) for t, e in ticks or []],
    )


def schedule_from_pb(msg: trigger_pb2.ScheduleInfo) -> ScheduleRow:
    return ScheduleRow(msg.name, msg.cron, msg.key, msg.data, msg.catch_up, msg.last_tick, msg.created_at)


def ticks_from_pb(msg: trigger_pb2.ScheduleInfo) -> list[tuple[int, CID]]:
    return [(t.tick, convert.cid(t.event, "ticks.event")) for t in msg.ticks]
