"""Execution.Updates in batches (UpdatesRequest.batch): the same executions in the same seq
order as one per message, resumable from any seq, also one inside a batch."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import grpc
import pytest

from catenary.api import Server
from catenary.client import Client
from catenary.model import Execution
from catenary.proto.api import execution_pb2, execution_pb2_grpc
from catenary.proto.definition import execution_pb2 as execution_def_pb2
from catenary.sdk import Node
from tests.api.conftest import chain_manifest


def make_runs(client: Client, count: int, steps: int = 4) -> None:
    wf = client.workflows.create(json.dumps(chain_manifest(steps)))
    for i in range(count):
        client.runs.run(wf.id, {0: [i]})


def take(client: Client, since_seq: int, until_seq: int, batch: int) -> list[Execution]:
    """Every execution after ``since_seq`` up to ``until_seq`` through the Python client."""
    out: list[Execution] = []
    stop = threading.Event()
    for execution in client.executions.updates(since_seq=since_seq, stop=stop, batch=batch):
        out.append(execution)
        if execution.seq >= until_seq:
            break
    stop.set()
    return out


@pytest.fixture
def stub(server: Server) -> Iterator[execution_pb2_grpc.ExecutionStub]:
    with grpc.insecure_channel(server.address) as channel:
        yield execution_pb2_grpc.ExecutionStub(channel)


def raw_messages(
    stub: execution_pb2_grpc.ExecutionStub, since_seq: int, batch: int, count: int
) -> list[execution_def_pb2.Execution]:
    call = stub.Updates(execution_pb2.UpdatesRequest(since_seq=since_seq, batch=batch))
    messages = []
    for message in call:
        messages.append(message)
        if len(messages) == count:
            break
    call.cancel()
    return messages


def test_batched_replay_is_the_unbatched_one(client: Client, node: Node) -> None:
    make_runs(client, 6)
    top = node.executions.latest_seq()
    one_by_one = take(client, 0, top, batch=0)
    assert [e.seq for e in one_by_one] == list(range(1, top + 1))
    for batch in (1, 5, 1000):
        assert take(client, 0, top, batch=batch) == one_by_one, batch


def test_envelopes_carry_several_and_unbatched_messages_none(
    client: Client, node: Node, stub: execution_pb2_grpc.ExecutionStub
) -> None:
    make_runs(client, 3)
    top = node.executions.latest_seq()
    envelopes = raw_messages(stub, 0, 5, -(-top // 5))
    assert [len(m.batch) for m in envelopes] == [5] * (top // 5) + ([top % 5] if top % 5 else [])
    assert all(not m.hash for m in envelopes)  # an envelope's own fields stay unset
    # The default (old clients, buf curl): each message is the execution itself.
    single = raw_messages(stub, 0, 0, top)
    assert all(not m.batch for m in single)
    assert [m.seq for m in single] == [e.seq for m in envelopes for e in m.batch]


def test_resume_from_a_seq_inside_a_batch(
    client: Client, node: Node, stub: execution_pb2_grpc.ExecutionStub
) -> None:
    make_runs(client, 4)
    top = node.executions.latest_seq()
    first = raw_messages(stub, 0, 5, 1)[0]
    assert len(first.batch) == 5
    middle = first.batch[2].seq  # the client saw three of the five, then lost the stream
    make_runs(client, 2)  # changes while it was away
    total = node.executions.latest_seq()
    resumed = take(client, middle, total, batch=5)
    assert [e.seq for e in resumed] == list(range(middle + 1, total + 1))
    assert resumed == take(client, middle, total, batch=0)
    assert total > top


def test_live_changes_arrive_batched_in_seq_order(client: Client, node: Node) -> None:
    ready, stop = threading.Event(), threading.Event()
    received: list[Execution] = []

    def listen() -> None:
        for execution in client.executions.updates(from_now=True, ready=ready, stop=stop, batch=50):
            received.append(execution)

    thread = threading.Thread(target=listen)
    thread.start()
    assert ready.wait(10)
    start = node.executions.latest_seq()
    make_runs(client, 5)
    top = node.executions.latest_seq()
    deadline = time.monotonic() + 20
    while (not received or received[-1].seq < top) and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(10)
    assert [e.seq for e in received] == list(range(start + 1, top + 1))
    assert received == take(client, start, top, batch=0)
