"""PostgreSQL storage failures are the documented store errors (issue 14), as SQLite's are: a
read-only database, a server that goes away, a full disk. The CLI prints one ``error:`` line and
exits 1; the gRPC server answers ``FAILED_PRECONDITION`` or ``UNAVAILABLE``, never ``UNKNOWN``;
nothing stored changes, and reads still work where the database can still be read."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import psycopg
import pytest

from catenary import Node
from catenary.api import Server
from catenary.api.errors import code_for
from catenary.cid import CID
from catenary.client import Client
from catenary.errors import StoreError, StoreReadOnlyError, StoreUnavailableError
from catenary.store.failures import classify
from tests.helpers import allow_anonymous, manifest, snapshot
from tests.pg import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = manifest(([-1], ["std/utf8-encode"]), name="pg")
errors = psycopg.errors


@pytest.mark.parametrize(
    "exc,expected,cause",
    [
        (errors.DiskFull("could not extend file"), StoreUnavailableError, "disk full"),
        (errors.OutOfMemory("out of memory"), StoreUnavailableError, "out of memory"),
        (errors.ConfigurationLimitExceeded("x"), StoreUnavailableError, "out of resources"),
        (errors.ReadOnlySqlTransaction("cannot execute INSERT"), StoreReadOnlyError, "read-only"),
        (errors.InsufficientPrivilege("permission denied for table"), StoreReadOnlyError, "permission"),
        (errors.AdminShutdown("terminating connection"), StoreUnavailableError, "shutting down"),
        (errors.CannotConnectNow("the database system is starting up"), StoreUnavailableError, "shutting"),
        (errors.ConnectionFailure("x"), StoreUnavailableError, "connection was lost"),
        (errors.LockNotAvailable("x"), StoreUnavailableError, "lock"),
        (errors.QueryCanceled("statement timeout"), StoreUnavailableError, "statement timeout"),
        (errors.IoError("could not read block"), StoreUnavailableError, "I/O error"),
        (psycopg.OperationalError("server closed the connection"), StoreUnavailableError, "lost"),
        (psycopg.InterfaceError("the connection is closed"), StoreUnavailableError, "lost"),
    ],
    ids=lambda v: getattr(v, "sqlstate", None) or type(v).__name__ if isinstance(v, Exception) else "",
)
def test_each_sqlstate_is_its_store_error(exc: Exception, expected: type[StoreError], cause: str) -> None:
    failure = classify(exc, "the execution DB postgresql://h/db", "use")
    assert type(failure) is expected and cause in str(failure)
    assert str(failure).startswith("cannot use the execution DB postgresql://h/db: ")
    codes = {StoreReadOnlyError: grpc.StatusCode.FAILED_PRECONDITION}
    assert code_for(failure) == codes.get(expected, grpc.StatusCode.UNAVAILABLE)


@pytest.mark.parametrize(
    "exc",
    [errors.UniqueViolation("duplicate key"), errors.UndefinedTable("x"), psycopg.ProgrammingError("x")],
)
def test_other_database_errors_are_not_storage_failures(exc: Exception) -> None:
    assert classify(exc, "the execution DB", "use") is None


def cli(db: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "catenary", "--data-dir", str(data_dir), "--db", db, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"},
    )


def one_clean_line(proc: subprocess.CompletedProcess[str], cause: str) -> None:
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "psycopg" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot ") and cause in lines[0], lines


def prepared(db: str, data_dir: Path) -> tuple[str, str]:
    """One finished run and one not started: (workflow id, that run's id)."""
    node = Node(data_dir, db=db)
    wf = node.workflows.create(WORKFLOW)
    node.runs.run(wf.id, {0: ["first"]})
    waiting = node.runs.new(wf.id)
    node.close()
    return str(wf.id), str(waiting.id)


@contextlib.contextmanager
def served(db: str, data_dir: Path) -> Iterator[Client]:
    node = Node(allow_anonymous(data_dir), db=db)
    server = Server(node, "127.0.0.1:0").start()
    client = Client(server.address)
    try:
        yield client
    finally:
        client.close()
        server.stop(grace=1)
        node.close()


def refused_run(client: Client, wf: str, expected: type[StoreError]) -> None:
    with pytest.raises(expected) as raised:
        client.runs.run(CID.parse(wf), {0: ["d" * 1000]})
    assert code_for(raised.value) in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.FAILED_PRECONDITION)
    assert len(str(raised.value)) < 1000


def test_read_only_database_reads_and_refuses_writes(pg_database: str, tmp_path: Path) -> None:
    wf, run = prepared(pg_database, tmp_path / "d")
    name = pg_database.rsplit("/", 1)[1]
    admin = pg_database.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    before = snapshot(pg_database)
    listed = cli(pg_database, tmp_path / "d", "exec", "list", "--json")
    assert listed.returncode == 0 and listed.stdout.count('"completed"') == 1, listed.stderr
    stepped = cli(pg_database, tmp_path / "d", "next", run, "--input", "text:x")
    one_clean_line(stepped, "read-only transaction")
    with served(pg_database, tmp_path / "d") as client:
        assert client.executions.list()  # reads are answered
        refused_run(client, wf, StoreReadOnlyError)
    assert snapshot(pg_database) == before


def test_server_gone_is_unavailable(tmp_path: Path) -> None:
    server = PostgresServer.start()
    with contextlib.ExitStack() as running:
        running.callback(server.stop)
        db = server.create_database() + "?connect_timeout=2"
        wf, run = prepared(db, tmp_path / "d")
        with served(db, tmp_path / "d") as client:
            assert client.executions.list()
            running.pop_all().close()  # fast shutdown: every session is ended (57P01), then gone
            refused_run(client, wf, StoreUnavailableError)
            with pytest.raises(StoreUnavailableError):
                client.executions.list()
    one_clean_line(cli(db, tmp_path / "d", "next", run, "--input", "text:x"), "cannot connect")
