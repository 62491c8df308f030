"""The IPFS Trustless Gateway of a served node, read by clients that are not catenary: the
block's CID is checked here with hashlib and a multihash decoder written in this file, and the
CAR is read by the official JavaScript @ipld/car reader."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from catenary.cid import cid_of
from tests.network.nodes import Served, run_on

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".tools"
READ_CAR = ROOT / "tests" / "trust" / "read_car.mjs"


def get(
    url: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def check_cid(text: str, body: bytes) -> tuple[int, int]:
    """The CID's multihash against the body, by hand; returns (codec, multihash code)."""
    assert text.startswith("b")  # multibase base32, lower case, no padding
    raw = base64.b32decode(text[1:].upper() + "=" * (-len(text[1:]) % 8))
    version, pos = varint(raw, 0)
    codec, pos = varint(raw, pos)
    code, pos = varint(raw, pos)
    length, pos = varint(raw, pos)
    digest = raw[pos:]
    assert version == 1 and len(digest) == length
    if code == 0xB220:  # blake2b-256
        assert hashlib.blake2b(body, digest_size=32).digest() == digest
    elif code == 0x12:  # sha2-256
        assert hashlib.sha256(body).digest() == digest
    else:
        raise AssertionError(f"multihash code {code:#x}")
    return codec, code


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, dict[str, Any]]]:
    node = Served(tmp_path_factory.mktemp("gateway") / "a").start()
    try:
        yield node, run_on(node)
    finally:
        node.kill()


def test_a_raw_block_is_what_its_cid_says(served: tuple[Served, dict[str, Any]]) -> None:
    node, run = served
    final = run["final"]
    e = run["executions"][final]
    for cid in (final, str(e.key), str(e.output), str(e.workflow), str(e.run), str(e.operation)):
        status, headers, body = get(f"{node.gateway}/ipfs/{cid}?format=raw")
        assert status == 200, body
        assert check_cid(cid, body) == (0x71, 0xB220)  # dag-cbor, blake2b-256
        assert headers["content-type"] == "application/vnd.ipld.raw"
        assert headers["content-disposition"] == f'attachment; filename="{cid}.bin"'
        assert headers["etag"] == f'"{cid}.raw"'
        assert headers["x-ipfs-roots"] == cid
        assert "immutable" in headers["cache-control"]
    # the Accept header alone asks for the same
    status, _, body = get(f"{node.gateway}/ipfs/{final}", {"Accept": "application/vnd.ipld.raw"})
    assert status == 200 and check_cid(final, body)
    status, headers, body = get(f"{node.gateway}/ipfs/{final}?format=raw", method="HEAD")
    assert status == 200 and body == b"" and headers["etag"] == f'"{final}.raw"'


def test_gateway_refusals(served: tuple[Served, dict[str, Any]]) -> None:
    node, run = served
    final = run["final"]
    unknown = str(cid_of("a value no node holds"))
    status, _, body = get(f"{node.gateway}/ipfs/{unknown}?format=raw")
    assert status == 404 and unknown in json.loads(body)["error"]
    status, _, body = get(f"{node.gateway}/ipfs/{final}")  # no format, no Accept: strict mode
    assert status == 400 and "format=raw" in json.loads(body)["error"]
    status, _, body = get(f"{node.gateway}/ipfs/{final}?format=tar")
    assert status == 400
    status, _, _ = get(f"{node.gateway}/ipfs/{final}", {"Accept": "application/vnd.ipld.car; dups=y"})
    assert status == 400
    status, _, body = get(f"{node.gateway}/ipfs/not-a-cid?format=raw")
    assert status == 400 and "not-a-cid" in json.loads(body)["error"]
    status, _, _ = get(f"{node.gateway}/ipfs/{final}", method="POST")
    assert status == 405
    # the spec's probe
    assert get(f"{node.gateway}/ipfs/bafkqaaa?format=raw")[::2] == (200, b"")


def read_with_js(tmp_path: Path, car: bytes) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not (TOOLS / "node_modules" / "@ipld" / "car" / "package.json").exists():
        pytest.fail("node and the npm packages under .tools (make test) are needed for this test")
    path = tmp_path / "dag.car"
    path.write_bytes(car)
    proc = subprocess.run(
        [node, str(READ_CAR), str(TOOLS), str(path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def test_a_car_is_read_by_the_javascript_ipld_reader(
    served: tuple[Served, dict[str, Any]], tmp_path: Path
) -> None:
    node, run = served
    final = run["final"]
    status, headers, body = get(f"{node.gateway}/ipfs/{final}?format=car")
    assert status == 200
    assert headers["content-type"] == "application/vnd.ipld.car; version=1; order=dfs; dups=n"
    assert headers["content-disposition"] == f'attachment; filename="{final}.car"'
    assert headers["etag"].startswith("W/") and "all" in headers["etag"]
    seen = read_with_js(tmp_path, body)
    assert seen["roots"] == [final]
    assert seen["bad_cids"] == []  # every block's blake2b-256 is its CID's digest, per JS
    assert seen["missing"] == [] and seen["reached"] == seen["blocks"]  # the whole DAG, each once
    # the root's ancestry is in it: every execution of the run, with its workflow and values
    assert seen["blocks"] > len(run["executions"]) + 3
    assert seen["root_execution_keys"] == sorted(
        ["workflow", "segment", "step", "operation", "config", "parents", "inputs"]
    )
    # dag-scope=block: the root block alone; the Accept header asks for a CAR too
    status, headers, body = get(
        f"{node.gateway}/ipfs/{final}?dag-scope=block", {"Accept": "application/vnd.ipld.car"}
    )
    assert status == 200 and "block" in headers["etag"]
    one = read_with_js(tmp_path, body)
    assert one["blocks"] == 1 and one["bad_cids"] == [] and one["roots"] == [final]


def test_reading_follows_the_policy(make_node: Callable[..., Served]) -> None:
    """Without `anonymous` in rules.read, a caller shows a call token of an allowed key."""
    from catenary.trust.identity import Identity
    from catenary.trust.token import issue

    node = make_node("closed", start=False)
    reader, stranger = Identity.generate(), Identity.generate()
    (node.data_dir / "policy.toml").write_text(f'[rules]\nread = ["self", "{reader.id}"]\n')
    node.start()
    url = f"{node.gateway}/ipfs/bafkqaaa?format=raw"
    status, _, body = get(url)
    assert status == 401 and "Bearer" in json.loads(body)["error"]
    token = issue(stranger, node.id, "/ipfs")
    status, _, body = get(url, {"Authorization": f"Bearer {token}"})
    assert status == 403 and stranger.id in json.loads(body)["error"]
    token = issue(reader, node.id, "/ipfs")
    assert get(url, {"Authorization": f"Bearer {token}"})[0] == 200
    assert get(url, {"Authorization": f"Bearer {token}"})[0] == 401  # a token is used once
