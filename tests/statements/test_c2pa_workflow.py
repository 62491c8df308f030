"""The demo's C2PA workflow on a node: ownership from the signed fields, and every bad image a
run that ends in null with what failed recorded, never a traceback or a failed run."""

from __future__ import annotations

import copy
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from catenary import Node
from catenary.cid import decode
from catenary.errors import VerificationError
from catenary.trust.identity import Identity

DEMO = Path(__file__).resolve().parents[2] / "examples" / "camera-ownership"
_spec = importlib.util.spec_from_file_location("make_c2pa_photo", DEMO / "make_c2pa_photo.py")
photo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(photo)
CLAIM = {"owns": {"camera": "CX1-004217", "lens": "L35-99812"}}


@pytest.fixture(scope="module")
def signed() -> tuple[bytes, str]:
    return photo.sign_photo("CX1-004217", "L35-99812")


@pytest.fixture
def c2pa_node(make_node: Callable[..., Node], tmp_path: Path, signed) -> tuple[Node, object]:
    node = make_node(data_dir=tmp_path / "owner", operations=[], db=None)
    manifest = json.loads((DEMO / "manifest-c2pa.json").read_text())
    manifest = copy.deepcopy(manifest)
    manifest["data"]["segments"][0]["sequence"][0]["config"]["trust_anchors"] = signed[1]
    return node, node.workflows.create(manifest)


def _facts(node: Node, final) -> dict:
    """What std/c2pa found (segment 0's output in the proof's ancestry)."""
    lineage = node.store.lineage(final, "ancestors", 0)
    [first] = [e for e in lineage.executions if e.segment == 0]
    return decode(node.store.get_block(first.output))


def test_signed_photo_proves_ownership_and_the_statement_holds(c2pa_node, signed) -> None:
    node, wf = c2pa_node
    _, result = node.runs.run(wf.id, {0: [signed[0]]})
    assert result.result["BodySerialNumber"] == "CX1-004217"
    assert result.result["LensSerialNumber"] == "L35-99812"
    _, envelope = node.statements.create(result.final, CLAIM, Identity.generate())
    assert node.statements.verify(envelope).ok


def _without_manifest(data: bytes) -> bytes:
    """The JPEG without its APP11 segments (where C2PA keeps its JUMBF boxes)."""
    out, i = bytearray(data[:2]), 2
    while data[i + 1] != 0xDA:  # up to the start of scan
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if data[i + 1] != 0xEB:
            out += data[i : i + 2 + length]
        i += 2 + length
    return bytes(out + data[i:])


@pytest.mark.parametrize("case", ["edited", "not an image", "no manifest", "wrong chain"])
def test_bad_images_end_in_null_and_no_statement(c2pa_node, signed, make_node, tmp_path, case) -> None:
    node, wf = c2pa_node
    image = {
        "edited": photo.edited(signed[0]),
        "not an image": b"%PDF-1.7 not an image",
        "no manifest": _without_manifest(signed[0]),
        "wrong chain": signed[0],
    }[case]
    if case == "wrong chain":
        other = photo.pem(photo.test_root("another TEST root")[1])
        manifest = json.loads((DEMO / "manifest-c2pa.json").read_text())
        manifest["data"]["segments"][0]["sequence"][0]["config"]["trust_anchors"] = other
        wf = node.workflows.create(manifest)
    state, result = node.runs.run(wf.id, {0: [image]})
    assert result.done and result.result is None
    assert state.status == "completed"
    facts = _facts(node, result.final)
    assert (
        facts["valid"] is False
        and facts["failures"][0]["code"]
        == {
            "edited": "assertion.dataHash.mismatch",
            "not an image": "image.unsupported",
            "no manifest": "manifest.missing",
            "wrong chain": "signingCredential.untrusted",
        }[case]
    )
    with pytest.raises(VerificationError, match="the proven result is null"):
        node.statements.create(result.final, CLAIM, Identity.generate())
    assert node.statements.list() == []
