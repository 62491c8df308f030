"""The Queue service: executors ask the node for work (docs/api.md, "Task queues")."""

from __future__ import annotations

import grpc

from catenary.api import convert
from catenary.api.errors import unary
from catenary.api.servicers import executor_of
from catenary.errors import BadInputError
from catenary.proto.api import queue_pb2, queue_pb2_grpc
from catenary.sdk import Node


class QueueServicer(queue_pb2_grpc.QueueServicer):
    def __init__(self, node: Node) -> None:
        self.node = node

    @unary
    def Claim(
        self, request: queue_pb2.ClaimRequest, context: grpc.ServicerContext
    ) -> queue_pb2.ClaimResponse:
        executor = executor_of(request.executor, self.node.id)
        if not executor:
            raise BadInputError("executor: claiming executions needs an executor id (or the caller's key)")
        claimed = self.node.executions.claim(
            executor,
            request.queue,
            [convert.cid(op, f"operations[{i}]") for i, op in enumerate(request.operations)],
            request.max or 1,
            request.lease_seconds or None,
            request.wait_seconds,
            stop=lambda: not context.is_active(),  # the executor went away: stop waiting for it
        )
        return queue_pb2.ClaimResponse(executions=[convert.execution_to_pb(e) for e in claimed])
