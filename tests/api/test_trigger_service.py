"""The Trigger and Schedule gRPC services on a real server: the Python client manages a remote
node's triggers and schedules as node.triggers / node.schedules do locally; changes answer to
the policy's create_workflow rule; refusals store nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from catenary.api import Server
from catenary.client import Client
from catenary.errors import (
    AlreadyExistsError,
    AuthenticationError,
    ManifestError,
    NotFoundError,
    PermissionDeniedError,
)
from catenary.sdk import Node
from catenary.trust.identity import Identity

INC = json.dumps(
    {
        "data": {
            "name": "inc",
            "creators": [],
            "description": "",
            "groups": [],
            "segments": [{"inputs": [-1], "sequence": [{"op": "test/inc", "config": {}}]}],
        }
    }
)


@pytest.fixture
def bob() -> Identity:
    return Identity.generate()


@pytest.fixture
def alice() -> Identity:
    return Identity.generate()


@pytest.fixture
def served(node: Node, alice: Identity, bob: Identity) -> Iterator[Server]:
    """Bob may manage triggers and schedules; alice may only read."""
    (node.data_dir / "policy.toml").write_text(
        f'[rules]\ncreate_workflow = ["self", "{bob.id}"]\nread = ["self", "{alice.id}", "{bob.id}"]\n'
    )
    server = Server(node, "127.0.0.1:0", max_workers=8).start()
    yield server
    server.stop(grace=1)


def _trigger(workflow: str) -> dict[str, object]:
    return {"name": "bump", "on": "number.ready", "workflow": workflow, "inputs": ["$.n"]}


def test_manage_triggers_and_schedules_over_grpc(served: Server, node: Node, bob: Identity) -> None:
    wf = node.workflows.create(INC)
    with Client(served.address, key=bob) as client:
        row = client.triggers.create(_trigger(str(wf.id)))
        assert row.enabled and row.definition["workflow"] == str(wf.id)
        assert client.triggers.get("bump") == node.triggers.get("bump") == row
        assert [r.name for r in client.triggers.list()] == ["bump"]

        assert not client.triggers.enable("bump", False).enabled
        stored = node.events.emit("number.ready", {"n": 41})
        assert client.triggers.history("bump") == []
        assert client.triggers.enable("bump").enabled  # fires on the event stored meanwhile
        [firing] = client.triggers.history("bump", status="fired")
        assert firing.event == stored.id and firing.reason is None
        assert node.values.get(node.runs.get(firing.run).outputs[0].output) == 42
        assert client.triggers.history(status="failed") == []

        client.triggers.delete("bump")
        assert client.triggers.list() == [] and len(client.triggers.history("bump")) == 1

        added = client.schedules.add("tick", "* * * * *", "clock.tick", {"kind": "minute"}, start=1000)
        assert added == node.schedules.get("tick") and added.last_tick == 1000
        assert client.schedules.get("tick") == added and client.schedules.list() == [added]
        node.schedules.run_due(now=1000 + 60)
        [(tick, event)] = client.schedules.ticks("tick")
        assert tick == 1020 and node.events.get(event).event.key == "clock.tick"
        client.schedules.remove("tick")
        assert node.schedules.list() == []


def test_refusals_name_what_and_store_nothing(
    served: Server, node: Node, alice: Identity, bob: Identity
) -> None:
    wf = node.workflows.create(INC)
    with Client(served.address, key=alice) as reader:
        with pytest.raises(PermissionDeniedError, match="rules.create_workflow"):
            reader.triggers.create(_trigger(str(wf.id)))
        with pytest.raises(PermissionDeniedError, match="rules.create_workflow"):
            reader.schedules.add("tick", "* * * * *", "clock.tick")
        assert reader.triggers.list() == []  # reading is allowed
    with Client(served.address) as anonymous, pytest.raises(AuthenticationError):
        anonymous.triggers.list()
    with Client(served.address, key=Identity.generate()) as stranger, pytest.raises(PermissionDeniedError):
        stranger.triggers.list()

    with Client(served.address, key=bob) as client:
        with pytest.raises(ManifestError, match=r"^\$\.inputs: segment 0 .* takes 1 external input"):
            client.triggers.create({**_trigger(str(wf.id)), "inputs": []})
        with pytest.raises(ManifestError, match=r"^\$\.colour: unknown field"):
            client.triggers.create({**_trigger(str(wf.id)), "colour": "red"})
        with pytest.raises(ManifestError, match="^--cron"):
            client.schedules.add("tick", "61 * * * *", "clock.tick")
        with pytest.raises(NotFoundError, match="no trigger named 'nope'"):
            client.triggers.get("nope")
        with pytest.raises(NotFoundError, match="no schedule named 'nope'"):
            client.schedules.remove("nope")
        client.triggers.create(_trigger(str(wf.id)))
        with pytest.raises(AlreadyExistsError):
            client.triggers.create(_trigger(str(wf.id)))
    assert [r.name for r in node.triggers.list()] == ["bump"] and node.schedules.list() == []


def test_a_result_source_over_grpc_keeps_its_form_and_is_refused_by_path(
    served: Server, node: Node, bob: Identity
) -> None:
    wf = node.workflows.create(INC)
    then = node.workflows.create(INC.replace('"inc"', '"then"'))
    with Client(served.address, key=bob) as client:
        bad = {
            "name": "next",
            "on": {"workflow": str(wf.id), "operation": "test/add"},
            "workflow": str(wf.id),
        }
        with pytest.raises(ManifestError, match=r"^\$\.on\.operation: no step of workflow 'inc' runs"):
            client.triggers.create({**bad, "inputs": ["$"]})
        with pytest.raises(ManifestError, match=r"^\$\.on\.segmnt: unknown field"):
            client.triggers.create({**bad, "on": {"workflow": str(wf.id), "segmnt": 0}, "inputs": ["$"]})
        assert node.triggers.list() == []
        on = {"workflow": str(wf.id), "segment": 0}
        row = client.triggers.create({"name": "next", "on": on, "workflow": str(then.id), "inputs": ["$"]})
        assert row.definition["on"] == on and node.triggers.get("next") == row
