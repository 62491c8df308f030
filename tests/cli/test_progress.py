"""`catenary run` on stderr: the run id first, always; a line per step and segment as they
finish on a terminal or with --progress, cached steps marked; stdout unchanged (issue 19)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.cli.test_project import ROOT, cli

# Two segments: 0 encodes the text and takes its CID, 1 compares that with a claim.
WF = {
    "data": {
        "name": "progress",
        "creators": [],
        "description": "",
        "groups": [],
        "segments": [
            {
                "inputs": [-1],
                "sequence": [{"op": "std/utf8-encode", "config": {}}, {"op": "std/cid", "config": {}}],
            },
            {"inputs": [-1, 0], "sequence": [{"op": "std/equals", "config": {}}]},
        ],
    }
}


def _setup(tmp_path: Path) -> tuple[list[str], list[str]]:
    base = ["--data-dir", str(tmp_path / "d")]
    (tmp_path / "wf.json").write_text(json.dumps(WF))
    wid = json.loads(cli(tmp_path, *base, "--json", "workflow", "create", str(tmp_path / "wf.json")).stdout)[
        "id"
    ]
    return base, ["run", wid, "-i", "0=text:hi", "-i", "1=text:x"]


def test_run_id_first_and_only_it_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    base, run = _setup(tmp_path)
    done = cli(tmp_path, *base, *run)
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split()[1]
    assert done.stderr == f"run {run_id}\n"
    # --json: the document names the run; stderr stays empty (or the one error line).
    document = cli(tmp_path, *base, *run, "--json")
    assert json.loads(document.stdout)["done"] is True and document.stderr == ""


def test_progress_lines_in_order_with_cached_steps_marked(tmp_path: Path) -> None:
    base, run = _setup(tmp_path)
    first = cli(tmp_path, *base, *run, "--progress")
    assert first.returncode == 0, first.stderr
    run_id = first.stdout.split()[1]  # "run     ID" on stdout, unchanged
    lines = first.stderr.splitlines()
    assert lines[0] == f"run {run_id}"
    assert lines[1:3] == ["segment 0 step 0 std/utf8-encode ... done", "segment 0 step 1 std/cid ... done"]
    assert lines[3].startswith("segment 0 done in ")
    assert lines[4] == "segment 1 step 0 std/equals ... done"
    assert lines[5].startswith("segment 1 done in ") and len(lines) == 6

    again = cli(tmp_path, *base, *run, "--progress", "--json")
    assert json.loads(again.stdout)["result"] is False
    steps = [line for line in again.stderr.splitlines() if " step " in line]
    assert steps == [
        "segment 0 step 0 std/utf8-encode ... cached",
        "segment 0 step 1 std/cid ... cached",
        "segment 1 step 0 std/equals ... cached",
    ]
    quiet = cli(tmp_path, *base, *run, "--no-progress")
    assert len(quiet.stderr.splitlines()) == 1 and quiet.stdout.splitlines()[1:2] == ["result  false"]


def test_progress_is_on_by_default_on_a_terminal(tmp_path: Path) -> None:
    base, run = _setup(tmp_path)
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATENARY_")}
    env["PYTHONPATH"] = str(ROOT)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "catenary", *base, *run],
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env=env,
        )
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
    assert done.returncode == 0
    text = shown.decode().replace("\r\n", "\n")
    assert "segment 0 step 1 std/cid ... done" in text and "segment 1 done in " in text
    assert done.stdout.startswith("run     ")
