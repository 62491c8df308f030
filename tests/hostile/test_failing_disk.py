"""A full disk, a read-only data dir and a low file-size limit: one clear error (exit 1, gRPC
UNAVAILABLE / FAILED_PRECONDITION), the DB unchanged, ``doctor`` clean, and reading commands
still working (issue 14: raw sqlite3 tracebacks and gRPC UNKNOWN)."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from catenary import Node
from catenary.api import Server
from catenary.api.errors import code_for
from catenary.cid import CID
from catenary.client import Client
from catenary.errors import StoreReadOnlyError, StoreUnavailableError
from tests.helpers import allow_anonymous, manifest, snapshot
from tests.hostile import disks

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = manifest(([-1], ["std/utf8-encode"]), name="disk")
needs_mount = pytest.mark.skipif(not disks.can_mount(), reason="mounting a tmpfs needs root on Linux")


def cli(data_dir: Path, *args: str, fsize: int | None = None) -> subprocess.CompletedProcess[str]:
    def limit() -> None:  # in the child: writes past ``fsize`` fail with EFBIG instead of killing it
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run(
        [sys.executable, "-m", "catenary", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"},
        preexec_fn=limit if fsize is not None else None,
    )


def prepared(data_dir: Path) -> tuple[str, str]:
    """A data dir with one finished run and one not started: (workflow id, that run's id).
    Stepping that run is one transaction, so a failed step must leave the DB as it was."""
    node = Node(data_dir)
    wf = node.workflows.create(WORKFLOW)
    node.runs.run(wf.id, {0: ["first"]})
    waiting = node.runs.new(wf.id)
    node.close()
    return str(wf.id), str(waiting.id)


def one_clean_line(proc: subprocess.CompletedProcess[str], cause: str) -> None:
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "sqlite3" not in proc.stderr.split(":")[0]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot ") and cause in lines[0], lines


@pytest.fixture
def mount(tmp_path: Path) -> Iterator[Path]:
    with disks.tmpfs(tmp_path / "mnt", 4096) as where:
        yield where


@needs_mount
def test_full_disk_is_one_error_and_changes_nothing(mount: Path) -> None:
    data = mount / "d"
    wf, run = prepared(data)
    before = snapshot(data / "catenary.db")
    with disks.full(mount):
        proc = cli(data, "next", run, "--input", "text:" + "b" * 100_000)
        one_clean_line(proc, "disk full")
        assert snapshot(data / "catenary.db") == before
        assert cli(data, "exec", "list").returncode == 0  # reading still works
    assert cli(data, "doctor").returncode == 0
    assert cli(data, "run", wf, "--input", "0=text:again").returncode == 0  # and writing, once freed


@needs_mount
def test_read_only_data_dir_reads_and_refuses_writes_cleanly(mount: Path) -> None:
    data = mount / "d"
    wf, run = prepared(data)
    before = snapshot(data / "catenary.db")
    with disks.read_only(mount):
        listed = cli(data, "exec", "list", "--json")
        assert listed.returncode == 0 and listed.stdout.count('"completed"') == 1
        assert cli(data, "doctor").returncode == 0
        one_clean_line(cli(data, "next", run, "--input", "text:x"), "read-only")
        assert snapshot(data / "catenary.db") == before


def test_file_size_limit_is_one_error_and_changes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "d"
    _, run = prepared(data)
    before = snapshot(data / "catenary.db")
    proc = cli(
        data, "next", run, "--input", "text:" + "c" * 120_000, fsize=48 * 1024
    )  # above the 32 KiB -shm file
    one_clean_line(proc, "")
    assert "file size limit" in proc.stderr or "disk full" in proc.stderr or "I/O error" in proc.stderr
    assert snapshot(data / "catenary.db") == before
    assert cli(data, "doctor").returncode == 0


@contextlib.contextmanager
def served(data: Path) -> Iterator[Client]:
    node = Node(data)
    server = Server(node, "127.0.0.1:0").start()
    client = Client(server.address)
    try:
        yield client
    finally:
        client.close()
        server.stop(grace=1)
        node.close()


def refused(client: Client, wf: str, expected: type[Exception], code: grpc.StatusCode) -> None:
    assert client.executions.list()  # reads are answered
    with pytest.raises(expected) as raised:
        client.runs.run(CID.parse(wf), {0: ["d" * 100_000]})
    assert code_for(raised.value) == code  # type: ignore[arg-type]
    assert len(str(raised.value)) < 1000


@needs_mount
def test_served_node_answers_unavailable_and_failed_precondition(mount: Path) -> None:
    data = mount / "d"
    wf, _ = prepared(data)
    allow_anonymous(data)
    with served(data) as client, disks.full(mount):  # the disk fills under a running server
        refused(client, wf, StoreUnavailableError, grpc.StatusCode.UNAVAILABLE)
    with disks.read_only(mount), served(data) as client:  # a server started on a read-only dir
        refused(client, wf, StoreReadOnlyError, grpc.StatusCode.FAILED_PRECONDITION)
