"""Bounded, seeded fuzzing in the normal test run (hypothesis, derandomized): the manifest
loader and the gRPC request decoding path of a real server. The invariants live in
fuzz/targets.py, shared with the long atheris runs (fuzz/fuzz_manifest.py, fuzz/fuzz_grpc.py).

Every input hypothesis generates goes to the target; a broken invariant raises
``fuzz.targets.Crash`` and hypothesis shrinks it to a minimal reproducer, which then
belongs in tests/corpus/ with its fix.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catenary.api import Server
from catenary.cid import block_cid, encode
from catenary.operations import default_registry
from catenary.sdk import Node
from fuzz.targets import GrpcTarget, ManifestTarget, methods, request_types
from tests.helpers import open_policy

# 300 seeded examples per target in the normal run; CATENARY_FUZZ_EXAMPLES=N (and
# CATENARY_FUZZ_RANDOM=1 for fresh randomness) make a longer exploratory run of the same tests.
EXAMPLES = int(os.environ.get("CATENARY_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=not os.environ.get("CATENARY_FUZZ_RANDOM"),
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CORPUS = Path(__file__).resolve().parents[1] / "corpus"

# -- manifests -----------------------------------------------------------------------------------
VERSIONS = sorted(str(op.version_id) for op in default_registry())
KEYS = [
    "id",
    "data",
    "name",
    "creators",
    "description",
    "groups",
    "segments",
    "inputs",
    "sequence",
    "op",
    "version_id",
    "config",
    "algorithm",
    "path",
    "/",
    "bytes",
]
WORDS = [
    "std/hash",
    "std/cid",
    "std/utf8-encode",
    "std/utf8-decode",
    "std/concat",
    "std/equals",
    "std/get",
    "std/if",
    "std/nope",
    "sha2-256",
    "blake3",
    "md5",
    "",
    "bafy",
    *VERSIONS[:4],
]


def valid_manifest(segments: int = 2) -> dict[str, Any]:
    segs = [
        {
            "inputs": [-1],
            "sequence": [
                {"op": "std/utf8-encode", "config": {}},
                {"op": "std/hash", "config": {"algorithm": "blake3"}},
            ],
        }
    ]
    segs += [
        {"inputs": [i, -1], "sequence": [{"op": "std/equals", "config": {}}]} for i in range(segments - 1)
    ]
    return {"data": {"name": "fuzz", "creators": ["a"], "description": "", "groups": [], "segments": segs}}


VALID_TEXT = json.dumps(valid_manifest()).encode()

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([-1, 0, 1, 2, -2, 2**63, 2**64, -(2**63) - 1]),
    st.integers(),
    st.floats(),
    st.sampled_from(WORDS),
    st.text(max_size=8),
    # (fresh objects: shaped_manifests edits what it draws in place)
    st.builds(lambda: {"/": VERSIONS[0]}),
    st.builds(lambda: {"/": {"bytes": "AAE"}}),
)
json_values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5),
    ),
    max_leaves=30,
)


@st.composite
def shaped_manifests(draw: Any) -> Any:
    """A valid manifest with a few of its parts (at any depth) replaced by random JSON."""
    manifest = valid_manifest(draw(st.integers(1, 3)))
    for _ in range(draw(st.integers(1, 3))):
        node: Any = manifest
        while isinstance(node, (dict, list)) and node and draw(st.integers(0, 3)):
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            key = draw(st.sampled_from(keys))
            if not isinstance(node[key], (dict, list)) or not node[key] or draw(st.booleans()):
                node[key] = copy.deepcopy(draw(json_values))
                break
            node = node[key]
        else:
            if isinstance(node, dict):
                node[draw(st.sampled_from(KEYS))] = copy.deepcopy(draw(json_values))
    return manifest


@st.composite
def mutated_bytes(draw: Any, seed: bytes) -> bytes:
    """``seed`` with a few bytes flipped, inserted or deleted."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        where = draw(st.integers(0, max(len(data) - 1, 0)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "byte"]))
        if action == "flip" and data:
            data[where] ^= 1 << draw(st.integers(0, 7))
        elif action == "insert":
            data[where:where] = draw(
                st.sampled_from(
                    [
                        b"{",
                        b"}",
                        b"[",
                        b"]",
                        b",",
                        b":",
                        b'"',
                        b"-1",
                        b"\\u",
                        b"\xff",
                        b"NaN",
                        b"1e999",
                        b"\x00",
                    ]
                )
            )
        elif action == "delete" and data:
            del data[where : where + draw(st.integers(1, 8))]
        elif data:
            data[where] = draw(st.integers(0, 255))
    return bytes(data)


@pytest.fixture(scope="module")
def manifest_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManifestTarget]:
    target = ManifestTarget(tmp_path_factory.mktemp("fuzz-manifest") / "data")
    yield target
    target.close()


@FUZZ
@given(st.one_of(st.binary(max_size=400), mutated_bytes(VALID_TEXT)))
def test_fuzz_manifest_loader_with_bytes(manifest_target: ManifestTarget, data: bytes) -> None:
    manifest_target(data)


@FUZZ
@given(st.one_of(shaped_manifests(), json_values), st.booleans())
def test_fuzz_manifest_loader_with_structures(
    manifest_target: ManifestTarget, manifest: Any, as_text: bool
) -> None:
    # As JSON text (through the parser: NaN and Infinity become tokens) or as Python data.
    manifest_target(json.dumps(manifest) if as_text else manifest)


def test_manifest_fuzzing_reached_acceptance(manifest_target: ManifestTarget) -> None:
    """The generators are not all garbage: some manifests were valid (and stored)."""
    if manifest_target.runs < 2 * EXAMPLES:
        pytest.skip("runs after the fuzz tests of this module")
    assert manifest_target.accepted > 0


# -- gRPC ----------------------------------------------------------------------------------------
@dataclass
class Served:
    node: Node
    server: Server
    target: GrpcTarget
    pool: list[bytes]  # the binary CIDs of things this node has, plus some it has not


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    node = Node(tmp_path_factory.mktemp("fuzz-grpc") / "data", max_value_size=256 * 1024)
    wf = node.workflows.create(valid_manifest(2)).id
    decode_wf = node.workflows.create(
        {
            "data": {
                **valid_manifest(1)["data"],
                "segments": [{"inputs": [-1], "sequence": [{"op": "std/utf8-decode", "config": {}}]}],
            }
        }
    ).id
    node.runs.run(wf, {0: ["x"], 1: [b"y"]})
    runs = [node.runs.new(wf).id for _ in range(3)] + [node.runs.new(decode_wf).id for _ in range(3)]
    executions = [e.hash for e in node.executions.iterate()]
    values = [node.values.put(v) for v in ("x", b"y", {"a": [1]})]
    pool = [
        c.cid_bytes
        for c in [wf, decode_wf, *runs, *executions, *values, *(op.version_id for op in default_registry())]
    ]
    pool += [block_cid(b"unknown").cid_bytes, b"", b"\x01\x71", b"\x00" * 38]
    server = Server(node, "127.0.0.1:0", policy=open_policy(node), max_workers=32).start()
    target = GrpcTarget(node, server.address)
    yield Served(node, server, target, pool)
    target.close()
    server.stop(grace=1)
    node.close()


METHODS = methods()
TYPES = request_types()
CORPUS_REQUESTS = sorted(
    (c["method"], (CORPUS / c["file"]).read_bytes())
    for c in json.loads((CORPUS / "index.json").read_text())["cases"]
    if c["kind"] == "request"
)

small_values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.text(max_size=6), st.binary(max_size=6)
    ),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=6,
)
INTS = {
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_ENUM: (-(2**31), 2**31 - 1),
}


def scalar(data: st.DataObject, field: FieldDescriptor, pool: list[bytes]) -> Any:
    kind = field.type
    if kind == FieldDescriptor.TYPE_BYTES:
        # Mostly ids this node has (to get past the CID checks), else anything.
        return data.draw(
            st.one_of(
                st.sampled_from(pool), st.sampled_from(pool), st.binary(max_size=40), small_values.map(encode)
            )
        )
    if kind == FieldDescriptor.TYPE_STRING:
        return data.draw(
            st.one_of(
                st.text(max_size=20),
                st.sampled_from(
                    [VALID_TEXT.decode(), json.dumps(valid_manifest(3)), "gwECSPbERgqeqUtg", "AAAA"]
                ),
            )
        )
    if kind == FieldDescriptor.TYPE_BOOL:
        return data.draw(st.booleans())
    if kind == FieldDescriptor.TYPE_DOUBLE:
        return data.draw(st.floats())
    low, high = INTS[kind]
    return data.draw(st.one_of(st.integers(0, 5), st.integers(low, high)))


def fill(data: st.DataObject, message: Any, pool: list[bytes], depth: int = 0) -> Any:
    """Set a random subset of ``message``'s fields to values of their types."""
    for field in message.DESCRIPTOR.fields:
        if not data.draw(st.booleans()):
            continue
        target = getattr(message, field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            target.update(data.draw(st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=3)))
        elif field.message_type is not None and depth < 2:
            if field.is_repeated:
                for _ in range(data.draw(st.integers(0, 2))):
                    fill(data, target.add(), pool, depth + 1)
            else:
                fill(data, target, pool, depth + 1)
        elif field.message_type is not None:
            continue
        elif field.is_repeated:
            target.extend(scalar(data, field, pool) for _ in range(data.draw(st.integers(0, 3))))
        else:
            setattr(message, field.name, scalar(data, field, pool))
    return message


@FUZZ
@given(st.sampled_from(METHODS), st.integers(0, 3), st.data())
def test_fuzz_grpc_request_decoding(served: Served, method: str, shape: int, data: st.DataObject) -> None:
    if shape == 0:  # arbitrary bytes
        request = data.draw(st.binary(max_size=200), label="bytes")
    elif shape == 1:  # a well-formed message with random fields
        request = fill(data, TYPES[method](), served.pool).SerializeToString()
    elif shape == 2:  # the same, then damaged
        request = data.draw(mutated_bytes(fill(data, TYPES[method](), served.pool).SerializeToString()))
    else:  # a corpus request, sent to its method or to another one, maybe damaged
        method, seed = data.draw(st.sampled_from(CORPUS_REQUESTS), label="corpus")
        method = data.draw(st.sampled_from([method, *METHODS]), label="method")
        request = data.draw(st.one_of(st.just(seed), mutated_bytes(seed)), label="request")
    served.target(method, request)


def test_the_fuzzed_server_still_serves(served: Served) -> None:
    """After the garbage, the server is alive and every answer was a well-formed status."""
    channel = grpc.insecure_channel(served.server.address)
    try:
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    finally:
        channel.close()
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    assert set(served.target.counts) <= {
        "OK",
        "INVALID_ARGUMENT",
        "NOT_FOUND",
        "RESOURCE_EXHAUSTED",
        "ALREADY_EXISTS",
        "FAILED_PRECONDITION",
        "ABORTED",
    }
