"""`catenary doctor` on real data dirs: clean, corrupted, and repairable."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from catenary.cid import CID
from catenary.model import Execution, Status
from catenary.sdk import Node

from .test_cli import DEMO, Cli, cli  # noqa: F401 - the cli fixture


def seeded(cli: Cli, tmp_path: Path) -> dict:
    photo = tmp_path / "p.jpg"
    subprocess.run([sys.executable, str(DEMO / "make_photo.py"), str(photo)], check=True)
    wf = cli.json("workflow", "create", str(DEMO / "manifest.json"))["id"]
    return cli.json("run", wf, "-i", f"0=@{photo}", "-i", "2=text:CX1-004217", "-i", "4=text:L35-99812")


def test_doctor_clean_then_corrupted(cli: Cli, tmp_path: Path) -> None:
    result = seeded(cli, tmp_path)
    report = cli.json("doctor")
    assert report["ok"] is True and report["executions"] == 7 and report["runs"] == 1
    db = sqlite3.connect(cli.data_dir / "catenary.db")
    db.execute("UPDATE executions SET segment = 9 WHERE step = 0 AND segment = 1")
    db.execute(
        "DELETE FROM blocks WHERE cid = (SELECT output FROM executions WHERE hash = ?)",
        (CID.parse(result["final"]).cid_bytes,),
    )
    db.commit()
    db.close()
    proc = cli("doctor", "--json", code=1)
    findings = json.loads(proc.stdout)["findings"]
    checks = {f["check"] for f in findings}
    assert {"hash", "value"} <= checks
    assert any(f["subject"] == result["final"] and "missing" in f["message"] for f in findings)


def test_doctor_repairs_an_orphaned_claim(cli: Cli, tmp_path: Path) -> None:
    result = seeded(cli, tmp_path)
    with Node(cli.data_dir) as node:
        final = node.executions.get(CID.parse(result["final"]))
        orphan = Execution(
            **{
                **final.__dict__,
                "status": Status.CREATED,
                "output": None,
                "step": 99,
                "hash": final.hash,
                "seq": 0,
            }
        )
        orphan = Execution(**{**orphan.__dict__, "hash": orphan.recomputed_hash()})
        assert node.store.insert_execution(orphan) is not None
        assert (
            node.store.transition(orphan.hash, Status.CREATED, Status.IN_PROGRESS, now=time.time_ns())
            is not None
        )
    proc = cli("doctor", code=1)
    assert "in_progress with no owner" in proc.stdout and "--repair fixes this" in proc.stdout
    repaired = json.loads(cli("doctor", "--repair", "--json").stdout)
    # Step 99 gives the orphan a hash of its own, and a place no workflow has: it is quarantined too.
    assert [r["action"] for r in repaired["repairs"]] == ["failed", "quarantined"]
    assert repaired["ok"] is True and repaired["findings"] == [] and repaired["quarantined"] == 1
    fixed = cli.json("exec", "get", str(orphan.hash))
    assert fixed["status"] == "failed" and "recovered by catenary doctor" in fixed["error"]


def test_doctor_reports_a_record_that_does_not_fit_its_workflow(cli: Cli, tmp_path: Path) -> None:
    """A record put in the DB behind the API's back (segment 99, step 7) is named, with the field."""
    result = seeded(cli, tmp_path)
    node = Node(cli.data_dir)
    try:
        final = node.executions.get(CID.parse(result["final"]))
        invocation = final.invocation
        misplaced = type(invocation)(
            invocation.workflow,
            99,
            7,
            invocation.operation,
            dict(invocation.config),
            invocation.parents,
            invocation.inputs,
        )
        record = misplaced.record(final.run, Status.CREATED, created_at=time.time_ns())
        assert node.store.insert_execution(record) is not None
    finally:
        node.close()
    findings = json.loads(cli("doctor", "--json", code=1).stdout)["findings"]
    assert [(f["check"], f["subject"]) for f in findings] == [("placement", str(record.hash))]
    assert findings[0]["message"].startswith("segment: 99 is not a segment of workflow")


def test_doctor_repair_quarantines_a_misfit(cli: Cli, tmp_path: Path) -> None:
    """The misfit above: doctor exits 1 until --repair quarantines it; then exit 0, the record
    still in the DB file, and listed by nothing."""
    result = seeded(cli, tmp_path)
    with Node(cli.data_dir) as node:
        final = node.executions.get(CID.parse(result["final"]))
        inv = final.invocation
        misplaced = type(inv)(inv.workflow, 99, 7, inv.operation, dict(inv.config), inv.parents, inv.inputs)
        record = misplaced.record(final.run, Status.CREATED, created_at=time.time_ns())
        assert node.store.insert_execution(record) is not None
    assert "--repair fixes this" in cli("doctor", code=1).stdout
    repaired = json.loads(cli("doctor", "--repair", "--json").stdout)
    [done] = repaired["repairs"]
    assert (done["action"], done["subject"]) == ("quarantined", str(record.hash))
    assert done["reason"].startswith("quarantined by catenary doctor: does not fit its workflow: segment: 99")
    clean = cli("doctor")
    assert clean.stdout.strip().endswith("ok; 1 quarantined")
    db = sqlite3.connect(cli.data_dir / "catenary.db")
    try:
        assert db.execute(
            "SELECT count(*) FROM executions WHERE hash = ?", (record.hash.cid_bytes,)
        ).fetchone()
        assert db.execute("SELECT reason FROM quarantine").fetchone()[0].startswith("quarantined by")
    finally:
        db.close()
    listed = cli.json("exec", "list", "--limit", "100")
    assert str(record.hash) not in json.dumps(listed)
