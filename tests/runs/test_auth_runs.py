"""Run.Submit and Run.Cancel answer to the policy's run rule, like Run.Next: a stranger is
refused and nothing changes; the run's error names the key that cancelled it."""

from __future__ import annotations

import json

import pytest

from catenary.api import Server
from catenary.client import Client
from catenary.errors import PermissionDeniedError
from catenary.runs.follow import follow
from catenary.trust.identity import Identity
from tests.helpers import manifest

LONG = manifest(([-1], [("runs/slow", {"seconds": "1"})] * 5), name="long")


def test_submit_and_cancel_need_the_run_rule(make_node) -> None:
    node = make_node(operations=["tests.runs.runs_ops"])
    wf = node.workflows.create(json.dumps(LONG))
    server = Server(node, "127.0.0.1:0", max_workers=16).start()  # default policy: only "self"
    try:
        with Client(server.address, key=Identity.generate()) as stranger:
            with pytest.raises(PermissionDeniedError, match="rules.run"):
                stranger.runs.submit(wf.id, {0: [0]})
            assert node.runs.list() == []
            state = node.runs.submit(wf.id, {0: [0]})
            with pytest.raises(PermissionDeniedError, match="rules.run"):
                stranger.runs.cancel(state.id)
        with Client(server.address, key=node.identity) as own:
            asked = own.runs.cancel(state.id, "by its own key")
            assert asked.status == "running"
            ended = follow(own, state.id)
        assert (ended.status, ended.error) == ("cancelled", f"cancelled by {node.id}: by its own key")
    finally:
        server.stop(grace=1)
