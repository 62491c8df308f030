"""Fuzz targets and their invariants, shared by the bounded hypothesis runs in the test suite
(tests/reliability/test_fuzz.py) and the long atheris runs (fuzz/fuzz_manifest.py,
fuzz/fuzz_grpc.py).

A target takes one input and raises :class:`Crash` when an invariant breaks:

- the manifest loader either accepts the manifest or raises a ``CatenaryError`` whose
  message is one bounded line; nothing else escapes, and a refused manifest stores nothing;
- a gRPC method of a real server answers every request, however malformed its bytes, with
  success or a well-formed status (INVALID_ARGUMENT, NOT_FOUND, ...), never UNKNOWN,
  INTERNAL or a hang, and a refused request stores nothing.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import grpc

from catenary.errors import CatenaryError
from catenary.sdk import Node

# Well-formed answers to a request: the caller's fault or a refusal the API documents.
ANSWERS = {
    "OK",
    "INVALID_ARGUMENT",
    "NOT_FOUND",
    "RESOURCE_EXHAUSTED",
    "ALREADY_EXISTS",
    "FAILED_PRECONDITION",
    "ABORTED",
}
# ABORTED is an operation that failed: its failed execution is recorded on purpose.
CHANGES_ALLOWED = {"OK", "ABORTED"}
MAX_MESSAGE = 1000
CALL_TIMEOUT = 20.0


class Crash(AssertionError):
    """An invariant of a fuzz target broke; the message says which, with the input."""


def rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, through a separate read-only connection."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
    finally:
        con.close()


def check_message(message: str, where: str) -> None:
    if "\n" in message or len(message) > MAX_MESSAGE or not message.strip():
        raise Crash(f"{where}: the error is not one clear line: {message[:300]!r}")


class ManifestTarget:
    """``WorkflowManager.create`` on a real node: bytes, JSON text or Python structures."""

    def __init__(self, data_dir: Path) -> None:
        self.node = Node(data_dir)
        self.db = data_dir / "catenary.db"
        self.runs = 0
        self.accepted = 0

    def __call__(self, manifest: Any) -> None:
        self.runs += 1
        before = rows(self.db)
        try:
            self.node.workflows.create(manifest)
        except CatenaryError as exc:
            check_message(str(exc), f"manifest {_short(manifest)}")
            if rows(self.db) != before:
                raise Crash(f"a refused manifest changed the database: {_short(manifest)}") from exc
        except Exception as exc:  # noqa: BLE001 - exactly what the target looks for
            raise Crash(f"{type(exc).__name__} escaped for manifest {_short(manifest)}: {exc}") from exc
        else:
            self.accepted += 1

    def close(self) -> None:
        self.node.close()


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, (bytes, str)) else repr(value[:200])
    return text[:300]


class GrpcTarget:
    """Raw request bytes to one method of a real server on loopback, through a raw channel
    (``request_serializer=None``), so that the server parses garbage itself."""

    def __init__(self, node: Node, address: str) -> None:
        self.node = node
        self.db = node.data_dir / "catenary.db"
        self.channel = grpc.insecure_channel(address)
        self.counts: dict[str, int] = {}

    def __call__(self, method: str, request: bytes) -> str:
        """Send ``request`` to ``method``; return the status name; raise Crash when it is not a
        well-formed answer or a refused request changed what is stored."""
        before = rows(self.db)
        code, details = self._call(method, request)
        self.counts[code] = self.counts.get(code, 0) + 1
        where = f"{method} with {request[:120]!r}"
        if code not in ANSWERS:
            raise Crash(f"{where} was answered {code}: {details}")
        if code != "OK":
            check_message(details, where)
            if code not in CHANGES_ALLOWED and rows(self.db) != before:
                raise Crash(f"{where} was refused ({code}) but changed the database")
        return code

    def _call(self, method: str, request: bytes) -> tuple[str, str]:
        streaming = method.endswith(("/Updates", "/Trace"))
        try:
            if not streaming:
                self.channel.unary_unary(method)(request, timeout=CALL_TIMEOUT)
                return "OK", ""
            call = self.channel.unary_stream(method)(request, timeout=CALL_TIMEOUT)
            if method.endswith("/Updates"):
                # An accepted subscription never ends: it is accepted once the server says it
                # is subscribed (initial metadata), then the test hangs up.
                metadata = dict(call.initial_metadata() or ())
                if "catenary-since-seq" in metadata:
                    call.cancel()
                    return "OK", ""
            for _ in call:
                pass
            return "OK", ""
        except grpc.RpcError as exc:
            code = exc.code()
            return (code.name if code else "NONE"), exc.details() or ""

    def close(self) -> None:
        self.channel.close()


def methods() -> list[str]:
    """Every unary-request method of catenary's five services, as ``/package.Service/Method``."""
    from catenary.proto.api import execution_pb2, operation_pb2, run_pb2, value_pb2, workflow_pb2

    found = []
    for module, service in [
        (execution_pb2, "Execution"),
        (workflow_pb2, "Workflow"),
        (operation_pb2, "Operation"),
        (run_pb2, "Run"),
        (value_pb2, "Value"),
    ]:
        descriptor = module.DESCRIPTOR.services_by_name[service]
        found += [f"/{descriptor.full_name}/{m.name}" for m in descriptor.methods if not m.client_streaming]
    return found


def request_types() -> dict[str, Any]:
    """``method -> request message class``, for building well-formed requests to mutate."""
    from google.protobuf import message_factory

    from catenary.proto.api import execution_pb2, operation_pb2, run_pb2, value_pb2, workflow_pb2

    types = {}
    for module in (execution_pb2, workflow_pb2, operation_pb2, run_pb2, value_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            for m in service.methods:
                types[f"/{service.full_name}/{m.name}"] = message_factory.GetMessageClass(m.input_type)
    return types
