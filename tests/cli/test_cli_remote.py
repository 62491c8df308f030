"""Every CLI command also works against a served node (--node), with the same output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import allow_anonymous

from .test_cli import DEMO, HERE, Cli


@pytest.fixture
def served(tmp_path: Path):
    data = allow_anonymous(tmp_path / "data")  # the CLI calls here pass no --key
    env = {
        **os.environ,
        "CATENARY_HOME": str(data),
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "catenary", "--ops", "cli_ops", "serve", "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    line = proc.stdout.readline()
    assert line.startswith("listening on "), proc.stderr.read()
    yield data, line.split()[-1]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0


def test_same_output_local_and_remote(served, tmp_path: Path) -> None:
    data, address = served
    local = Cli(data)
    remote = Cli(tmp_path / "unused")

    def rjson(*args: str, code: int = 0) -> dict:
        return remote.json("--node", address, *args, code=code)

    photo = tmp_path / "p.jpg"
    subprocess.run([sys.executable, str(DEMO / "make_photo.py"), str(photo)], check=True)
    wf = rjson("workflow", "create", str(DEMO / "manifest.json"))["id"]
    result = rjson("run", wf, "-i", f"0=@{photo}", "-i", "2=text:CX1-004217", "-i", "4=text:L35-99812")
    assert result["result"] == "L35-99812"
    for args in (
        ["exec", "list"],
        ["exec", "get", result["final"]],
        ["exec", "trace", result["final"]],
        ["workflow", "show", wf],
        ["workflow", "list"],
        ["runs", "get", result["run"]],
        ["op", "list"],
    ):
        here = local.json(*args)
        assert rjson(*args) == here, args
    out = rjson("exec", "get", result["final"])["output"]
    assert remote("--node", address, "value", "get", out).stdout == local("value", "get", out).stdout
    missing = remote(
        "--node",
        address,
        "exec",
        "get",
        "bafy2bzaceajzjwkmpnmyb57kjdebduo45ythudsedwuowdja26dflzd6teli6",
        code=2,
    )
    assert "unknown execution" in missing.stderr
    assert not (tmp_path / "unused").exists()  # --node never touches a local data dir
    assert HERE.exists()


def test_failure_document_is_whole_over_the_node(served, tmp_path: Path) -> None:
    """The failed execution travels with the error, so --node prints what a local run prints."""
    _, address = served
    remote = Cli(tmp_path / "unused")
    manifest = tmp_path / "fail.json"
    manifest.write_text(
        json.dumps(
            {
                "data": {
                    "name": "fails",
                    "creators": [],
                    "description": "",
                    "groups": [],
                    "segments": [
                        {
                            "inputs": [-1],
                            "sequence": [
                                {"op": "test/shout", "config": {}},
                                {"op": "test/explode", "config": {}},
                            ],
                        }
                    ],
                }
            }
        )
    )
    wf = remote.json("--node", address, "workflow", "create", str(manifest))["id"]
    proc = remote("--node", address, "run", wf, "--input", "0=text:hi", "--json", code=1)
    doc = json.loads(proc.stdout)
    failed = remote.json("--node", address, "exec", "list", "--status", "failed")["executions"]
    assert len(failed) == 1 and doc["final"] == failed[0]["hash"] and doc["run"] == failed[0]["run"]
    assert doc["segment"] == 0 and doc["done"] is False and "refusing 'HI'" in doc["error"]
