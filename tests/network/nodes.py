"""Real `catenary serve` processes, each with its own data dir and SQLite file, on loopback ports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catenary.cid import CID
from catenary.client import Client
from catenary.trust.identity import Identity
from tests.helpers import allow_anonymous, manifest, query
from tests.pg import free_port

ROOT = Path(__file__).resolve().parents[2]


def env() -> dict[str, str]:
    full = {k: v for k, v in os.environ.items() if k not in ("CATENARY_NODE", "CATENARY_HOME", "CATENARY_DB")}
    full["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return full


def cli(data_dir: Path, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "catenary", "--data-dir", str(data_dir), "--ops", "tests.ops_fixture", *args],
        capture_output=True,
        text=True,
        env=env(),
        timeout=120,
    )
    assert proc.returncode == code, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@dataclass
class Served:
    """One node: its data dir, fixed ports (the same after a restart) and its process."""

    data_dir: Path
    grpc_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[str] | None = None
    extra: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        allow_anonymous(self.data_dir)  # test clients call without keys; peers sign anyway
        self.id = Identity.load_or_create(self.data_dir).id

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> Served:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "catenary",
                "--data-dir",
                str(self.data_dir),
                "--ops",
                "tests.ops_fixture",
                *self.extra,
                "serve",
                "--listen",
                self.address,
                "--http",
                f"127.0.0.1:{self.http_port}",
            ],
            stdout=subprocess.PIPE,
            stderr=open(self.data_dir / "serve.log", "a"),  # noqa: SIM115 - the process holds it
            env=env(),
            text=True,
        )
        assert self.proc.stdout is not None
        for _ in range(2):
            line = self.proc.stdout.readline()
            if not line.startswith(("listening on", "explorer on")):
                self.kill()
                raise AssertionError(f"serve did not start: {self.log()}")
        return self

    def follow(self, other: Served) -> None:
        cli(self.data_dir, "peer", "add", other.address, "--id", other.id, "--gateway", other.gateway)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.proc = None

    def log(self) -> str:
        path = self.data_dir / "serve.log"
        return path.read_text() if path.exists() else ""

    def peers(self) -> dict[str, Any]:
        listed = json.loads(cli(self.data_dir, "peer", "list", "--json").stdout)["peers"]
        return {p["id"]: p for p in listed}


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


CHAIN = manifest(([-1], ["test/inc", "test/inc"]), ([0, -1], ["test/add"]), ([1], ["test/inc"]))


def run_on(node: Served, inputs: tuple[int, int] = (1, 2)) -> dict[str, Any]:
    """A workflow run on ``node``, over gRPC (the node is serving)."""
    with Client(node.address) as client:
        wf = client.workflows.create(json.dumps(CHAIN))
        result = client.runs.run(wf.id, {0: [inputs[0]], 1: [inputs[1]]})
        executions = [e for e in client.executions.iterate() if e.run == result.state.id]
    return {"final": str(result.final), "executions": {str(e.hash): e for e in executions}}


def held(node: Served) -> set[str]:
    """Completed executions in the node's own SQLite file."""
    rows = query(node.data_dir / "catenary.db", "SELECT hash FROM executions WHERE status = 'completed'")
    return {str(CID(bytes(r[0]))) for r in rows}
