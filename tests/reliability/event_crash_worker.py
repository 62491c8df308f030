"""The node the event crash test kills: serves gRPC with a trigger that starts a small workflow.

Runs in a child process (forkserver, so no import cost per kill). It opens the data dir,
fires what a previous kill left pending (as ``catenary serve`` does at start), then serves
until killed. The workflow, the trigger and the policy are made on the first start only.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from catenary.api import Server
from catenary.sdk import Node

from .crash_worker import mix

KEY = "burst.item"
TRIGGER = "burst"


def manifest() -> dict[str, Any]:
    step = {"op": "crash/mix", "config": {}}
    return {
        "data": {
            "name": "event crash workload",
            "creators": [],
            "description": "",
            "groups": [],
            "segments": [{"inputs": [-1], "sequence": [step, step]}],
        }
    }


def policy(emitter: str) -> str:
    return (
        f'[rules]\nread = ["self", "{emitter}"]\n\n'
        f'[[rules.emit]]\nkeys = ["self", "{emitter}"]\nevents = ["{KEY}"]\n'
    )


def serve(data_dir: str, emitter: str, address_file: str, db: str | None = None) -> None:
    """Serve until killed (on SQLite, or PostgreSQL at ``db``); write the bound address to
    ``address_file`` once serving."""
    path = Path(data_dir)
    path.mkdir(parents=True, exist_ok=True)
    if not (path / "policy.toml").exists():
        (path / "policy.toml").write_text(policy(emitter))
    node = Node(path, db=db)
    node.registry.add(mix)
    node.operations.publish()
    wf = node.workflows.create(manifest())  # the same id each time: stored once
    if not node.triggers.list():
        node.triggers.create({"name": TRIGGER, "on": KEY, "workflow": str(wf.id), "inputs": ["$.n"]})
    node.triggers.dispatch()  # catch up, as `catenary serve` does
    server = Server(node, "127.0.0.1:0", max_workers=8).start()
    Path(address_file + ".tmp").write_text(json.dumps({"address": server.address}))
    Path(address_file + ".tmp").rename(address_file)
    while True:
        time.sleep(3600)
