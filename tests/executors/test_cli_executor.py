"""The executor commands as a user runs them: `op register-remote`, `exec history`, `executor`,
and the global --executor / --remote-wait; every bad input is exit 2 and changes nothing."""

from __future__ import annotations

import json
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from catenary.model import OperationManifest, OperationVersion
from catenary.trust.identity import Identity
from tests.executors.conftest import ROOT
from tests.executors.test_processes import env, free_port

SHOUT = ROOT / "examples" / "executors" / "shout.json"


def catenary(
    data_dir: Path, *args: str, code: int = 0, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "catenary", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        env=env(),
        input=stdin,
        timeout=120,
    )
    assert proc.returncode == code, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def snapshot(data_dir: Path) -> dict[str, list]:
    db = sqlite3.connect(data_dir / "catenary.db")
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    dump = {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
    db.close()
    return dump


def test_register_remote_prints_the_version_id_and_is_idempotent(tmp_path: Path) -> None:
    data = json.loads(SHOUT.read_text())
    expected = OperationVersion(OperationManifest.from_data(data).id, {"kind": "remote"}).id
    first = catenary(tmp_path, "op", "register-remote", str(SHOUT))
    assert first.stdout.split()[0] == str(expected) and "example/shout (remote)" in first.stdout
    doc = json.loads(catenary(tmp_path, "op", "register-remote", str(SHOUT), "--json").stdout)
    assert doc["version_id"] == str(expected) and doc["implementation"] == {"kind": "remote"}
    assert doc["available"] is False
    listed = json.loads(catenary(tmp_path, "op", "list", "--json").stdout)["operations"]
    assert [o["name"] for o in listed if o["version_id"] == str(expected)] == ["example/shout"]


@pytest.mark.parametrize(
    "document,message",
    [
        ("{not json", "shout"),
        (
            json.dumps({"name": "x", "inputs": ["string"], "output": "string"}),
            "missing key(s): config, description, groups",
        ),
        (json.dumps({**json.loads(SHOUT.read_text()), "inputs": "string"}), "inputs: expected a list"),
        (json.dumps({**json.loads(SHOUT.read_text()), "output": "strin"}), "output"),
        (
            json.dumps(
                {
                    "id": "bafy2bzaceajzjwkmpnmyb57kjdebduo45ythudsedwuowdja26dflzd6teli6",
                    "data": json.loads(SHOUT.read_text()),
                }
            ),
            "id: bafy2bzaceajzjwkmpnmyb57kjdebduo45ythudsedwuowdja26dflzd6teli6 does not match",
        ),
    ],
)
def test_register_remote_refuses_a_bad_manifest(tmp_path: Path, document: str, message: str) -> None:
    catenary(tmp_path, "op", "list")  # creates the data dir
    before = snapshot(tmp_path)
    path = tmp_path / "shout.json"
    path.write_text(document)
    proc = catenary(tmp_path, "op", "register-remote", str(path), code=2)
    assert message in proc.stderr and proc.stdout == ""
    assert snapshot(tmp_path) == before


def test_local_only_commands_refuse_node_and_bad_hashes(tmp_path: Path) -> None:
    for args in (
        ["op", "register-remote", str(SHOUT)],
        ["exec", "history", "bafy2bzaceajzjwkmpnmyb57kjdebduo45ythudsedwuowdja26dflzd6teli6"],
    ):
        assert "does not take --node" in catenary(tmp_path, "--node", "127.0.0.1:1", *args, code=2).stderr
    assert (
        "unknown execution"
        in catenary(
            tmp_path,
            "exec",
            "history",
            "bafy2bzaceajzjwkmpnmyb57kjdebduo45ythudsedwuowdja26dflzd6teli6",
            code=2,
        ).stderr
    )
    assert "HASH" in catenary(tmp_path, "exec", "history", "not-a-cid", code=2).stderr


@pytest.mark.parametrize(
    "args,message",
    [
        (["executor", "--operations", "tests.executors.remote_ops"], "needs --node"),
        (["executor", "--node", "127.0.0.1:1"], "needs --operations"),
        (["executor", "--node", "127.0.0.1:1", "--operations", "no.such.module"], "cannot import it"),
        (
            ["executor", "--node", "127.0.0.1:1", "--operations", "tests.ops_fixture"],
            "defines no remote operation",
        ),
        (
            [
                "executor",
                "--node",
                "127.0.0.1:1",
                "--operations",
                "tests.executors.remote_ops",
                "--lease",
                "0",
            ],
            "--lease",
        ),
        (
            ["--executor", "dask:nowhere", "op", "list"],
            "expected local, processes[:N], dask:local or dask://HOST:PORT",
        ),
        (
            ["--executor", "dask://no-port", "op", "list"],
            "expected local, processes[:N], dask:local or dask://HOST:PORT",
        ),
        (["--executor", "dask:local", "--node", "127.0.0.1:1", "op", "list"], "--executor and --node"),
        (["--remote-wait", "-1", "op", "list"], "--remote-wait"),
    ],
)
def test_bad_executor_options_are_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    proc = catenary(tmp_path, *args, code=2)
    assert message in proc.stderr and proc.stdout == ""
    assert not (tmp_path / "catenary.db").exists()  # refused before the data dir was opened


def test_an_executor_without_a_node_says_so(tmp_path: Path) -> None:
    proc = catenary(
        tmp_path,
        "executor",
        "--node",
        f"127.0.0.1:{free_port()}",
        "--operations",
        "tests.executors.remote_ops",
        "--dir",
        str(tmp_path / "executor"),
        code=1,
    )
    assert "cannot reach the node" in proc.stderr


def test_an_executor_keeps_its_own_key_in_its_directory(tmp_path: Path) -> None:
    home = tmp_path / "executor"
    args = ("executor", "--node", f"127.0.0.1:{free_port()}", "--operations", "tests.executors.remote_ops")
    catenary(tmp_path / "node", *args, "--dir", str(home), code=1)
    key = home / "executor_key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    first = Identity.load_or_create_file(key).id
    catenary(tmp_path / "node", *args, "--dir", str(home), code=1)  # the second start reuses it
    assert Identity.load_or_create_file(key).id == first and first.startswith("did:key:z")
