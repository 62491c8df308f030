"""`catenary serve --http`: the explorer alone or beside gRPC, in a real process."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from catenary.client import Client
from tests.helpers import allow_anonymous


def serve(data: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "catenary", "--data-dir", str(data), "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, proc.stderr.read() if proc.stderr else ""


def test_http_alone_serves_the_explorer_and_no_grpc(tmp_path: Path) -> None:
    proc = serve(tmp_path / "data", "--http", "127.0.0.1:0")
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("explorer on http://127.0.0.1:"), proc.stderr.read()
        url = line.split()[-1]
        assert httpx.get(f"{url}/api/executions").json() == {"executions": [], "next_page_token": None}
        assert "Recent runs" in httpx.get(url + "/").text
    finally:
        stop(proc)
    assert proc.stdout.read() == ""  # no "listening on" line: gRPC was not started


def test_http_beside_grpc(tmp_path: Path) -> None:
    proc = serve(allow_anonymous(tmp_path / "data"), "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0")
    try:
        grpc_line = proc.stdout.readline().strip()
        http_line = proc.stdout.readline().strip()
        assert grpc_line.startswith("listening on ") and http_line.startswith("explorer on ")
        client = Client(grpc_line.split()[-1])
        try:
            assert client.operations.list()  # the same node answers on both sides
        finally:
            client.close()
        operations = httpx.get(f"{http_line.split()[-1]}/api/operations").json()["operations"]
        assert {o["name"] for o in operations} >= {"std/exif", "std/hash"}
    finally:
        stop(proc)


@pytest.mark.parametrize(
    "address,fragment",
    [
        ("localhost", "expected HOST:PORT"),
        ("127.0.0.1:http", "expected HOST:PORT"),
        ("256.1.1.1:80", "cannot listen"),
    ],
)
def test_bad_http_address_is_exit_2(tmp_path: Path, address: str, fragment: str) -> None:
    proc = serve(tmp_path / "data", "--http", address, "--insecure")  # past the exposure check
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and fragment in err and out == ""
