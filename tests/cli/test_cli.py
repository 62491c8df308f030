"""The CLI as a user runs it: a real process, a real data dir, stdout/stderr/exit status."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from catenary.cid import CID, cid_of, decode
from catenary.cid.dagjson import from_json
from tests.helpers import EXECUTION_FIELDS

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
DEMO = ROOT / "examples" / "camera-ownership"


class Cli:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def __call__(
        self, *args: str, code: int = 0, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "CATENARY_HOME": str(self.data_dir),
            "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        }
        proc = subprocess.run(
            [sys.executable, "-m", "catenary", "--ops", "cli_ops", *args],
            capture_output=True,
            env=env,
            input=stdin,
            timeout=120,
        )
        result = subprocess.CompletedProcess(
            proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode()
        )
        assert proc.returncode == code, f"exit {proc.returncode}\n{result.stdout}\n{result.stderr}"
        return result

    def json(self, *args: str, code: int = 0) -> dict:
        return json.loads(self(*args, "--json", code=code).stdout)

    def snapshot(self) -> dict[str, list]:
        """Every row of every table, to prove a refused command changed nothing."""
        db = sqlite3.connect(self.data_dir / "catenary.db")
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        dump = {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
        db.close()
        return dump


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "data")


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    subprocess.run(
        [
            sys.executable,
            str(DEMO / "make_photo.py"),
            str(path),
            "--body-serial",
            "B-1",
            "--lens-serial",
            "L-2",
        ],
        check=True,
    )
    return path


@pytest.fixture
def demo_wf(cli: Cli) -> str:
    return cli.json("workflow", "create", str(DEMO / "manifest.json"))["id"]


def run_demo(cli: Cli, wf: str, photo: Path, body: str, lens: str) -> dict:
    return cli.json(
        "run", wf, "--input", f"0=@{photo}", "--input", f"2=text:{body}", "--input", f"4=text:{lens}"
    )


def test_run_demo_answers_and_traces_back_to_its_events(cli: Cli, demo_wf: str, photo: Path) -> None:
    proc = cli("run", demo_wf, "-i", f"0=@{photo}", "-i", "2=text:B-1", "-i", "4=text:L-2", "--json")
    doc = json.loads(proc.stdout)  # exactly one JSON document on stdout
    assert {"run", "done", "result", "segment_time", "total_time", "final"} <= doc.keys()
    assert doc["done"] is True and doc["result"] == "L-2"
    assert proc.stderr == ""  # the document names the run; progress only on a terminal

    wrong = run_demo(cli, demo_wf, photo, "B-1", "L-9")
    assert wrong["result"] is None

    trace = cli.json("exec", "trace", doc["final"])
    assert trace["root"] == doc["final"]
    events = [n for n in trace["nodes"] if n["kind"] == "event"]
    assert sorted(n["segment"] for n in events) == [0, 2, 4]
    hashes = [n["hash"] for n in trace["nodes"]]
    assert len(hashes) == len(set(hashes))
    for edge in trace["edges"]:
        assert edge["from"] in hashes and edge["to"] in hashes
    run_events = {n["hash"] for n in events}
    listed = cli.json("exec", "list", "--run", doc["run"])["executions"]
    assert len(listed) == 7
    parents = {p for e in listed for p in e["parents"]}
    assert run_events == parents - {e["hash"] for e in listed}


def test_exec_json_has_exactly_the_spec_fields_and_hashes_recompute(
    cli: Cli, demo_wf: str, photo: Path
) -> None:
    doc = run_demo(cli, demo_wf, photo, "B-1", "L-2")
    page = cli.json("exec", "list", "--run", doc["run"], "--limit", "3")
    assert set(page) == {"executions", "next_page_token"}
    assert len(page["executions"]) == 3 and page["next_page_token"]
    rest = cli.json("exec", "list", "--run", doc["run"], "--page-token", page["next_page_token"])
    assert rest["next_page_token"] is None
    everything = page["executions"] + rest["executions"]
    assert len({e["hash"] for e in everything}) == 7
    for e in everything:
        assert list(e) == EXECUTION_FIELDS
        link = CID.parse
        pre = {
            "workflow": link(e["workflow"]),
            "segment": e["segment"],
            "step": e["step"],
            "operation": link(e["operation"]),
            "config": e["config"],
            "parents": [link(p) for p in e["parents"]],
            "inputs": [link(i) for i in e["inputs"]],
        }
        assert str(cid_of(pre)) == e["hash"]
        key = {
            "operation": link(e["operation"]),
            "config": e["config"],
            "inputs": [link(i) for i in e["inputs"]],
        }
        assert str(cid_of(key)) == e["key"]
    single = cli.json("exec", "get", everything[0]["hash"])
    assert single.pop("disputed") is None  # exec get adds whether a verify disputed it
    assert single.pop("acceptance")["status"] == "accepted"  # and its standing: signed here
    assert single == everything[0]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_exec_list_finds_executions_by_input_and_output_value(
    cli: Cli, photo: Path, db: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db:
        monkeypatch.setenv("CATENARY_DB", db)
    wf = cli.json("workflow", "create", str(DEMO / "manifest.json"))["id"]
    run_demo(cli, wf, photo, "B-1", "L-2")
    run_demo(cli, wf, photo, "B-1", "L-3")  # segment 0 again: the same values, reused
    everything = cli.json("exec", "list", "--limit", "1000")["executions"]
    exif = next(e for e in everything if (e["segment"], e["step"]) == (0, 0))["output"]

    def found(*flt: str) -> set[str]:
        return {e["hash"] for e in cli.json("exec", "list", *flt, "--limit", "1000")["executions"]}

    made = {e["hash"] for e in everything if e["output"] == exif}
    took = {e["hash"] for e in everything if exif in e["inputs"]}
    assert len(made) >= 2 and took  # at least one per run (the second reuses the first)
    assert found("--output", exif) == made
    assert found("--input", exif) == took
    assert found("--input", exif, "--segment", "0") == {e for e in took if e in found("--segment", "0")}
    assert found("--output", str(cid_of("no such value"))) == set()
    refused = cli("exec", "list", "--input", "not-a-cid", code=2)
    assert "--input" in refused.stderr


def test_value_get_prints_bare_dag_json(cli: Cli, demo_wf: str, photo: Path) -> None:
    doc = run_demo(cli, demo_wf, photo, "B-1", "L-2")
    segment0 = cli.json("exec", "list", "--run", doc["run"], "--segment", "0")["executions"][0]
    exif = json.loads(cli("value", "get", segment0["output"]).stdout)
    assert exif["BodySerialNumber"] == "B-1" and exif["LensSerialNumber"] == "L-2"
    event = segment0["parents"][0]
    photo_cid = segment0["inputs"][0]
    raw = json.loads(cli("value", "get", photo_cid).stdout)
    assert from_json(raw) == photo.read_bytes()
    assert set(raw) == {"/"} and "=" not in raw["/"]["bytes"]
    assert event != photo_cid


def test_new_and_next_step_a_run_across_processes(cli: Cli, demo_wf: str, photo: Path) -> None:
    run = cli.json("new", demo_wf)
    run_id = run["run"]
    # The run id recomputes from the workflow and the nonce that `runs get` exposes.
    got = cli.json("runs", "get", run_id)
    nonce = from_json(got["nonce"])
    assert len(nonce) == 16
    assert str(cid_of({"workflow": CID.parse(demo_wf), "nonce": nonce})) == run_id
    steps = [
        cli.json("next", run_id, "--input", f"@{photo}"),
        cli.json("next", run_id),
        cli.json("next", run_id, "--input", "text:B-1"),
        cli.json("next", run_id),
        cli.json("next", run_id, "--input", '"L-2"'),
        cli.json("next", run_id),
    ]
    assert [s["done"] for s in steps] == [False] * 5 + [True]
    assert steps[-1]["result"] == "L-2"
    assert all(s["result"] is None for s in steps[:-1])
    assert steps[-1]["total_time"] == pytest.approx(sum(s["segment_time"] for s in steps))
    assert cli.json("runs", "get", run_id)["status"] == "completed"
    assert run_id in [r["run"] for r in cli.json("runs", "list", "--workflow", demo_wf)["runs"]]
    cli("next", run_id, code=2)  # a completed run cannot be stepped; nothing stored


def test_failing_operation_exits_1_and_is_recorded(cli: Cli, tmp_path: Path) -> None:
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
    wf = cli.json("workflow", "create", str(manifest))["id"]
    proc = cli("run", wf, "--input", "0=text:hi", "--json", code=1)
    doc = json.loads(proc.stdout)  # still exactly one JSON document, saying what failed
    assert doc["done"] is False and doc["result"] is None and "refusing 'HI'" in doc["error"]
    assert "refusing 'HI'" in proc.stderr and len(proc.stderr.strip().splitlines()) >= 1
    failed = cli.json("exec", "list", "--status", "failed")["executions"]
    assert len(failed) == 1 and "RuntimeError: refusing 'HI'" in failed[0]["error"]
    assert failed[0]["hash"] == doc["final"] and failed[0]["run"] == doc["run"]
    done = cli.json("exec", "list", "--status", "completed")["executions"]
    assert len(done) == 1 and done[0]["step"] == 0  # the step before the failure is kept
    runs = cli.json("runs", "list")["runs"]
    assert runs[0]["status"] == "failed" and "refusing" in runs[0]["error"]


def test_memoization_across_runs_and_fresh(cli: Cli, demo_wf: str, photo: Path) -> None:
    first = run_demo(cli, demo_wf, photo, "B-1", "L-2")
    second = run_demo(cli, demo_wf, photo, "B-1", "L-2")
    cached = cli.json("exec", "list", "--run", second["run"])["executions"]
    originals = {e["key"]: e["hash"] for e in cli.json("exec", "list", "--run", first["run"])["executions"]}
    assert all(e["cached_from"] == originals[e["key"]] for e in cached)
    fresh = cli.json("run", demo_wf, "--fresh", "-i", f"0=@{photo}", "-i", "2=text:B-1", "-i", "4=text:L-2")
    assert all(
        e["cached_from"] is None for e in cli.json("exec", "list", "--run", fresh["run"])["executions"]
    )


def test_watch_replays_from_seq_as_json_lines(cli: Cli, demo_wf: str, photo: Path) -> None:
    run_demo(cli, demo_wf, photo, "B-1", "L-2")
    env = {**os.environ, "CATENARY_HOME": str(cli.data_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "catenary", "exec", "watch", "--since", "2", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        lines = [json.loads(proc.stdout.readline()) for _ in range(5)]
    finally:
        proc.kill()
        proc.wait()
    assert [d["seq"] for d in lines] == [3, 4, 5, 6, 7]
    assert all(list(d) == EXECUTION_FIELDS for d in lines)


def test_workflow_show_and_list_and_op_commands(cli: Cli, demo_wf: str) -> None:
    shown = cli.json("workflow", "show", demo_wf)
    assert shown["id"] == demo_wf and len(shown["data"]["segments"]) == 6
    # what `show` prints is a manifest `create` accepts, with the same id
    assert cli("workflow", "create", "-", "--json", stdin=json.dumps(shown).encode()).stdout
    assert [w["id"] for w in cli.json("workflow", "list")["workflows"]] == [demo_wf]
    ops = cli.json("op", "list")["operations"]
    names = {o["name"] for o in ops}
    assert {
        "std/hash",
        "std/cid",
        "std/utf8-encode",
        "std/utf8-decode",
        "std/concat",
        "std/equals",
        "std/all",
        "std/get",
        "std/exif",
    } <= names
    for o in ops:
        assert {"name", "id", "version_id", "inputs", "output", "config"} <= o.keys()
    hash_op = next(o for o in ops if o["name"] == "std/hash")
    assert hash_op["config"] == {"algorithm": ["sha2-256", "blake2b-256", "blake3"]}
    assert cli.json("op", "show", hash_op["version_id"]) == hash_op
    human = cli("exec", "list").stdout
    assert "hash" in human


# Bad input: one clear line on stderr, exit 2, nothing stored changed. -------------------------

BAD = [
    ("malformed manifest", ["workflow", "create", "{bad}"], "not valid JSON"),
    ("bad CID", ["exec", "get", "bafynotacid!"], "not a CID"),
    (
        "unknown hash",
        ["exec", "get", "bafy2bzaceajzjwkmpnmyb57kjdebduo45ythudsedwuowdja26dflzd6teli6"],
        "unknown execution",
    ),
    (
        "unknown run",
        ["next", "bafy2bzaceajzjwkmpnmyb57kjdebduo45ythudsedwuowdja26dflzd6teli6"],
        "unknown run",
    ),
    ("wrong input count", ["run", "{wf}", "-i", "0=@{photo}", "-i", "2=text:x"], "segment 4 takes 1"),
    (
        "wrong value type",
        ["run", "{wf}", "-i", "0=text:notbytes", "-i", "2=text:x", "-i", "4=text:y"],
        "expected bytes, got string",
    ),
    (
        "input not DAG-JSON",
        ["run", "{wf}", "-i", "0=@{photo}", "-i", "2=nope", "-i", "4=text:y"],
        "not valid JSON",
    ),
    (
        "input for a segment with no -1 slot",
        ["run", "{wf}", "-i", "0=@{photo}", "-i", "1=text:x", "-i", "2=text:x", "-i", "4=text:y"],
        "segment 1 takes 0",
    ),
    ("missing file", ["run", "{wf}", "-i", "0=@/nonexistent/p.jpg"], "cannot read"),
    ("NaN input", ["next", "{run}", "-i", "NaN"], "NaN"),
    ("bad status filter", ["exec", "list", "--status", "done"], "Invalid value"),
    ("forged page token", ["exec", "list", "--page-token", "AAAA"], "invalid page token"),
    (
        "unknown workflow",
        ["new", "bafy2bzaceajzjwkmpnmyb57kjdebduo45ythudsedwuowdja26dflzd6teli6"],
        "unknown workflow",
    ),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_exits_2_and_changes_nothing(
    cli: Cli, demo_wf: str, photo: Path, tmp_path: Path, case: tuple
) -> None:
    _, args, message = case
    run_id = cli.json("new", demo_wf)["run"]
    bad_manifest = tmp_path / "bad.json"
    bad_manifest.write_text("{bad}")
    args = [a.format(wf=demo_wf, photo=photo, run=run_id, bad=bad_manifest) for a in args]
    before = cli.snapshot()
    proc = cli(*args, code=2)
    assert message in proc.stderr
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) <= 2
    assert cli.snapshot() == before


def test_oversized_value_is_refused(cli: Cli, demo_wf: str, photo: Path) -> None:
    run_id = cli.json("new", demo_wf)["run"]
    before = cli.snapshot()
    proc = cli("--max-value-size", "100", "next", run_id, "-i", f"@{photo}", code=2)
    assert "over the value size cap of 100 bytes" in proc.stderr
    assert cli.snapshot() == before


def test_manifest_error_names_the_json_path(cli: Cli, tmp_path: Path) -> None:
    manifest = tmp_path / "fwd.json"
    manifest.write_text(
        json.dumps(
            {
                "data": {
                    "name": "fwd",
                    "creators": [],
                    "description": "",
                    "groups": [],
                    "segments": [
                        {"inputs": [-1], "sequence": [{"op": "test/shout", "config": {}}]},
                        {"inputs": [2], "sequence": [{"op": "test/shout", "config": {}}]},
                        {"inputs": [0], "sequence": [{"op": "test/shout", "config": {}}]},
                    ],
                }
            }
        )
    )
    proc = cli("workflow", "create", str(manifest), code=2)
    assert "segments[1].inputs[0]: refers to segment 2, which does not come before segment 1" in proc.stderr
    assert cli.json("workflow", "list")["workflows"] == []


def test_decoded_values_in_store_match_cids(cli: Cli, demo_wf: str, photo: Path) -> None:
    run_demo(cli, demo_wf, photo, "B-1", "L-2")
    db = sqlite3.connect(cli.data_dir / "catenary.db")
    for cid, data in db.execute("SELECT cid, data FROM blocks"):
        assert cid_of(decode(data)).cid_bytes == cid
