"""``client.triggers`` and ``client.schedules``: manage a remote node's triggers and
schedules (gRPC ``Trigger`` and ``Schedule``), with the methods of ``node.triggers`` and
``node.schedules``, so the CLI's ``--node`` uses either."""

from __future__ import annotations

import builtins
import json
from typing import Any

import grpc

from catenary.api.trigger_convert import firing_from_pb, schedule_from_pb, ticks_from_pb, trigger_from_pb
from catenary.cid import CID, encode
from catenary.model.emitted import Firing, ScheduleRow, TriggerRow
from catenary.proto.api import trigger_pb2, trigger_pb2_grpc


class TriggerClient:
    def __init__(self, channel: grpc.Channel, rpc: Any) -> None:
        self._stub = trigger_pb2_grpc.TriggerStub(channel)
        self._rpc = rpc  # the client's error translation (catenary.client.client._rpc)

    def create(self, definition: Any) -> TriggerRow:
        request = trigger_pb2.CreateTriggerRequest(definition=json.dumps(definition))
        row: TriggerRow = self._rpc(lambda: trigger_from_pb(self._stub.Create(request)))()
        return row

    def get(self, name: str) -> TriggerRow:
        row: TriggerRow = self._rpc(
            lambda: trigger_from_pb(self._stub.Get(trigger_pb2.TriggerName(name=name)))
        )()
        return row

    def list(self) -> builtins.list[TriggerRow]:
        response = self._rpc(lambda: self._stub.List(trigger_pb2.ListTriggersRequest()))()
        return [trigger_from_pb(m) for m in response.triggers]

    def enable(self, name: str, enabled: bool = True) -> TriggerRow:
        call = self._stub.Enable if enabled else self._stub.Disable
        row: TriggerRow = self._rpc(lambda: trigger_from_pb(call(trigger_pb2.TriggerName(name=name))))()
        return row

    def delete(self, name: str) -> None:
        self._rpc(lambda: self._stub.Delete(trigger_pb2.TriggerName(name=name)))()

    def history(
        self, name: str | None = None, status: str | None = None, limit: int = 100
    ) -> builtins.list[Firing]:
        request = trigger_pb2.TriggerHistoryRequest(name=name or "", status=status or "", limit=limit)
        response = self._rpc(lambda: self._stub.History(request))()
        return [firing_from_pb(m) for m in response.firings]


class ScheduleClient:
    def __init__(self, channel: grpc.Channel, rpc: Any) -> None:
        self._stub = trigger_pb2_grpc.ScheduleStub(channel)
        self._rpc = rpc

    def add(
        self,
        name: str,
        cron: str,
        key: str,
        data: Any = None,
        catch_up: str = "once",
        start: int | None = None,
    ) -> ScheduleRow:
        request = trigger_pb2.AddScheduleRequest(
            name=name, cron=cron, key=key, data=encode(data), catch_up=catch_up, start=start or 0
        )
        row: ScheduleRow = self._rpc(lambda: schedule_from_pb(self._stub.Add(request)))()
        return row

    def get(self, name: str) -> ScheduleRow:
        return schedule_from_pb(self._get(name))

    def list(self) -> builtins.list[ScheduleRow]:
        response = self._rpc(lambda: self._stub.List(trigger_pb2.ListSchedulesRequest()))()
        return [schedule_from_pb(m) for m in response.schedules]

    def remove(self, name: str) -> None:
        self._rpc(lambda: self._stub.Remove(trigger_pb2.ScheduleName(name=name)))()

    def ticks(self, name: str, limit: int = 100) -> builtins.list[tuple[int, CID]]:
        """(tick, event id) of the ticks the schedule fired, newest first (at most 100)."""
        return ticks_from_pb(self._get(name))[:limit]

    def _get(self, name: str) -> trigger_pb2.ScheduleInfo:
        msg: trigger_pb2.ScheduleInfo = self._rpc(
            lambda: self._stub.Get(trigger_pb2.ScheduleName(name=name))
        )()
        return msg
