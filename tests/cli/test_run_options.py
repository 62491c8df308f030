"""`run --parallel`, `run --retries/--step-timeout/--options` and `runs retry` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import manifest

ROOT = Path(__file__).resolve().parents[2]


def cli(data: Path, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CATENARY_HOME": str(data), "PYTHONPATH": str(ROOT)}
    ops = ["--ops", "tests.ops_fixture", "--ops", "tests.engine.retry_ops"]
    proc = subprocess.run(
        [sys.executable, "-m", "catenary", *ops, *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == code, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def create(data: Path, tmp_path: Path, document: dict) -> str:
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(document).replace("COUNTER", str(tmp_path / "counter")))
    return str(json.loads(cli(data, "workflow", "create", str(path), "--json").stdout)["id"])


def test_parallel_retries_and_runs_retry(tmp_path: Path) -> None:
    data = tmp_path / "data"
    wf = create(
        data,
        tmp_path,
        manifest(
            ([-1], ["test/inc"]),
            ([0], [("retry/flaky", {"counter": "COUNTER", "fails": "2"})]),
            ([0], ["test/inc"]),
            ([1, 2], ["test/add"]),
            name="cli-retry",
        ),
    )
    # Without retries the flaky step fails the run (exit 1), which `runs retry` resumes.
    failed = json.loads(cli(data, "run", wf, "-i", "0=1", "--parallel", "3", "--json", code=1).stdout)
    assert failed["error"].startswith("segment 1 step 0 (retry/flaky): ConnectionError: flaky call 1")
    (run,) = json.loads(cli(data, "runs", "list", "--json").stdout)["runs"]
    assert run["status"] == "failed"
    retried = json.loads(cli(data, "runs", "retry", run["run"], "--retries", "1", "--json").stdout)
    assert retried["done"] and retried["result"] == 3 + 3 and retried["run"] != run["run"]
    history = json.loads(
        cli(data, "exec", "list", "--run", retried["run"], "--segment", "1", "--json").stdout
    )
    (flaky,) = history["executions"]
    attempts = json.loads(cli(data, "exec", "history", flaky["hash"], "--json").stdout)["attempts"]
    assert [a["error"] for a in attempts] == ["ConnectionError: flaky call 2", None]
    # A completed run is not retried; a bad --options file is refused naming where.
    cli(data, "runs", "retry", retried["run"], code=2)
    bad = tmp_path / "options.json"
    bad.write_text('{"steps": {"retry/flaky": {"attempts": "many"}}}')
    refused = cli(data, "run", wf, "-i", "0=1", "--options", str(bad), code=2)
    assert "steps.retry/flaky" in refused.stderr


def test_a_step_timeout_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    wf = create(data, tmp_path, manifest(([-1], ["retry/sleep"]), name="cli-timeout"))
    failed = cli(data, "run", wf, "-i", "0=200", "--step-timeout", "0.05", "--json", code=1)
    assert "OperationTimeout" in json.loads(failed.stdout)["error"]
