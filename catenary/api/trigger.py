"""The ``Trigger`` and ``Schedule`` gRPC services: thin, each call goes to ``node.triggers``
or ``node.schedules`` (docs/events.md). The auth interceptor holds changes to the policy's
``create_workflow`` rule (catenary.api.auth.RULES)."""

from __future__ import annotations

import json

import grpc

from catenary.api.errors import unary
from catenary.api.trigger_convert import firing_to_pb, schedule_to_pb, trigger_to_pb
from catenary.cid import decode
from catenary.errors import BadInputError
from catenary.proto.api import trigger_pb2, trigger_pb2_grpc
from catenary.sdk import Node


class TriggerServicer(trigger_pb2_grpc.TriggerServicer):
    def __init__(self, node: Node) -> None:
        self.node = node

    @unary
    def Create(
        self, request: trigger_pb2.CreateTriggerRequest, context: grpc.ServicerContext
    ) -> trigger_pb2.TriggerInfo:
        try:
            document = json.loads(request.definition)
        except ValueError as exc:
            raise BadInputError(f"definition: the trigger is not JSON: {exc}") from None
        return trigger_to_pb(self.node.triggers.create(document))

    @unary
    def Get(self, request: trigger_pb2.TriggerName, context: grpc.ServicerContext) -> trigger_pb2.TriggerInfo:
        return trigger_to_pb(self.node.triggers.get(request.name))

    @unary
    def List(
        self, request: trigger_pb2.ListTriggersRequest, context: grpc.ServicerContext
    ) -> trigger_pb2.ListTriggersResponse:
        return trigger_pb2.ListTriggersResponse(
            triggers=[trigger_to_pb(r) for r in self.node.triggers.list()]
        )

    @unary
    def Enable(
        self, request: trigger_pb2.TriggerName, context: grpc.ServicerContext
    ) -> trigger_pb2.TriggerInfo:
        return trigger_to_pb(self.node.triggers.enable(request.name, True))

    @unary
    def Disable(
        self, request: trigger_pb2.TriggerName, context: grpc.ServicerContext
    ) -> trigger_pb2.TriggerInfo:
        return trigger_to_pb(self.node.triggers.enable(request.name, False))

    @unary
    def Delete(
        self, request: trigger_pb2.TriggerName, context: grpc.ServicerContext
    ) -> trigger_pb2.DeleteTriggerResponse:
        self.node.triggers.delete(request.name)
        return trigger_pb2.DeleteTriggerResponse()

    @unary
    def History(
        self, request: trigger_pb2.TriggerHistoryRequest, context: grpc.ServicerContext
    ) -> trigger_pb2.TriggerHistoryResponse:
        rows = self.node.triggers.history(request.name or None, request.status or None, request.limit or 100)
        return trigger_pb2.TriggerHistoryResponse(firings=[firing_to_pb(f) for f in rows])


class ScheduleServicer(trigger_pb2_grpc.ScheduleServicer):
    def __init__(self, node: Node) -> None:
        self.node = node

    @unary
    def Add(
        self, request: trigger_pb2.AddScheduleRequest, context: grpc.ServicerContext
    ) -> trigger_pb2.ScheduleInfo:
        data = decode(request.data) if request.data else None
        row = self.node.schedules.add(
            request.name, request.cron, request.key, data, request.catch_up or "once", request.start or None
        )
        return schedule_to_pb(row)

    @unary
    def Get(
        self, request: trigger_pb2.ScheduleName, context: grpc.ServicerContext
    ) -> trigger_pb2.ScheduleInfo:
        row = self.node.schedules.get(request.name)
        return schedule_to_pb(row, self.node.schedules.ticks(request.name))

    @unary
    def List(
        self, request: trigger_pb2.ListSchedulesRequest, context: grpc.ServicerContext
    ) -> trigger_pb2.ListSchedulesResponse:
        rows = self.node.schedules.list()
        return trigger_pb2.ListSchedulesResponse(schedules=[schedule_to_pb(r) for r in rows])

    @unary
    def Remove(
        self, request: trigger_pb2.ScheduleName, context: grpc.ServicerContext
    ) -> trigger_pb2.RemoveScheduleResponse:
        self.node.schedules.remove(request.name)
        return trigger_pb2.RemoveScheduleResponse()
