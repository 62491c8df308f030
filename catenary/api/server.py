"""The gRPC server of a node: the five services, reflection and health, behind TLS and the
authorization interceptor (catenary/api/auth.py).

Port sharing is off (``grpc.so_reuseport`` 0): a second server on a used port must fail,
not silently take half the connections. A non-loopback address needs TLS and a policy
that refuses anonymous calls, unless ``insecure`` says the operator knows better.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from catenary.api.auth import Authorization
from catenary.api.errors import RequestDecoding
from catenary.api.event import EventServicer
from catenary.api.options import MESSAGE_OVERHEAD as MESSAGE_OVERHEAD
from catenary.api.options import message_options as message_options
from catenary.api.queue import QueueServicer
from catenary.api.servicers import (
    ExecutionServicer,
    OperationServicer,
    RunServicer,
    ValueServicer,
    WorkflowServicer,
)
from catenary.api.statement import StatementServicer
from catenary.api.streams import Subscriptions
from catenary.api.trigger import ScheduleServicer, TriggerServicer
from catenary.errors import BadInputError

# The generated modules; servicers.py and the client list them too (imports, no logic).
from catenary.proto.api import (
    event_pb2,
    event_pb2_grpc,
    execution_pb2,
    execution_pb2_grpc,
    operation_pb2,
    operation_pb2_grpc,
    queue_pb2,
    queue_pb2_grpc,
    run_pb2,
    run_pb2_grpc,
    statement_pb2,
    statement_pb2_grpc,
    trigger_pb2,
    trigger_pb2_grpc,
    value_pb2,
    value_pb2_grpc,
    workflow_pb2,
    workflow_pb2_grpc,
)
from catenary.sdk import Node
from catenary.trust.policy import Policy


@dataclass(frozen=True)
class TLSFiles:
    """PEM files for TLS: the server's certificate and key; ``client_ca`` turns on mutual TLS."""

    cert: Path
    key: Path
    client_ca: Path | None = None

    def _read(self, path: Path, option: str) -> bytes:
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise BadInputError(f"{option}: cannot read {path}: {exc.strerror}") from None

    def server_credentials(self) -> grpc.ServerCredentials:
        ca = self._read(self.client_ca, "--tls-client-ca") if self.client_ca else None
        return grpc.ssl_server_credentials(
            [(self._read(self.key, "--tls-key"), self._read(self.cert, "--tls-cert"))],
            root_certificates=ca,
            require_client_auth=ca is not None,
        )


def split_address(listen: str, option: str = "--listen") -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise BadInputError(f"{option}: expected HOST:PORT (e.g. 127.0.0.1:50051), got {listen!r}")
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve anywhere


def exposure(listen: str, tls: bool, unauthenticated: str | None, option: str = "--listen") -> str | None:
    """Why serving on ``listen`` this way is unsafe, or None: off loopback, traffic needs TLS and
    every call a proven key. ``unauthenticated`` says what callers without a key could do."""
    host, _ = split_address(listen, option)
    if is_loopback(host):
        return None
    missing = [
        *([] if tls else ["TLS (--tls-cert, --tls-key)"]),
        *([f"authentication ({unauthenticated})"] if unauthenticated else []),
    ]
    if not missing:
        return None
    return (
        f"{option} {listen} is not a loopback address and the server has no "
        f"{' and no '.join(missing)}; give them, or --insecure to serve anyway"
    )


def bind_error(listen: str, option: str = "--listen") -> BadInputError:
    """Why ``listen`` cannot be bound, as the OS says it ("address already in use", ...)."""
    host, port = split_address(listen, option)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    reason = "invalid address"
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        except (socket.gaierror, OverflowError, TypeError) as exc:
            reason = str(exc)
    return BadInputError(f"{option}: cannot listen on {listen!r}: {reason}")


class Server:
    """A running gRPC server over one node. ``stop()`` ends streams cleanly, then the server."""

    def __init__(
        self,
        node: Node,
        listen: str = "127.0.0.1:50051",
        max_workers: int = 256,
        max_subscribers: int | None = None,
        policy: Policy | None = None,
        tls: TLSFiles | None = None,
        insecure: bool = False,
    ) -> None:
        """``policy`` defaults to the data dir's ``policy.toml`` (or the default policy); a
        non-loopback ``listen`` without TLS and authentication raises unless ``insecure``."""
        self.node = node
        self.policy = policy if policy is not None else Policy.load(node.data_dir, node.id)
        node.policy = self.policy  # one policy for the calls and the cache (Node._trusts)
        anonymous = self.policy.allows_anonymous()
        problem = exposure(
            listen,
            tls is not None,
            f"policy.toml grants anonymous callers {', '.join(anonymous)}" if anonymous else None,
        )
        if problem and not insecure:
            raise BadInputError(problem)
        self.warning = problem  # shown by `catenary serve --insecure`
        self.authorization = Authorization(node, self.policy)
        options = [*message_options(node.engine.max_value_size), ("grpc.so_reuseport", 0)]
        self._grpc = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="catenary-rpc"),
            options=options,
            interceptors=[RequestDecoding(), self.authorization],
        )
        # Each open Updates stream holds a worker thread: keep some for unary calls.
        cap = max_subscribers if max_subscribers is not None else max(1, max_workers - 16)
        self.subscriptions = Subscriptions(cap)  # Execution's and Event's Updates streams
        self.executions = ExecutionServicer(node, self.subscriptions)
        execution_pb2_grpc.add_ExecutionServicer_to_server(self.executions, self._grpc)
        workflow_pb2_grpc.add_WorkflowServicer_to_server(WorkflowServicer(node), self._grpc)
        operation_pb2_grpc.add_OperationServicer_to_server(OperationServicer(node), self._grpc)
        run_pb2_grpc.add_RunServicer_to_server(RunServicer(node), self._grpc)
        queue_pb2_grpc.add_QueueServicer_to_server(QueueServicer(node), self._grpc)
        value_pb2_grpc.add_ValueServicer_to_server(ValueServicer(node), self._grpc)
        statement_pb2_grpc.add_StatementServicer_to_server(StatementServicer(node), self._grpc)
        event_pb2_grpc.add_EventServicer_to_server(EventServicer(node, self.subscriptions), self._grpc)
        trigger_pb2_grpc.add_TriggerServicer_to_server(TriggerServicer(node), self._grpc)
        trigger_pb2_grpc.add_ScheduleServicer_to_server(ScheduleServicer(node), self._grpc)
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._grpc)
        names = [
            execution_pb2.DESCRIPTOR.services_by_name["Execution"].full_name,
            workflow_pb2.DESCRIPTOR.services_by_name["Workflow"].full_name,
            operation_pb2.DESCRIPTOR.services_by_name["Operation"].full_name,
            run_pb2.DESCRIPTOR.services_by_name["Run"].full_name,
            queue_pb2.DESCRIPTOR.services_by_name["Queue"].full_name,
            value_pb2.DESCRIPTOR.services_by_name["Value"].full_name,
            statement_pb2.DESCRIPTOR.services_by_name["Statement"].full_name,
            event_pb2.DESCRIPTOR.services_by_name["Event"].full_name,
            trigger_pb2.DESCRIPTOR.services_by_name["Trigger"].full_name,
            trigger_pb2.DESCRIPTOR.services_by_name["Schedule"].full_name,
        ]
        for name in names:
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        reflection.enable_server_reflection(
            [*names, health.SERVICE_NAME, reflection.SERVICE_NAME], self._grpc
        )
        split_address(listen)
        try:
            self.port = (
                self._grpc.add_secure_port(listen, tls.server_credentials())
                if tls
                else self._grpc.add_insecure_port(listen)
            )
        except RuntimeError:  # grpcio raises when it cannot bind (older versions return 0)
            self.port = 0
        if self.port == 0:
            raise bind_error(listen)
        host = listen.rsplit(":", 1)[0]
        self.address = f"{host}:{self.port}"
        self.tls = tls

    def start(self) -> Server:
        self._grpc.start()
        return self

    def wait(self) -> None:
        self._grpc.wait_for_termination()

    def stop(self, grace: float = 5.0) -> None:
        """Graceful shutdown: report NOT_SERVING, end open streams, finish in-flight calls."""
        self.health.enter_graceful_shutdown()
        self.subscriptions.close()
        self._grpc.stop(grace).wait()
