"""The gRPC server of a node: the five services, reflection and health."""

from __future__ import annotations

from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from catenary.api.errors import RequestDecoding
from catenary.api.servicers import (
    ExecutionServicer, OperationServicer, RunServicer, ValueServicer, WorkflowServicer,
)
from catenary.api.statement import StatementServicer
from catenary.errors import BadInputError
from catenary.proto.api import statement_pb2, statement_pb2_grpc
from catenary.proto.api import (
    execution_pb2, execution_pb2_grpc, operation_pb2, operation_pb2_grpc, run_pb2, run_pb2_grpc,
    value_pb2, value_pb2_grpc, workflow_pb2, workflow_pb2_grpc,
)
from catenary.sdk import Node

# Room for a value at the size cap plus its message envelope.
MESSAGE_OVERHEAD = 1024 * 1024


def message_options(max_value_size: int) -> list[tuple[str, int]]:
    limit = max_value_size + MESSAGE_OVERHEAD
    return [("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit)]


class Server:
    """A running gRPC server over one node. ``stop()`` ends streams cleanly, then the server."""

    def __init__(self, node: Node, listen: str = "127.0.0.1:50051", max_workers: int = 256,
                 max_subscribers: int | None = None) -> None:
        self.node = node
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers,
                                                            thread_name_prefix="catenary-rpc"),
                                 options=message_options(node.engine.max_value_size),
                                 interceptors=[RequestDecoding()])
        # Each open Updates stream holds a worker thread: keep some for unary calls.
        cap = max_subscribers if max_subscribers is not None else max(1, max_workers - 16)
        self.executions = ExecutionServicer(node, cap)
        execution_pb2_grpc.add_ExecutionServicer_to_server(self.executions, self._grpc)
        workflow_pb2_grpc.add_WorkflowServicer_to_server(WorkflowServicer(node), self._grpc)
        operation_pb2_grpc.add_OperationServicer_to_server(OperationServicer(node), self._grpc)
        run_pb2_grpc.add_RunServicer_to_server(RunServicer(node), self._grpc)
        value_pb2_grpc.add_ValueServicer_to_server(ValueServicer(node), self._grpc)
        statement_pb2_grpc.add_StatementServicer_to_server(StatementServicer(node), self._grpc)
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._grpc)
        names = [
            execution_pb2.DESCRIPTOR.services_by_name["Execution"].full_name,
            workflow_pb2.DESCRIPTOR.services_by_name["Workflow"].full_name,
            operation_pb2.DESCRIPTOR.services_by_name["Operation"].full_name,
            run_pb2.DESCRIPTOR.services_by_name["Run"].full_name,
            value_pb2.DESCRIPTOR.services_by_name["Value"].full_name,
            statement_pb2.DESCRIPTOR.services_by_name["Statement"].full_name,
        ]
        for name in names:
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME],
                                            self._grpc)
        self.port = self._grpc.add_insecure_port(listen)
        if self.port == 0:
            raise BadInputError(f"cannot listen on {listen!r} (address in use or invalid)")
        host = listen.rsplit(":", 1)[0]
        self.address = f"{host}:{self.port}"

    def start(self) -> "Server":
        self._grpc.start()
        return self

    def wait(self) -> None:
        self._grpc.wait_for_termination()

    def stop(self, grace: float = 5.0) -> None:
        """Graceful shutdown: report NOT_SERVING, end open streams, finish in-flight calls."""
        self.health.enter_graceful_shutdown()
        self.executions.close()
        self._grpc.stop(grace).wait()
