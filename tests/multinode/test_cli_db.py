"""`catenary --db postgresql://...` (and $CATENARY_DB): two data dirs, one shared execution DB."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import manifest, snapshot
from tests.pg import free_port

ROOT = Path(__file__).resolve().parents[2]


def catenary(
    data_dir: Path, *args: str, code: int = 0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {
        k: v for k, v in os.environ.items() if k not in ("CATENARY_NODE", "CATENARY_HOME", "CATENARY_DB")
    }
    full_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "catenary", "--data-dir", str(data_dir), "--ops", "tests.ops_fixture", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )
    assert proc.returncode == code, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_two_data_dirs_share_one_database(tmp_path: Path, pg_database: str) -> None:
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(manifest(([-1], ["test/inc", "test/inc"]), ([0, -1], ["test/add"]))))
    a, b = tmp_path / "a", tmp_path / "b"
    wf = json.loads(catenary(a, "--db", pg_database, "workflow", "create", str(path), "--json").stdout)["id"]
    run = json.loads(
        catenary(b, "run", wf, "-i", "0=1", "-i", "1=2", "--json", env={"CATENARY_DB": pg_database}).stdout
    )
    assert run["result"] == 5
    listed = json.loads(catenary(a, "--db", pg_database, "exec", "list", "--json").stdout)
    assert {e["hash"] for e in listed["executions"]} >= {run["final"]}
    assert len({e["executor"] for e in listed["executions"]}) == 1  # all run by node b
    got = json.loads(catenary(a, "--db", pg_database, "runs", "get", run["run"], "--json").stdout)
    assert got["status"] == "completed"
    assert not (a / "catenary.db").exists() and not (b / "catenary.db").exists()


def test_db_that_is_not_a_postgresql_url_is_refused(tmp_path: Path) -> None:
    proc = catenary(tmp_path / "d", "--db", "mysql://u@h/db", "workflow", "list", code=2)
    assert "expected a postgresql://" in proc.stderr and proc.stdout == ""
    assert not (tmp_path / "d" / "catenary.db").exists()


def test_db_and_node_together_are_a_usage_error(tmp_path: Path, pg_database: str) -> None:
    proc = catenary(tmp_path / "d", "--db", pg_database, "--node", "127.0.0.1:1", "workflow", "list", code=2)
    assert "--db and --node exclude each other" in proc.stderr


def test_catenary_db_in_the_environment_does_not_block_node(tmp_path: Path, pg_database: str) -> None:
    # A deployment exports CATENARY_DB for its nodes; a client command with --node still works
    # (here it fails to connect to the unused port, exit 1, instead of a usage error).
    proc = catenary(
        tmp_path / "d",
        "--node",
        f"127.0.0.1:{free_port()}",
        "workflow",
        "list",
        code=1,
        env={"CATENARY_DB": pg_database},
    )
    assert "exclude each other" not in proc.stderr


def test_unreachable_database_fails_with_one_line_and_no_password(tmp_path: Path) -> None:
    url = f"postgresql://someone:hunter2@127.0.0.1:{free_port()}/nowhere"
    proc = catenary(tmp_path / "d", "--db", url, "workflow", "list", code=1)
    assert "cannot connect to the execution DB postgresql://someone@127.0.0.1:" in proc.stderr
    assert "hunter2" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_refused_input_changes_nothing_in_the_shared_database(tmp_path: Path, pg_database: str) -> None:
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(manifest(([-1], ["test/inc"]))))
    wf = json.loads(
        catenary(tmp_path / "a", "--db", pg_database, "workflow", "create", str(path), "--json").stdout
    )["id"]
    before = snapshot(pg_database)
    proc = catenary(tmp_path / "a", "--db", pg_database, "run", wf, "-i", '0="text"', code=2)
    assert "segment 0 input 0" in proc.stderr
    assert snapshot(pg_database) == before
