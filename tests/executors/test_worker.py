"""The Python executor (`catenary.remote.Worker`) against a real served node, in threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import pytest

from catenary.api import Server
from catenary.errors import ExecutionFailedError
from catenary.remote import Worker, remote
from catenary.model.filter import ExecutionFilter
from catenary.operations import operation
from catenary.sdk import Node
from catenary.trust.identity import Identity
from tests.executors import remote_ops
from tests.executors.conftest import workflow
from tests.helpers import open_policy


@pytest.fixture
def served(remote_node: Node) -> Iterator[str]:
    server = Server(remote_node, "127.0.0.1:0", policy=open_policy(remote_node)).start()
    yield server.address
    server.stop(grace=1)


class Running:
    """Workers in threads, stopped (and their outcomes kept) at the end."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.outcomes: list = []
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.ids: dict[str, str] = {}  # name -> the worker's did:key

    def start(self, name: str, **kwargs) -> Worker:
        worker = Worker(self.address, [remote_ops.shout, remote_ops.boom, remote_ops.liar], Identity.generate(),
                        lease=5, on_event=self.outcomes.append, **kwargs)
        self.ids[name] = worker.id
        thread = threading.Thread(target=worker.run, args=(self.stop,))
        thread.start()
        self.threads.append(thread)
        return worker

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)


@pytest.fixture
def workers(served: str) -> Iterator[Running]:
    running = Running(served)
    yield running
    running.close()


def test_two_executors_share_the_work_and_none_is_done_twice(remote_node: Node, workers: Running) -> None:
    workers.start("w1")
    workers.start("w2", concurrency=2)
    wf = workflow(remote_node, ([-1], ["test/remote-shout"]))
    words = [f"word{n}" for n in range(8)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda w: remote_node.runs.run(wf.id, {0: [w]})[1].result, words))
    assert results == [w.upper() + "!" for w in words]
    done = [e for e in remote_node.executions.iterate(ExecutionFilter(workflow=wf.id))]
    assert len(done) == 8 and {e.executor for e in done} <= {workers.ids["w1"], workers.ids["w2"]}
    workers.close()
    completed = [o.execution for o in workers.outcomes if o.event == "completed"]
    assert sorted(completed) == sorted(e.hash for e in done)  # each performed exactly once


def test_failures_and_mistyped_outputs_are_reported_failed(remote_node: Node, workers: Running) -> None:
    workers.start("w1")
    with pytest.raises(ExecutionFailedError, match="ValueError: remote boom on 5"):
        remote_node.runs.run(workflow(remote_node, ([-1], ["test/remote-boom"])).id, {0: [5]})
    with pytest.raises(ExecutionFailedError, match="reported an output that does not match its declared "
                                                   "type: output: expected string, got int"):
        remote_node.runs.run(workflow(remote_node, ([-1], ["test/remote-liar"])).id, {0: [5]})
    workers.close()
    assert sorted(o.event for o in workers.outcomes) == ["failed", "failed"]


def test_remote_keeps_the_manifest_and_refuses_what_is_not_an_operation() -> None:
    @operation("test/local-twin", inputs=["int"], output="int")
    def twin(x: int) -> int:
        return x

    made = remote(twin)
    assert made.manifest == twin.manifest and made.version.implementation == {"kind": "remote"}
    assert made.version_id != twin.version_id and remote(made) is made and made.func is twin.func
    with pytest.raises(TypeError, match="write @remote above @operation"):
        remote(lambda x: x)  # type: ignore[arg-type]
