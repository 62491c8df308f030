"""Issue 17's first done-when, hands-free against a real `catenary serve --http --webhook`: an
event POSTed with curl starts workflow A; A's result starts B; a schedule every second starts
C; the trace of B's final execution reaches A's executions and the first event with its
emitter; the whole chain exports to one bundle that verifies and imports on a fresh node."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.browser.conftest import node_js, same_verdicts
from tests.cli.test_cli import Cli
from tests.trust.conftest import Car
from tests.web.test_serve import serve, stop


def _workflow(name: str, op: str) -> dict:
    segment = {"inputs": [-1], "sequence": [{"op": op, "config": {}}]}
    return {"data": {"name": name, "creators": [], "description": "", "groups": [], "segments": [segment]}}


def _catenary(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "catenary", *args], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


def _create(cli: Cli, tmp_path: Path, name: str, op: str) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(_workflow(name, op)))
    workflow_id: str = cli.json("workflow", "create", str(path))["id"]
    return workflow_id


def _fired(cli: Cli, trigger: str) -> list[dict]:
    return [f for f in cli.json("trigger", "history", trigger)["firings"] if f["status"] == "fired"]


def test_webhook_event_result_and_schedule_drive_the_pipeline(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cli = Cli(data)
    a = _create(cli, tmp_path, "a", "std/utf8-encode")  # the posted name, as bytes
    b = _create(cli, tmp_path, "b", "std/hex")  # A's result, in hex
    c = _create(cli, tmp_path, "c", "std/utf8-encode")  # each tick's time, as bytes
    triggers = [
        {"name": "a", "on": "photo.uploaded", "workflow": a, "inputs": ["$.name"]},
        {"name": "b", "on": {"workflow": a}, "workflow": b, "inputs": ["$"]},
        {"name": "c", "on": "clock.tick", "workflow": c, "inputs": ["$.time"]},
    ]
    for trigger in triggers:
        cli.json("trigger", "create", json.dumps(trigger))
    cli.json("schedule", "add", "every-second", "--cron", "* * * * * *", "--event-key", "clock.tick")
    service = tmp_path / "service.pem"
    _catenary("key", "new", str(service))
    caller = _catenary("key", "show", "--key", str(service))
    node = _catenary("key", "show", "--key", str(data / "node_key.pem"))
    (data / "policy.toml").write_text(f'[[rules.emit]]\nkeys = ["{caller}"]\nevents = ["photo.uploaded"]\n')

    proc = serve(data, "--http", "127.0.0.1:0", "--webhook")
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("explorer on "), proc.stderr.read() if proc.stderr else ""
        token = _catenary("key", "token", "hooks/events", "--audience", node, "--key", str(service))
        posted = subprocess.run(
            ["curl", "-s", "-f", "-X", "POST", f"{line.split()[-1]}/hooks/events/photo.uploaded",
             "-H", f"Authorization: Bearer {token}", "-H", "Content-Type: application/json",
             "-d", '{"name": "a.jpg"}'],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        first = json.loads(posted.stdout)
        deadline = time.monotonic() + 30
        while not (_fired(cli, "b") and len(_fired(cli, "c")) >= 2) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop(proc)

    [fired_a] = _fired(cli, "a")
    [fired_b] = _fired(cli, "b")
    assert fired_a["event"] == first["id"] and len(_fired(cli, "c")) >= 2  # the schedule ticks, C runs
    run_a, run_b = cli.json("runs", "get", fired_a["run"]), cli.json("runs", "get", fired_b["run"])
    assert run_a["status"] == run_b["status"] == "completed"
    result = cli.json("event", "get", fired_b["event"])
    assert result["value"] == {"/": {"bytes": "YS5qcGc"}}  # A's output: b"a.jpg"
    final_b = run_b["outputs"][-1]["producer"]

    trace = cli.json("exec", "trace", final_b)
    executions = {n["hash"] for n in trace["nodes"] if n["kind"] == "execution"}
    causes = {n["cause"]["id"]: n["cause"] for n in trace["nodes"] if "cause" in n}
    a_executions = {e["hash"] for e in cli.json("exec", "list", "--workflow", a)["executions"]}
    assert a_executions and a_executions <= executions  # B's trace reaches A's executions ...
    assert causes[first["id"]]["emitter"] == node  # ... and the first event, with its emitter
    assert causes[fired_b["event"]]["key"] == f"result.{a}"
    assert causes[fired_b["event"]]["source"] == run_a["outputs"][-1]["producer"]
    assert cli.json("verify", final_b, "--trace")["verdict"] == "verified"

    bundle = tmp_path / "chain.car"
    cli.json("export", final_b, "-o", str(bundle))
    fresh = Cli(tmp_path / "fresh")
    checked = fresh.json("verify-bundle", str(bundle))
    assert checked["verdict"] == "verified", checked
    (browser,) = node_js("verify", str(bundle))  # the browser verifier reads it too
    assert browser["problems"] == [], browser["problems"]
    same_verdicts(checked, browser)
    car = Car(bundle.read_bytes())  # the posted event's signature, one bit flipped
    [link] = [m for m in car.index["emitted"] if car.value(m)["event"].encode() == first["id"]]
    meta = car.value(link)
    car.replace(link, {**meta, "signature": bytes([meta["signature"][0] ^ 1]) + meta["signature"][1:]})
    flipped = tmp_path / "flipped.car"
    flipped.write_bytes(car.bytes())
    refused = fresh.json("verify-bundle", str(flipped), code=1)
    (browser,) = node_js("verify", str(flipped))
    for problems in (refused["problems"], browser["problems"]):
        assert any(first["id"] in p and "signature" in p for p in problems), problems
    fresh.json("import", str(bundle))
    again = fresh.json("exec", "trace", final_b)
    assert {n["hash"] for n in again["nodes"]} == {n["hash"] for n in trace["nodes"]}
    assert {n["cause"]["id"] for n in again["nodes"] if "cause" in n} == set(causes)
