"""`catenary schedule` as a user runs it: a schedule ticking every second on a served node
starts the workflow triggered on its key; a bad schedule is one error and stores nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .test_cli import HERE, Cli, cli  # noqa: F401  (fixture)
from .test_cli_remote import served  # noqa: F401  (fixture)

ENCODE = {
    "data": {
        "name": "encode",
        "creators": [],
        "description": "",
        "groups": [],
        "segments": [{"inputs": [-1], "sequence": [{"op": "std/utf8-encode", "config": {}}]}],
    }
}


def test_a_bad_schedule_is_one_error_and_stores_nothing(cli: Cli) -> None:  # noqa: F811
    cli.json("schedule", "add", "ok", "--cron", "*/5 * * * *", "--event-key", "clock.tick")
    before = cli.snapshot()
    for args, message in (
        (["--cron", "61 * * * *", "--event-key", "a.b"], "--cron: '61 * * * *' is not a cron expression"),
        (["--cron", "often", "--event-key", "a.b"], "--cron"),
        (["--cron", "* * * * *", "--event-key", "A B"], "--event-key"),
        (["--cron", "* * * * *", "--event-key", "a.b", "--data", "{nope"], "--data"),
    ):
        bad = cli("schedule", "add", "s", *args, code=2)
        assert message in bad.stderr and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    assert (
        "exists" in cli("schedule", "add", "ok", "--cron", "* * * * *", "--event-key", "a.b", code=2).stderr
    )
    assert cli.snapshot() == before
    [listed] = cli.json("schedule", "list")["schedules"]
    assert (listed["name"], listed["key"], listed["catch_up"]) == ("ok", "clock.tick", "once")
    assert listed["next_tick"] % 300 == 0 and listed["next_tick"] > time.time()
    cli("schedule", "remove", "ok")
    assert "no schedule named" in cli("schedule", "show", "ok", code=2).stderr


def test_a_served_schedule_ticks_and_starts_the_triggered_workflow(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "wf.json").write_text(json.dumps(ENCODE))
    wf = cli.json("workflow", "create", str(tmp_path / "wf.json"))["id"]
    cli.json(
        "trigger",
        "create",
        json.dumps({"name": "t", "on": "clock.tick", "workflow": wf, "inputs": ["$.data"]}),
    )
    added = cli.json(
        "schedule", "add", "every", "--cron", "* * * * * *", "--event-key", "clock.tick", "--data", '"tick"'
    )
    assert added["cron"] == "* * * * * *" and added["data"] == "tick"
    node_key = cli.json("event", "emit", "other.key")["emitter"]
    env = {
        **os.environ,
        "CATENARY_HOME": str(cli.data_dir),
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "catenary", "serve", "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().startswith("listening on ")
        deadline = time.monotonic() + 30
        fired: list[dict] = []
        while len(fired) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
            fired = [f for f in cli.json("trigger", "history", "t")["firings"] if f["status"] == "fired"]
        assert len(fired) >= 2, cli("trigger", "history", "t").stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    shown = cli.json("schedule", "show", "every")
    ticks = [t["tick"] for t in shown["ticks"]]
    assert len(ticks) == len(set(ticks)) >= 2  # one event per tick
    event = cli.json("event", "get", fired[0]["event"])
    assert event["key"] == "clock.tick" and event["value"]["schedule"] == "every"
    assert event["emitter"] == node_key  # signed by the node
    run = cli.json("runs", "get", fired[0]["run"])
    assert run["status"] == "completed"


def test_triggers_and_schedules_of_a_served_node_with_node(served, tmp_path: Path) -> None:  # noqa: F811
    """--node manages the served node's triggers and schedules (gRPC Trigger and Schedule)."""
    data, address = served
    local = Cli(data)
    remote = Cli(tmp_path / "unused")

    def rjson(*args: str) -> dict:
        return remote.json("--node", address, *args)

    (tmp_path / "wf.json").write_text(json.dumps(ENCODE))
    wf = local.json("workflow", "create", str(tmp_path / "wf.json"))["id"]
    trigger = {"name": "greet", "on": "text.ready", "workflow": wf, "inputs": ["$.text"]}
    assert rjson("trigger", "create", json.dumps(trigger))["enabled"] is True
    assert rjson("trigger", "disable", "greet")["enabled"] is False
    assert local.json("trigger", "show", "greet")["enabled"] is False  # stored on the served node
    event = local.json("event", "emit", "text.ready", "--data", '{"text": "hi"}')
    assert rjson("trigger", "enable", "greet")["enabled"] is True  # fires the event stored meanwhile
    [firing] = rjson("trigger", "history", "greet")["firings"]
    assert (firing["event"], firing["status"]) == (event["id"], "fired")
    bad = remote(
        "--node", address, "trigger", "create", json.dumps({**trigger, "name": "t", "inputs": []}), code=2
    )
    assert "$.inputs: segment 0" in bad.stderr

    added = rjson("schedule", "add", "nightly", "--cron", "0 2 * * *", "--event-key", "report.due")
    assert added["key"] == "report.due"
    assert [s["name"] for s in local.json("schedule", "list")["schedules"]] == ["nightly"]
    assert rjson("schedule", "show", "nightly")["ticks"] == []
    assert (
        "--cron"
        in remote(
            "--node", address, "schedule", "add", "x", "--cron", "61 * * * *", "--event-key", "a.b", code=2
        ).stderr
    )
    remote("--node", address, "schedule", "remove", "nightly")
    remote("--node", address, "trigger", "delete", "greet")
    assert (
        local.json("schedule", "list")["schedules"] == [] and local.json("trigger", "list")["triggers"] == []
    )
