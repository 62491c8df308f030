"""Every case of the bad-input corpus (tests/corpus/index.json) through the sdk, the gRPC API
and (a few) the real ``catenary`` command: each is answered with its clear error and leaves
the database exactly as it was (every row, and the file's bytes after a checkpoint).

The corpus and what each case must answer are described in tests/corpus/make_corpus.py.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from catenary import errors
from catenary.api import Server
from catenary.cid import CID, dagjson, decode, encode
from catenary.model.filter import ExecutionFilter
from catenary.proto.api import execution_pb2, operation_pb2, run_pb2, value_pb2, workflow_pb2
from catenary.sdk import Node
from catenary.sdk.execution import _fingerprint
from tests.helpers import open_policy, snapshot

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus"
CASES: list[dict[str, Any]] = json.loads((CORPUS / "index.json").read_text())["cases"]
MAX_VALUE_SIZE = 64 * 1024  # the corpus's over-the-cap value is 70,005 bytes


def content(case: dict[str, Any]) -> bytes:
    path = CORPUS / case["file"]
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def cases(*kinds: str, cli: bool = False) -> Any:
    chosen = [c for c in CASES if c["kind"] in kinds and (c.get("cli") or not cli)]
    return pytest.mark.parametrize("case", chosen, ids=[c["name"] for c in chosen])


# -- the world: one seeded node, served on loopback -----------------------------------------------
def step_manifest(name: str, op: str) -> dict[str, Any]:
    return {
        "data": {
            "name": name,
            "creators": [],
            "description": "",
            "groups": [],
            "segments": [{"inputs": [-1], "sequence": [{"op": op, "config": {}}]}],
        }
    }


@dataclass
class World:
    node: Node
    server: Server
    channel: grpc.Channel
    db: Path
    run_str: CID  # running, segment 0 takes a string
    run_any: CID  # running, segment 0 takes anything
    token: str  # a real page token of the unfiltered list

    def state(self) -> tuple[dict[str, Any], str]:
        """Every row of every table (separate read-only connection), and the database file's
        bytes once the WAL is checkpointed into it."""
        rows = snapshot(self.db)
        for _ in range(100):
            con = sqlite3.connect(self.db)
            try:
                busy, _log, _moved = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                con.close()
            if not busy:
                break
            time.sleep(0.01)  # a reader (the updates hub) holds an old snapshot: try again
        else:
            raise AssertionError("the WAL could not be checkpointed")
        return rows, hashlib.sha256(self.db.read_bytes()).hexdigest()

    def rpc(self, method: str, request: bytes, stream: bool = False) -> grpc.RpcError:
        """Send raw request bytes; the call must fail. Returns the error."""
        try:
            if stream:
                list(self.channel.unary_stream(method)(request, timeout=30))
            else:
                self.channel.unary_unary(method)(request, timeout=30)
        except grpc.RpcError as exc:
            return exc
        raise AssertionError(f"{method} accepted {request[:60]!r}")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("bad-input") / "data"
    node = Node(data_dir, max_value_size=MAX_VALUE_SIZE)
    wf_str = node.workflows.create(step_manifest("strings", "std/utf8-encode")).id
    wf_any = node.workflows.create(step_manifest("anything", "std/get")).id
    node.runs.run(wf_str, {0: ["a finished run"]})
    node.runs.run(wf_any, {0: [{"k": [1, 2.5, b"\x00"]}]})
    run_str, run_any = node.runs.new(wf_str).id, node.runs.new(wf_any).id
    token = node.executions.list(ExecutionFilter(), 1).next_page_token
    assert token
    server = Server(node, "127.0.0.1:0", policy=open_policy(node), max_workers=8).start()
    channel = grpc.insecure_channel(server.address)
    yield World(node, server, channel, data_dir / "catenary.db", run_str, run_any, token)
    channel.close()
    server.stop(grace=1)
    node.close()


def unchanged(world: World) -> Callable[[], None]:
    before = world.state()

    def check() -> None:
        after = world.state()
        assert after[0] == before[0], "a refused input changed stored rows"
        assert after[1] == before[1], "a refused input changed the database file"

    return check


def assert_clear(exc: BaseException, case: dict[str, Any], expected_type: str | None = None) -> None:
    """A typed catenary error with the expected text, on one bounded line."""
    cls = getattr(errors, expected_type or case["type"])
    assert isinstance(exc, cls), f"{type(exc).__name__}: {exc}"
    message = str(exc)
    assert case["error"] in message, message
    assert "\n" not in message and len(message) < 600, message
    if case["kind"] == "manifest":
        assert exc.path == case["path"], (exc.path, message)  # type: ignore[attr-defined]
        assert message.startswith(case["path"]), message


def refuse(call: Callable[[], Any]) -> BaseException:
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - the assertion checks what it is
        return exc
    raise AssertionError("bad input was accepted")


def derived_token(world: World, derive: str) -> str:
    raw = base64.urlsafe_b64decode(world.token + "=" * (-len(world.token) % 4))
    fingerprint = _fingerprint(ExecutionFilter())

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    if derive == "one-byte-changed-header":
        return b64(bytes([raw[0] ^ 0x07]) + raw[1:])  # array of 3 -> array of 4
    if derive == "one-byte-changed-fingerprint":
        return b64(raw[:-1] + bytes([raw[-1] ^ 0x01]))
    if derive == "other-filter":
        return world.token  # used with another filter, see token_filter
    if derive == "id-over-int64":
        return b64(encode([1, 2**63, fingerprint]))
    if derive == "id-bool":
        return b64(encode([1, True, fingerprint]))
    if derive == "megabyte":
        return "A" * 1_000_000
    raise AssertionError(derive)


def token_of(world: World, case: dict[str, Any]) -> tuple[str, ExecutionFilter]:
    token = derived_token(world, case["derive"]) if "derive" in case else content(case).decode("utf-8")
    flt = ExecutionFilter(segment=0) if case.get("derive") == "other-filter" else ExecutionFilter()
    return token, flt


def test_the_corpus_covers_every_kind_of_bad_input() -> None:
    kinds = {c["kind"] for c in CASES}
    assert kinds == {
        "manifest",
        "value_cbor",
        "value_json",
        "cid_text",
        "cid_bytes",
        "request",
        "page_token",
        "unknown_id",
    }
    assert len([c for c in CASES if c["kind"] == "manifest"]) >= 60
    for c in CASES:
        assert c["error"], c
        assert ("file" in c) != ("derive" in c), c
        if "file" in c:
            assert (CORPUS / c["file"]).is_file(), c


def test_corpus_files_are_what_make_corpus_writes(tmp_path: Path) -> None:
    from tests.corpus import make_corpus

    for path in make_corpus.write(tmp_path):
        committed = CORPUS / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), f"{committed} is stale: run make_corpus.py"


# -- sdk -----------------------------------------------------------------------------------------
@cases("manifest")
def test_sdk_refuses_bad_manifests(world: World, case: dict[str, Any]) -> None:
    check = unchanged(world)
    assert_clear(refuse(lambda: world.node.workflows.create(content(case))), case)
    check()


@cases("value_cbor")
def test_sdk_refuses_bad_value_bytes(world: World, case: dict[str, Any]) -> None:
    data = content(case)
    check = unchanged(world)
    assert_clear(refuse(lambda: world.node.values.put_bytes(data)), case)
    try:
        value = decode(data)
    except errors.EncodingError as exc:
        assert_clear(exc, case)  # as bytes it cannot even become a value
    else:
        assert_clear(refuse(lambda: world.node.runs.next(world.run_any, [value])), case)
    check()


@cases("value_json")
def test_sdk_refuses_bad_dag_json_values(world: World, case: dict[str, Any]) -> None:
    check = unchanged(world)

    def step() -> None:
        world.node.runs.next(world.run_str, [dagjson.parse(content(case).decode(), "value")])

    assert_clear(refuse(step), case)
    check()


@cases("cid_text")
def test_sdk_refuses_bad_cid_text(world: World, case: dict[str, Any]) -> None:
    check = unchanged(world)
    assert_clear(refuse(lambda: world.node.executions.get(CID.parse(content(case).decode()))), case)
    check()


@cases("cid_bytes")
def test_sdk_refuses_bad_cid_bytes(world: World, case: dict[str, Any]) -> None:
    check = unchanged(world)
    assert_clear(refuse(lambda: world.node.values.get(CID.coerce(content(case)))), case)
    check()


@cases("page_token")
def test_sdk_refuses_forged_page_tokens(world: World, case: dict[str, Any]) -> None:
    token, flt = token_of(world, case)
    check = unchanged(world)
    assert_clear(refuse(lambda: world.node.executions.list(flt, 10, token)), case)
    check()


def unknown_call(node: Node, target: str, cid: CID) -> Callable[[], Any]:
    return {
        "workflow": lambda: node.workflows.get(cid),
        "run": lambda: node.runs.get(cid),
        "run-next": lambda: node.runs.next(cid, ["x"]),
        "run-new": lambda: node.runs.new(cid),
        "execution": lambda: node.executions.get(cid),
        "trace": lambda: node.executions.trace(cid),
        "value": lambda: node.values.get(cid),
        "operation": lambda: node.operations.get(cid),
    }[target]


@cases("unknown_id")
def test_sdk_answers_unknown_ids_with_not_found(world: World, case: dict[str, Any]) -> None:
    cid = CID.parse(content(case).decode())
    check = unchanged(world)
    assert_clear(refuse(unknown_call(world.node, case["target"], cid)), case)
    check()


# -- gRPC: a real server on loopback, raw request bytes ----------------------------------------------
def assert_status(exc: grpc.RpcError, case: dict[str, Any], prefix: str = "") -> None:
    code = exc.code()
    assert code.name == case.get("grpc_code", "INVALID_ARGUMENT"), (code, exc.details())
    expected = case.get("grpc_error", case["error"])
    assert expected in (exc.details() or ""), exc.details()
    if prefix and "grpc_error" not in case:
        assert (exc.details() or "").startswith(prefix), exc.details()


def field(tag: int, data: bytes) -> bytes:
    """A length-delimited protobuf field, written by hand so any bytes can go in it."""
    length, out = len(data), bytearray([tag << 3 | 2])
    while True:
        out.append(length & 0x7F | (0x80 if length > 0x7F else 0))
        length >>= 7
        if not length:
            return bytes(out) + data


@cases("manifest")
def test_grpc_refuses_bad_manifests(world: World, case: dict[str, Any]) -> None:
    check = unchanged(world)
    assert_status(world.rpc("/catenary.api.v1.Workflow/Create", field(1, content(case))), case)
    check()


@cases("value_cbor")
def test_grpc_refuses_bad_values(world: World, case: dict[str, Any]) -> None:
    data = content(case)
    check = unchanged(world)
    assert_status(
        world.rpc("/catenary.api.v1.Value/Put", value_pb2.PutValueRequest(data=data).SerializeToString()),
        case,
    )
    assert_status(
        world.rpc(
            "/catenary.api.v1.Run/Next",
            run_pb2.NextRequest(run=world.run_any.cid_bytes, inputs=[data]).SerializeToString(),
        ),
        case,
    )
    check()


CID_FIELDS = [
    ("/catenary.api.v1.Execution/Get", execution_pb2.GetExecutionRequest, "hash", False),
    ("/catenary.api.v1.Execution/Trace", execution_pb2.TraceRequest, "hash", True),
    ("/catenary.api.v1.Workflow/Get", workflow_pb2.GetWorkflowRequest, "id", False),
    ("/catenary.api.v1.Run/Get", run_pb2.GetRunRequest, "run", False),
    ("/catenary.api.v1.Run/New", run_pb2.NewRunRequest, "workflow", False),
    ("/catenary.api.v1.Value/Get", value_pb2.GetValueRequest, "cid", False),
    ("/catenary.api.v1.Operation/Get", operation_pb2.GetOperationRequest, "version_id", False),
]


@cases("cid_bytes")
def test_grpc_refuses_bad_cid_bytes_in_every_cid_field(world: World, case: dict[str, Any]) -> None:
    data = content(case)
    check = unchanged(world)
    for method, message, name, stream in CID_FIELDS:
        exc = world.rpc(method, message(**{name: data}).SerializeToString(), stream)
        assert_status(exc, case, prefix=f"{name}: ")
    check()


@cases("request")
def test_grpc_refuses_bad_requests(world: World, case: dict[str, Any]) -> None:
    check = unchanged(world)
    stream = case["method"].endswith(("/Updates", "/Trace"))
    assert_status(world.rpc(case["method"], content(case), stream), case)
    check()


@cases("page_token")
def test_grpc_refuses_forged_page_tokens(world: World, case: dict[str, Any]) -> None:
    from catenary.api import convert

    token, flt = token_of(world, case)
    request = execution_pb2.ListExecutionsRequest(
        filter=convert.filter_to_pb(flt), page_size=10, page_token=token
    )
    check = unchanged(world)
    assert_status(world.rpc("/catenary.api.v1.Execution/List", request.SerializeToString()), case)
    check()


UNKNOWN_RPC = {
    "workflow": ("/catenary.api.v1.Workflow/Get", workflow_pb2.GetWorkflowRequest, "id"),
    "run": ("/catenary.api.v1.Run/Get", run_pb2.GetRunRequest, "run"),
    "run-next": ("/catenary.api.v1.Run/Next", run_pb2.NextRequest, "run"),
    "run-new": ("/catenary.api.v1.Run/New", run_pb2.NewRunRequest, "workflow"),
    "execution": ("/catenary.api.v1.Execution/Get", execution_pb2.GetExecutionRequest, "hash"),
    "trace": ("/catenary.api.v1.Execution/Trace", execution_pb2.TraceRequest, "hash"),
    "value": ("/catenary.api.v1.Value/Get", value_pb2.GetValueRequest, "cid"),
    "operation": ("/catenary.api.v1.Operation/Get", operation_pb2.GetOperationRequest, "version_id"),
}


@cases("unknown_id")
def test_grpc_answers_unknown_ids_with_not_found(world: World, case: dict[str, Any]) -> None:
    method, message, name = UNKNOWN_RPC[case["target"]]
    request = message(**{name: CID.parse(content(case).decode()).cid_bytes}).SerializeToString()
    check = unchanged(world)
    assert_status(world.rpc(method, request, stream=method.endswith("/Trace")), case)
    check()


# -- the CLI: real processes, the representative cases -----------------------------------------------
def cli_args(world: World, case: dict[str, Any], tmp: Path) -> list[str]:
    kind = case["kind"]
    if kind == "manifest":
        path = tmp / Path(case["file"]).name.removesuffix(".gz")
        path.write_bytes(content(case))
        return ["workflow", "create", str(path)]
    if kind == "value_json":
        return ["next", str(world.run_str), "--input", content(case).decode()]
    if kind == "cid_text":
        return ["exec", "get", content(case).decode()]
    if kind == "page_token":
        return ["exec", "list", "--page-token", token_of(world, case)[0]]
    if kind == "unknown_id":
        cid = content(case).decode()
        return {"workflow": ["workflow", "show", cid], "execution": ["exec", "get", cid]}[case["target"]]
    raise AssertionError(kind)


CLI_CASES = [c for c in CASES if c.get("cli")]


def test_cli_answers_each_representative_case_with_one_line_and_exit_2(world: World, tmp_path: Path) -> None:
    assert len(CLI_CASES) >= 10
    env = {k: v for k, v in os.environ.items() if k not in ("CATENARY_HOME", "CATENARY_NODE")}
    commands = [
        [
            sys.executable,
            "-m",
            "catenary",
            "--data-dir",
            str(world.node.data_dir),
            "--max-value-size",
            str(MAX_VALUE_SIZE),
            *cli_args(world, c, tmp_path),
            "--json",
        ]
        for c in CLI_CASES
    ]
    check = unchanged(world)
    # Processes are slow to start: run the few representative cases side by side.
    with ThreadPoolExecutor(max_workers=3) as pool:
        procs = list(
            pool.map(
                lambda cmd: subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120),
                commands,
            )
        )
    check()
    for case, proc in zip(CLI_CASES, procs):
        where = f"{case['name']}: {proc.stderr!r}"
        assert proc.returncode == 2, where
        assert proc.stdout == "", where
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), where
        assert case.get("cli_error", case["error"]) in lines[0], where
        if case["kind"] == "manifest":
            assert f"error: {case['path']}" in lines[0], where
