"""Errors over gRPC: the client raises the class the servicer raised, with its fields."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from catenary.api.errors import CODES, unary
from catenary.cid import CID, cid_of
from catenary.client import Client
from catenary.errors import CatenaryError, ExecutionFailedError, ManifestError, WasmExecutionError
from catenary.model import Status

from .conftest import chain_manifest


def test_manifest_error_keeps_its_json_path(client: Client) -> None:
    manifest = chain_manifest()
    manifest["data"]["segments"][0]["sequence"][0]["op"] = 42
    with pytest.raises(ManifestError) as info:
        client.workflows.create(json.dumps(manifest))
    assert info.value.path == "segments[0].sequence[0].op"
    assert str(info.value) == f"{info.value.path}: {info.value.reason}"
    assert info.value.__cause__ is not None  # the gRPC error it was rebuilt from


def test_failed_step_keeps_its_execution(client: Client) -> None:
    manifest = chain_manifest()
    manifest["data"]["segments"][0]["sequence"] = [{"op": "std/utf8-decode", "config": {}}]
    workflow = client.workflows.create(json.dumps(manifest))
    with pytest.raises(ExecutionFailedError) as info:
        client.runs.run(workflow.id, {0: [b"\xff"]})
    failed = info.value.execution
    assert failed is not None and failed.status is Status.FAILED
    assert failed.error is not None and failed.error in str(info.value)
    assert client.executions.get(failed.hash).status is Status.FAILED  # the recorded one


class _Raising:
    """A servicer method that raises whatever error the test hands it."""

    def __init__(self, error: CatenaryError) -> None:
        self.error = error

    @unary
    def call(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        raise self.error

    def bare(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        """A status from a server that is not catenary's: a code, no metadata."""
        context.abort(_BARE_CODE, "bare")
        raise AssertionError("abort returned")


_BARE_CODE = grpc.StatusCode.ABORTED


@pytest.fixture
def raising_server() -> Iterator[tuple[str, _Raising]]:
    from concurrent.futures import ThreadPoolExecutor

    servicer = _Raising(CatenaryError("unset"))
    handler = grpc.method_handlers_generic_handler(
        "test.Raise",
        {
            "Call": grpc.unary_unary_rpc_method_handler(servicer.call),
            "Bare": grpc.unary_unary_rpc_method_handler(servicer.bare),
        },
    )
    server = grpc.server(ThreadPoolExecutor(max_workers=2), handlers=[handler])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}", servicer
    server.stop(grace=None)


def _call(address: str, method: str = "Call") -> Any:
    from catenary.api.errors import from_rpc_error

    with grpc.insecure_channel(address) as channel:
        try:
            channel.unary_unary(f"/test.Raise/{method}")(b"", timeout=10)
        except grpc.RpcError as exc:
            return exc.code(), from_rpc_error(exc)
    raise AssertionError("the call did not fail")


def test_wasm_error_keeps_module_cause_and_fuel(raising_server: tuple[str, _Raising]) -> None:
    address, servicer = raising_server
    module = cid_of("not really a module")
    servicer.error = WasmExecutionError(module, "ran out of fuel: ünïcode cause", 1234)
    code, error = _call(address)
    assert code == grpc.StatusCode.INTERNAL
    assert type(error) is WasmExecutionError
    assert (error.module, error.cause, error.fuel) == (module, "ran out of fuel: ünïcode cause", 1234)
    assert isinstance(error.module, CID) and str(error) == str(servicer.error)


def test_every_error_class_comes_back_as_itself(raising_server: tuple[str, _Raising]) -> None:
    import catenary.errors as errors

    address, servicer = raising_server
    for name in errors.__all__:
        cls = getattr(errors, name)
        if cls is ManifestError:
            servicer.error = ManifestError("a.b[0]", "wrong")
        elif cls is WasmExecutionError:
            servicer.error = WasmExecutionError(cid_of(1), "trap")
        elif cls is errors.MissingExtraError:
            servicer.error = errors.MissingExtraError("the PostgreSQL store", "postgres")
        elif cls is errors.TokenError:
            from catenary.trust.token import Problem

            servicer.error = errors.TokenError(Problem.EXPIRED, "at 12:00")
        else:
            servicer.error = cls("what went wrong")
        code, error = _call(address)
        row = next(row for row in CODES if isinstance(servicer.error, row.cls))
        assert (code, type(error), str(error)) == (row.code, cls, str(servicer.error)), name
        for field in row.fields:
            assert getattr(error, field) == getattr(servicer.error, field), (name, field)


def test_a_bare_status_code_picks_the_general_class(raising_server: tuple[str, _Raising]) -> None:
    code, error = _call(raising_server[0], "Bare")
    assert code == _BARE_CODE
    assert type(error) is ExecutionFailedError and error.execution is None and str(error) == "bare"
