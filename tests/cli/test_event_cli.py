"""`catenary event emit/get/list` as a user runs them, locally and against a served node."""

from __future__ import annotations

import json
from pathlib import Path

from catenary.cid import cid_of
from catenary.cid.display import short

from .test_cli import Cli, cli  # noqa: F401  (fixture)
from .test_cli_remote import served  # noqa: F401  (fixture)


def test_emit_get_and_list_locally(cli: Cli) -> None:  # noqa: F811
    first = cli.json("event", "emit", "photo.uploaded", "--data", '{"name": "a.jpg"}')
    second = cli.json("event", "emit", "sensor.reading", "--data", "42")
    assert first["data"] == str(cid_of({"name": "a.jpg"})) and (first["position"], second["position"]) == (
        1,
        2,
    )
    assert first["emitter"] == second["emitter"]  # the node's key
    got = cli.json("event", "get", first["id"])
    assert got["value"] == {"name": "a.jpg"} and got["signature"] == first["signature"]
    assert [e["id"] for e in cli.json("event", "list")["events"]] == [first["id"], second["id"]]
    assert [e["id"] for e in cli.json("event", "list", "--event-key", "sensor.reading")["events"]] == [
        second["id"]
    ]
    assert cli.json("event", "list", "--after", "2")["events"] == []
    table = cli("event", "list").stdout
    assert "photo.uploaded" in table and short(first["id"]) in table and first["id"] not in table
    assert first["id"] in cli("event", "list", "--full").stdout


def test_bad_input_is_one_error_and_changes_nothing(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    cli.json("event", "emit", "a.b")
    before = cli.snapshot()
    bad = cli("event", "emit", "Photo Uploaded", code=2)
    assert "not an event key" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert "--data" in cli("event", "emit", "a.b", "--data", "{nope", code=2).stderr
    (tmp_path / "big").write_bytes(b"x" * 300_000)
    big = cli("event", "emit", "a.b", "--data", f"@{tmp_path / 'big'}", code=2)
    assert "event data cap" in big.stderr
    assert "no emitted event" in cli("event", "get", str(cid_of(1)), code=2).stderr
    assert cli.snapshot() == before


def test_emit_over_node_is_signed_by_the_client_key(served, tmp_path: Path) -> None:  # noqa: F811
    data, address = served
    remote = Cli(tmp_path / "unused")
    key = tmp_path / "alice.pem"
    alice = remote("key", "new", str(key)).stdout.split()[-1]
    assert alice.startswith("did:key:")
    stored = remote.json(
        "--node", address, "--key", str(key), "event", "emit", "photo.uploaded", "--data", "1"
    )
    assert stored["emitter"] == alice
    assert Cli(data).json("event", "get", stored["id"])["value"] == 1  # stored on the served node


def test_a_trigger_from_the_cli_fires_once_and_keeps_its_history(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    manifest = {
        "data": {
            "name": "encode",
            "creators": [],
            "description": "",
            "groups": [],
            "segments": [{"inputs": [-1], "sequence": [{"op": "std/utf8-encode", "config": {}}]}],
        }
    }
    (tmp_path / "wf.json").write_text(json.dumps(manifest))
    wf = cli.json("workflow", "create", str(tmp_path / "wf.json"))["id"]
    before = cli.snapshot()
    bad = cli(
        "trigger", "create", json.dumps({"name": "t", "on": "a.b", "workflow": wf, "inputs": []}), code=2
    )
    assert "$.inputs: segment 0" in bad.stderr
    assert cli.snapshot() == before
    trigger = {"name": "greet", "on": "text.ready", "workflow": wf, "inputs": ["$.text"]}
    assert cli.json("trigger", "create", json.dumps(trigger))["enabled"] is True
    assert [t["name"] for t in cli.json("trigger", "list")["triggers"]] == ["greet"]
    event = cli.json("event", "emit", "text.ready", "--data", '{"text": "hello"}')
    cli.json("event", "emit", "text.ready", "--data", '{"other": 1}')
    firings = cli.json("trigger", "history", "greet")["firings"]
    assert [(f["event"], f["status"]) for f in firings][0] == (event["id"], "fired")
    assert firings[1]["status"] == "failed" and "$.inputs[0]" in firings[1]["reason"]
    assert short(wf) in cli("trigger", "list").stdout and wf in cli("trigger", "list", "--full").stdout
    history = cli("trigger", "history", "greet").stdout
    assert short(event["id"]) in history and short(firings[0]["run"]) in history
    run = cli.json("runs", "get", firings[0]["run"])
    final = run["outputs"][0]["producer"]
    [node] = [n for n in cli.json("exec", "trace", final)["nodes"] if n["kind"] == "event"]
    assert node["cause"]["id"] == event["id"] and node["cause"]["emitter"] == event["emitter"]
    assert "text.ready" in cli("exec", "trace", final).stdout
    cli.json("trigger", "disable", "greet")
    assert cli.json("trigger", "show", "greet")["enabled"] is False
    cli("trigger", "delete", "greet")
    assert "no trigger named" in cli("trigger", "show", "greet", code=2).stderr


def test_a_trigger_on_a_chosen_operations_results_from_the_cli(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    def workflow(name: str, ops: list[str]) -> str:
        segment = {"inputs": [-1], "sequence": [{"op": op, "config": {}} for op in ops]}
        doc = {"data": {"name": name, "creators": [], "description": "", "groups": [], "segments": [segment]}}
        (tmp_path / f"{name}.json").write_text(json.dumps(doc))
        return str(cli.json("workflow", "create", str(tmp_path / f"{name}.json"))["id"])

    a = workflow("a", ["std/utf8-encode", "std/utf8-decode"])
    b = workflow("b", ["std/utf8-decode"])
    before = cli.snapshot()
    for on, message in [
        ({"workflow": a, "operation": "std/hash"}, "$.on.operation: no step of workflow 'a' runs"),
        ({"workflow": a, "step": 0}, "$.on.step: unknown field of a result source"),
        ({"workflow": a}, "$.inputs[0]: std/utf8-decode (segment 0) gives 'string' at $; segment 0 input 0"),
    ]:
        bad = cli(
            "trigger", "create", json.dumps({"name": "b", "on": on, "workflow": b, "inputs": ["$"]}), code=2
        )
        assert message in bad.stderr
    assert cli.snapshot() == before
    on = {"workflow": a, "operation": "std/utf8-encode"}  # the bytes between a's two steps
    cli.json("trigger", "create", json.dumps({"name": "b", "on": on, "workflow": b, "inputs": ["$"]}))
    assert '"operation": "std/utf8-encode"' in cli("trigger", "show", "b").stdout
    assert "std/utf8-encode" in cli("trigger", "list").stdout
    cli("run", a, "--input", "0=text:hi")
    [firing] = cli.json("trigger", "history", "b")["firings"]
    run = cli.json("runs", "get", firing["run"])
    assert run["status"] == "completed"
    key = cli.json("event", "get", firing["event"])["key"]
    [event] = cli.json("event", "list", "--key", key)["events"]
    encode = cli.json("exec", "get", event["source"])
    assert encode["segment"] == 0 and encode["step"] == 0
