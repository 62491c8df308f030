"""Remote executors as real processes: `catenary serve`, `catenary executor`, and a Node.js
executor that knows nothing of catenary but the .proto files.

- An executor killed (SIGKILL) mid-execution: its lease lapses, another executor completes the
  execution, exactly one record, and the history shows the expiry.
- An executor outlives a restart of its node: it resubscribes after the last seq it saw.
- The Node.js executor (examples/executors/shout-executor.js) completes a remote execution.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catenary.api import Server
from catenary.client import Client
from catenary.model import Status
from catenary.model.filter import ExecutionFilter
from catenary.operations.wasm.abi import parse_manifest
from catenary.sdk import Node
from catenary.trust.identity import Identity
from tests.executors.conftest import REMOTE_OPS, ROOT
from tests.helpers import allow_anonymous, check_hashes, manifest, open_policy

TOOLS = ROOT / ".tools" / "node_modules"
JS_EXECUTOR = ROOT / "examples" / "executors" / "shout-executor.js"


def env(**extra: str) -> dict[str, str]:
    base = {
        k: v for k, v in os.environ.items() if k not in ("CATENARY_NODE", "CATENARY_DB", "CATENARY_TEST_HOLD")
    }
    return {**base, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), **extra}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Starts catenary processes and ends those still running at teardown."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.started: list[subprocess.Popen[str]] = []
        self.ids: dict[str, str] = {}  # executor name -> its did:key (the key in its own directory)

    def catenary(self, *args: str, **extra_env: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "catenary", "--data-dir", str(self.data_dir), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env(**extra_env),
        )
        self.started.append(proc)
        return proc

    def serve(self, port: int) -> tuple[subprocess.Popen[str], str]:
        allow_anonymous(self.data_dir)  # the executors here call without keys
        proc = self.catenary(
            "--ops",
            REMOTE_OPS,
            "--ops",
            "tests.ops_fixture",
            "--remote-wait",
            "60",
            "serve",
            "--listen",
            f"127.0.0.1:{port}",
        )
        line = proc.stdout.readline()
        if not line.startswith("listening on "):
            proc.kill()
            pytest.fail(f"catenary serve did not start: {proc.stderr.read()}")
        return proc, line.split()[-1]

    def executor(self, address: str, name: str, lease: float, **extra_env: str) -> subprocess.Popen[str]:
        home = self.data_dir.parent / f"executor-{name}"
        home.mkdir(exist_ok=True)
        self.ids[name] = Identity.load_or_create_file(home / "executor_key.pem").id  # it uses this key
        return self.catenary(
            "executor",
            "--node",
            address,
            "--operations",
            REMOTE_OPS,
            "--dir",
            str(home),
            "--lease",
            str(lease),
            "--json",
            **extra_env,
        )

    def stop(self, proc: subprocess.Popen[str]) -> tuple[str, str]:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        return out, err

    def close(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=30)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(tmp_path / "node")
    yield procs
    procs.close()


def events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def wait_for(predicate, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def step_in_background(client: Client, run, inputs: list[Any]) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def step() -> None:
        try:
            outcome.append(client.runs.next(run, inputs))
        except Exception as exc:  # handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=step)
    thread.start()
    return thread, outcome


def test_an_executor_killed_mid_execution_loses_nothing(processes: Processes, tmp_path: Path) -> None:
    serve, address = processes.serve(free_port())
    client = Client(address)
    wf = client.workflows.create(json.dumps(manifest(([-1], ["test/remote-slow", "test/inc"]))))
    run = client.runs.new(wf.id)
    stepping, outcome = step_in_background(client, run.id, [3])
    hold = tmp_path / "hold"
    hold.touch()  # the first executor's call of test/remote-slow never returns
    doomed = processes.executor(address, "doomed", 2.0, CATENARY_TEST_HOLD=str(hold))
    claimed = wait_for(
        lambda: [
            e
            for e in client.executions.list(ExecutionFilter(run=run.id)).executions
            if e.status is Status.IN_PROGRESS
        ],
        "the first executor's claim",
    )
    [execution] = claimed
    assert execution.executor == processes.ids["doomed"]
    doomed.send_signal(signal.SIGKILL)
    doomed_out, _ = doomed.communicate(timeout=30)
    survivor = processes.executor(address, "survivor", 2.0)  # no hold: it completes
    stepping.join(60)
    assert outcome and not isinstance(outcome[0], Exception), outcome
    assert outcome[0].done and outcome[0].result == 31
    survivor_out, _ = processes.stop(survivor)
    assert [(e["event"], e["execution"]) for e in events(survivor_out)] == [
        ("completed", str(execution.hash))
    ]
    assert events(doomed_out) == []
    # Exactly one record of it, completed by the survivor; the segment committed after it.
    records = list(client.executions.iterate(ExecutionFilter(run=run.id)))
    assert sorted((e.step, e.status.value) for e in records) == [(0, "completed"), (1, "completed")]
    done = client.executions.get(execution.hash)
    assert (done.executor, client.values.get(done.output)) == (processes.ids["survivor"], 30)
    for e in records:
        check_hashes(e)
    # The history (read from the node's data dir by the CLI) shows the claim, expiry and re-claim.
    history = subprocess.run(
        [
            sys.executable,
            "-m",
            "catenary",
            "--data-dir",
            str(processes.data_dir),
            "exec",
            "history",
            str(execution.hash),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env(),
        timeout=60,
    )
    assert history.returncode == 0, history.stderr
    entries = [(h["change"], h["executor"]) for h in json.loads(history.stdout)["history"]]
    # (On a starved machine the doomed executor may have let its lease lapse and re-claimed it
    # before it was killed: more doomed entries, the same ending.)
    doomed_id, survivor_id = processes.ids["doomed"], processes.ids["survivor"]
    assert entries[0] == ("claimed", doomed_id)
    assert entries[-2:] == [("lease_expired", doomed_id), ("claimed", survivor_id)]
    assert {who for _, who in entries[:-1]} == {doomed_id}
    client.close()
    processes.stop(serve)


def test_an_executor_outlives_a_restart_of_its_node(processes: Processes) -> None:
    port = free_port()
    serve, address = processes.serve(port)
    worker = processes.executor(address, "steady", 5.0)
    client = Client(address)
    wf = client.workflows.create(json.dumps(manifest(([-1], ["test/remote-shout"]))))
    assert client.runs.run(wf.id, {0: ["before"]})[1].result == "BEFORE!"
    client.close()
    processes.stop(serve)
    serve, address = processes.serve(port)  # same data dir, same address
    client = Client(address)
    assert client.runs.run(wf.id, {0: ["after"]})[1].result == "AFTER!"
    client.close()
    out, err = processes.stop(worker)
    assert [e["event"] for e in events(out)] == ["completed", "completed"]
    assert "resuming after seq" in err
    processes.stop(serve)


@pytest.fixture
def node_js() -> str:
    found = shutil.which("node")
    missing = [p for p in ("@grpc/grpc-js", "@grpc/proto-loader") if not (TOOLS / p).is_dir()]
    if not found or missing:
        pytest.fail(
            f"the Node.js executor needs node and {', '.join(missing) or 'its packages'}: "
            f"`make test` installs them with `npm install --prefix .tools @grpc/grpc-js "
            f"@grpc/proto-loader`",
            pytrace=False,
        )
    return found


def test_a_node_js_executor_completes_a_remote_execution(node_js: str, tmp_path: Path) -> None:
    node = Node(tmp_path / "data", remote_wait=60)
    server = Server(node, "127.0.0.1:0", policy=open_policy(node)).start()
    try:
        spec = parse_manifest(
            json.loads((ROOT / "examples" / "executors" / "shout.json").read_text()), "shout.json"
        )
        info = node.operations.register_remote(spec)
        wf = node.workflows.create(
            json.dumps(
                {
                    "data": {
                        "name": "js",
                        "creators": [],
                        "description": "",
                        "groups": [],
                        "segments": [
                            {
                                "inputs": [-1],
                                "sequence": [{"version_id": str(info.version_id), "config": {}}],
                            },
                            {"inputs": [0], "sequence": [{"op": "std/utf8-encode", "config": {}}]},
                        ],
                    }
                }
            )
        )
        js = subprocess.Popen(
            [
                node_js,
                str(JS_EXECUTOR),
                "--node",
                server.address,
                "--dir",
                str(tmp_path / "js-executor"),
                "--lease",
                "10",
                "--count",
                "1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            state, result = node.runs.run(wf.id, {0: ["héllo"]})
            out, err = js.communicate(timeout=60)
        finally:
            if js.poll() is None:
                js.kill()
        assert js.returncode == 0, err
        assert result.result == "HÉLLO!".encode()
        remote = node.executions.get(state.outputs[0].producer)
        js_id = Identity.load_or_create_file(tmp_path / "js-executor" / "executor_key.pem").id
        assert (remote.status, remote.executor) == (Status.COMPLETED, js_id)  # its own key's did
        [attested] = node.attestations.list(remote.hash)
        assert (attested.signer, attested.valid) == (js_id, True)
        assert node.values.get(remote.output) == "HÉLLO!"
        [line] = events(out)
        assert line["event"] == "completed"
        assert line["execution"] == base64.b64encode(remote.hash.cid_bytes).decode()
    finally:
        server.stop(grace=1)
        node.close()
