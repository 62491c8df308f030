"""`catenary serve --http ... --webhook`: events over POST /hooks/events/KEY, with curl against a
real server. An allowed caller's body becomes an event (stored before the 201) that starts the
triggered workflow; no token is 401, a key the policy refuses 403, a body over the cap 413,
malformed JSON 400, and a refused call stores nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_cli import Cli
from tests.helpers import snapshot

from .test_serve import serve, stop

ENCODE = {
    "data": {
        "name": "encode",
        "creators": [],
        "description": "",
        "groups": [],
        "segments": [{"inputs": [-1], "sequence": [{"op": "std/utf8-encode", "config": {}}]}],
    }
}


def _catenary(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "catenary", *args], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


def _curl(url: str, *args: str) -> tuple[int, str]:
    done = subprocess.run(
        ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-X", "POST", url, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    body, _, code = done.stdout.rpartition("\n")
    return int(code), body


@pytest.fixture
def hook(tmp_path: Path):
    data = tmp_path / "data"
    cli = Cli(data)
    (tmp_path / "wf.json").write_text(json.dumps(ENCODE))
    wf = cli.json("workflow", "create", str(tmp_path / "wf.json"))["id"]
    cli.json(
        "trigger",
        "create",
        json.dumps({"name": "t", "on": "photo.uploaded", "workflow": wf, "inputs": ["$.name"]}),
    )
    keys = {}
    for name in ("alice", "bob"):
        keys[name] = tmp_path / f"{name}.pem"
        _catenary("key", "new", str(keys[name]))
    alice = _catenary("key", "show", "--key", str(keys["alice"]))
    node = _catenary("key", "show", "--key", str(data / "node_key.pem"))
    (data / "policy.toml").write_text(f'[[rules.emit]]\nkeys = ["{alice}"]\nevents = ["photo.uploaded"]\n')
    proc = serve(data, "--http", "127.0.0.1:0", "--webhook")
    line = proc.stdout.readline() if proc.stdout else ""
    assert line.startswith("explorer on "), proc.stderr.read() if proc.stderr else ""

    def token(who: str) -> str:
        return _catenary("key", "token", "hooks/events", "--audience", node, "--key", str(keys[who]))

    yield cli, line.split()[-1], token, alice, node
    stop(proc)


def test_an_allowed_post_is_stored_then_starts_the_triggered_workflow(hook) -> None:
    cli, url, token, alice, node = hook
    auth = ["-H", f"Authorization: Bearer {token('alice')}"]
    code, body = _curl(
        f"{url}/hooks/events/photo.uploaded",
        *auth,
        "-H",
        "Content-Type: application/json",
        "-d",
        '{"name": "a.jpg"}',
    )
    assert code == 201, body
    answer = json.loads(body)
    assert (answer["key"], answer["emitter"]) == ("photo.uploaded", node)  # the node signs it
    event = cli.json("event", "get", answer["id"])
    assert event["value"] == {"name": "a.jpg"}  # stored before the answer
    [firing] = cli.json("trigger", "history", "t")["firings"]
    assert (firing["event"], firing["status"]) == (answer["id"], "fired")
    run = cli.json("runs", "get", firing["run"])
    assert run["status"] == "completed"
    # the same token again is a replay; a raw body is kept as bytes
    assert _curl(f"{url}/hooks/events/photo.uploaded", *auth, "-d", "x")[0] == 401
    code, body = _curl(
        f"{url}/hooks/events/photo.uploaded",
        "-H",
        f"Authorization: Bearer {token('alice')}",
        "-H",
        "Content-Type: application/octet-stream",
        "--data-binary",
        "raw bytes",
    )
    assert code == 201 and cli.json("event", "get", json.loads(body)["id"])["value"] == {
        "/": {"bytes": "cmF3IGJ5dGVz"}
    }


def test_refused_posts_answer_why_and_store_nothing(hook, tmp_path: Path) -> None:
    cli, url, token, alice, node = hook
    before = snapshot(cli.data_dir / "catenary.db")
    target = f"{url}/hooks/events/photo.uploaded"
    json_type = ["-H", "Content-Type: application/json"]

    code, body = _curl(target, *json_type, "-d", "{}")
    assert code == 401 and "Bearer" in json.loads(body)["error"]
    code, body = _curl(target, "-H", "Authorization: Bearer nonsense", "-d", "{}")
    assert code == 401 and "malformed token" in json.loads(body)["error"]
    code, body = _curl(target, "-H", f"Authorization: Bearer {token('bob')}", *json_type, "-d", "{}")
    assert code == 403 and "rules.emit" in json.loads(body)["error"]
    other = f"{url}/hooks/events/photo.deleted"  # alice may emit photo.uploaded only
    code, body = _curl(other, "-H", f"Authorization: Bearer {token('alice')}", *json_type, "-d", "{}")
    assert code == 403
    big = tmp_path / "big"
    big.write_bytes(b"x" * 300_000)
    code, body = _curl(target, "-H", f"Authorization: Bearer {token('alice')}", "--data-binary", f"@{big}")
    assert code == 413 and "event data cap" in json.loads(body)["error"]
    code, body = _curl(target, "-H", f"Authorization: Bearer {token('alice')}", *json_type, "-d", "{nope")
    assert code == 400 and "not JSON" in json.loads(body)["error"]
    code, body = _curl(f"{url}/hooks/events/Not%20A%20Key", "-H", f"Authorization: Bearer {token('alice')}")
    assert code == 400 and "event key" in json.loads(body)["error"]
    assert snapshot(cli.data_dir / "catenary.db") == before


def test_the_webhook_is_off_by_default_and_needs_http(tmp_path: Path) -> None:
    proc = serve(tmp_path / "data", "--http", "127.0.0.1:0")
    try:
        url = (proc.stdout.readline() if proc.stdout else "").split()[-1]
        code, _ = _curl(f"{url}/hooks/events/photo.uploaded", "-d", "{}")
        assert code == 404
    finally:
        stop(proc)
    refused = subprocess.run(
        [sys.executable, "-m", "catenary", "--data-dir", str(tmp_path / "d2"), "serve", "--webhook"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "--http" in refused.stderr
