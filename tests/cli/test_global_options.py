"""--node, --data-dir, --db and --json where users type them: before or after the command.

Real processes against a real served node and real data dirs. A value given after the command
wins over one given before it (and both over the environment), as a repeated click option does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .test_cli import DEMO, HERE, Cli
from .test_cli_remote import served  # noqa: F401 - the fixture

BAD_NODE = "127.0.0.1:1"  # nothing listens there: reaching it fails with exit 1


def test_node_after_the_command_reaches_the_served_node(served, tmp_path: Path) -> None:  # noqa: F811
    data, address = served
    remote = Cli(tmp_path / "unused")
    wf = remote.json("workflow", "create", str(DEMO / "manifest.json"), "--node", address)["id"]
    before = remote.json("--node", address, "workflow", "list")
    after = remote.json("workflow", "list", "--node", address)
    assert after == before and [w["id"] for w in after["workflows"]] == [wf]
    assert remote.json("exec", "list", "--node", address) == Cli(data).json("exec", "list")
    assert not (tmp_path / "unused").exists()  # --node after the command: no local data dir


def test_the_value_after_the_command_wins(served, tmp_path: Path) -> None:  # noqa: F811
    _, address = served
    cli = Cli(tmp_path / "unused")
    assert cli.json("--node", BAD_NODE, "workflow", "list", "--node", address) == {"workflows": []}
    failed = cli("--node", address, "workflow", "list", "--node", BAD_NODE, code=1)
    assert BAD_NODE in failed.stderr


def test_data_dir_after_the_command(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "from-env")
    wf = cli.json("workflow", "create", str(DEMO / "manifest.json"), "--data-dir", str(tmp_path / "a"))
    assert (tmp_path / "a" / "catenary.db").exists() and not (tmp_path / "from-env").exists()
    assert cli.json("workflow", "list", "--data-dir", str(tmp_path / "a"))["workflows"][0]["id"] == wf["id"]
    assert (
        cli.json("--data-dir", str(tmp_path / "b"), "workflow", "list", "--data-dir", str(tmp_path / "a"))[
            "workflows"
        ][0]["id"]
        == wf["id"]
    )
    assert not (tmp_path / "b").exists()


def test_json_before_the_command(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "data")
    wf = json.loads(cli("--json", "workflow", "create", str(DEMO / "manifest.json")).stdout)["id"]
    assert json.loads(cli("--json", "workflow", "list").stdout)["workflows"][0]["id"] == wf
    assert cli("workflow", "list").stdout.lstrip().startswith("┏")  # without --json: a table


def test_exclusions_hold_wherever_the_options_are(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "data")
    for args in (
        ["exec", "list", "--db", "postgresql://u@h/d", "--node", BAD_NODE],
        ["--node", BAD_NODE, "exec", "list", "--db", "postgresql://u@h/d"],
        ["--db", "postgresql://u@h/d", "exec", "list", "--node", BAD_NODE],
    ):
        refused = cli(*args, code=2)
        assert "--db and --node exclude each other" in refused.stderr
        assert refused.stdout == ""
    refused = cli("doctor", "--node", BAD_NODE, code=2)
    assert "doctor runs on a local data dir; it does not take --node" in refused.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was opened


def test_db_from_the_environment_yields_to_node_after_the_command(served, tmp_path: Path) -> None:  # noqa: F811
    _, address = served
    env = {
        **os.environ,
        "CATENARY_DB": "postgresql://u@h/d",
        "CATENARY_HOME": str(tmp_path / "x"),
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "catenary", "workflow", "list", "--node", address, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"workflows": []}


def test_help_of_a_command_shows_the_global_options_after_it(tmp_path: Path) -> None:
    text = Cli(tmp_path / "data")("exec", "list", "--help").stdout
    assert "--node HOST:PORT" in text and "--data-dir" in text and "--db URL" in text
    assert not (tmp_path / "data").exists()


def test_every_json_option_takes_the_global_json() -> None:
    """`catenary --json COMMAND` is COMMAND --json for every command that has --json."""
    import click

    from catenary.cli.main import cli
    from catenary.cli.output import _json_here_or_before

    def walk(group: click.Group) -> list[click.Command]:
        return [
            leaf for c in group.commands.values() for leaf in (walk(c) if isinstance(c, click.Group) else [c])
        ]

    for command in walk(cli):
        for param in command.params:
            if "--json" in param.opts:
                assert param.callback is _json_here_or_before, f"{command.name}: its own --json"
