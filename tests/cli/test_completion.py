"""Shell completion as a shell asks for it (click's protocol: _CATENARY_COMPLETE, COMP_WORDS,
COMP_CWORD in the environment of a `catenary` process): command names, options, and the ids
stored in the local data dir (issue 19)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from catenary.cid.display import short
from tests.cli.test_cid_prefix import WF
from tests.cli.test_project import ROOT, cli


def complete(cwd: Path, line: str, shell: str = "bash", **env: str) -> list[str]:
    """What the shell is offered for the last word of ``line`` (empty after a trailing space)."""
    words = line.split()
    cword = len(words) if line.endswith(" ") else len(words) - 1
    base = {k: v for k, v in os.environ.items() if not k.startswith("CATENARY_")}
    done = subprocess.run(
        [sys.executable, "-m", "catenary"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={
            **base,
            **env,
            "PYTHONPATH": str(ROOT),
            "_CATENARY_COMPLETE": f"{shell}_complete",
            "COMP_WORDS": line,
            "COMP_CWORD": str(cword),
        },
    )
    assert done.returncode == 0 and not done.stderr, done.stderr
    rows = [row for row in done.stdout.splitlines() if row]
    assert all(row.startswith("plain,") for row in rows), done.stdout
    return [row.removeprefix("plain,") for row in rows]


def test_the_script_each_shell_sources(tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CATENARY_")}
    for shell, marker in (
        ("bash", "complete -o nosort -F _catenary_completion catenary"),
        ("zsh", "#compdef"),
    ):
        script = subprocess.run(
            [sys.executable, "-m", "catenary"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env={**base, "PYTHONPATH": str(ROOT), "_CATENARY_COMPLETE": f"{shell}_source"},
        )
        assert script.returncode == 0 and marker in script.stdout and "_CATENARY_COMPLETE" in script.stdout


def test_commands_options_and_stored_ids(tmp_path: Path) -> None:
    data = tmp_path / "d"
    d = f"--data-dir {data}"
    assert {"exec", "export", "executor"} <= set(complete(tmp_path, "catenary ex"))
    assert complete(tmp_path, f"catenary {d} run WF --pro") == ["--progress"]
    assert complete(tmp_path, f"catenary {d} runs get ") == []  # no data dir: nothing, none made
    assert not data.exists()

    (tmp_path / "wf.json").write_text(json.dumps(WF))
    wid = json.loads(
        cli(tmp_path, "--data-dir", str(data), "--json", "workflow", "create", "wf.json").stdout
    )["id"]
    ran = json.loads(cli(tmp_path, "--data-dir", str(data), "--json", "run", wid, "-i", "0=text:a").stdout)
    run, final = ran["run"], ran["final"]

    assert complete(tmp_path, f"catenary {d} runs get ") == [run]
    assert complete(tmp_path, f"catenary {d} runs get {run[:14]}") == [run]
    assert complete(tmp_path, f"catenary {d} run ") == [wid]  # WORKFLOW
    assert complete(tmp_path, f"catenary {d} workflow show ") == [wid]
    assert complete(tmp_path, f"catenary {d} exec list --run ") == [run]
    assert final in complete(tmp_path, f"catenary {d} exec trace ")
    # The end a table shows completes to the whole id, ellipsis or not.
    assert complete(tmp_path, f"catenary {d} exec get {short(final)}") == [final]
    assert complete(tmp_path, f"catenary {d} exec get {final[-8:]}") == [final]
    # The data dir from the environment.
    assert final in complete(tmp_path, "catenary verify ", CATENARY_HOME=str(data))
