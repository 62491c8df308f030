"""A real node served on loopback, a Python client, and buf curl as an independent client."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest

from catenary.api import Server
from catenary.client import Client
from catenary.operations import operation
from catenary.sdk import Node
from tests.helpers import allow_anonymous

ROOT = Path(__file__).resolve().parents[2]


@operation("test/inc", inputs=["int"], output="int")
def inc(x: int) -> int:
    """x + 1"""
    return x + 1


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    n = Node(tmp_path / "data", max_value_size=1024 * 1024)
    n.registry.add(inc)
    n.operations.publish()
    yield n
    n.close()


@pytest.fixture
def server(node: Node) -> Iterator[Server]:
    allow_anonymous(node.data_dir)  # these tests call without keys
    s = Server(node, "127.0.0.1:0", max_workers=160).start()
    yield s
    s.stop(grace=1)


@pytest.fixture
def client(server: Server) -> Iterator[Client]:
    c = Client(server.address, max_value_size=1024 * 1024)
    yield c
    c.close()


def buf_path() -> str:
    found = os.environ.get("CATENARY_BUF") or shutil.which("buf")
    local = ROOT / ".tools" / "node_modules" / ".bin" / "buf"
    if not found and local.exists():
        found = str(local)
    if not found:
        pytest.fail("buf is not installed: `make test` installs it with "
                    "`npm install --prefix .tools @bufbuild/buf`; or set CATENARY_BUF to its path")
    return found


class Buf:
    """`buf curl` over gRPC with reflection: no .proto files, no catenary code."""

    def __init__(self, address: str, key: Any = None, audience: str | None = None,
                 scheme: str = "http", extra: tuple[str, ...] = ()) -> None:
        """With ``key`` (an Identity), each call carries a fresh token for node ``audience``."""
        self.address = address
        self.exe = buf_path()
        self.key, self.audience, self.scheme, self.extra = key, audience, scheme, extra

    def __call__(self, method: str, body: dict[str, Any] | None = None, ok: bool = True
                 ) -> subprocess.CompletedProcess[str]:
        args = [self.exe, "curl", "--protocol", "grpc", *self.extra]
        if self.scheme == "http":
            args.append("--http2-prior-knowledge")
        if self.key is not None:
            from catenary.trust.token import issue

            token = issue(self.key, self.audience or "", f"/{method}")
            args += ["-H", f"authorization: Bearer {token}"]
        if body is not None:
            args += ["-d", json.dumps(body)]
        proc = subprocess.run([*args, f"{self.scheme}://{self.address}/{method}"], capture_output=True,
                              text=True, timeout=60)
        if ok:
            assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    def json(self, method: str, body: dict[str, Any] | None = None) -> Any:
        text = self(method, body).stdout.strip()
        return json.loads(text) if text else {}


@pytest.fixture
def buf(server: Server) -> Buf:
    return Buf(server.address)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def chain_manifest(steps: int = 1, segments: int = 1) -> dict[str, Any]:
    segs = [{"inputs": [-1 if i == 0 else i - 1],
             "sequence": [{"op": "test/inc", "config": {}}] * steps} for i in range(segments)]
    return {"data": {"name": "chain", "creators": [], "description": "", "groups": [],
                     "segments": segs}}
