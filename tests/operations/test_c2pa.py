"""std/c2pa on a photo signed by a throwaway test chain (the demo's TEST signer): the facts of a
good manifest, and a clear map of what failed for every kind of bad input, never an exception."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import pytest
from PIL import Image

from catenary.cid import cid_of
from catenary.operations.c2pa import c2pa

_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "camera-ownership" / "make_c2pa_photo.py"
_spec = importlib.util.spec_from_file_location("make_c2pa_photo", _EXAMPLE)
photo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(photo)


@pytest.fixture(scope="module")
def signed() -> tuple[bytes, str]:
    return photo.sign_photo("CX1-004217", "L35-99812")


def _codes(facts: dict) -> list[str]:
    return [f["code"] for f in facts["failures"]]


def test_signed_photo_gives_the_signed_fields(signed) -> None:
    data, root = signed
    facts = c2pa(data, trust_anchors=root)
    assert facts["valid"] is True and facts["state"] == "trusted" and facts["failures"] == []
    assert facts["exif"]["BodySerialNumber"] == "CX1-004217"
    assert facts["exif"]["LensSerialNumber"] == "L35-99812"
    assert facts["claim_generator"].startswith("catenary demo TEST camera")
    assert facts["signer"]["common_name"] == "catenary demo TEST camera CX1-004217"
    assert facts["signer"]["issuer"] == photo.TEST_ORG
    assert cid_of(facts) == cid_of(c2pa(data, trust_anchors=root))  # deterministic


def test_without_anchors_a_valid_chain_is_valid_not_trusted(signed) -> None:
    facts = c2pa(signed[0])
    assert facts["valid"] is True and facts["state"] == "valid"


def test_edited_pixels_break_the_hash_binding(signed) -> None:
    data, root = signed
    facts = c2pa(photo.edited(data), trust_anchors=root)
    assert facts["valid"] is False and facts["state"] == "invalid"
    assert "assertion.dataHash.mismatch" in _codes(facts)


def test_wrong_certificate_chain_is_untrusted(signed) -> None:
    other = photo.pem(photo.test_root("another TEST root")[1])
    facts = c2pa(signed[0], trust_anchors=other)
    assert facts["valid"] is False and facts["state"] == "valid"
    assert "signingCredential.untrusted" in _codes(facts)


def _plain_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "JPEG")
    return out.getvalue()


def _truncated_manifest(data: bytes) -> bytes:
    """The JPEG with its C2PA segment (APP11) cut to half its length, the rest intact."""
    i = 2
    while data[i + 1] != 0xEB:
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    length = int.from_bytes(data[i + 2 : i + 4], "big")
    half = length // 2
    return data[: i + 2] + half.to_bytes(2, "big") + data[i + 4 : i + 2 + half] + data[i + 2 + length :]


@pytest.mark.parametrize(
    "case,state,code",
    [
        ("not an image", "unreadable", "image.unsupported"),
        ("no manifest", "no-manifest", "manifest.missing"),
        ("truncated manifest", "unreadable", "manifest.unreadable"),
        ("truncated file", "unreadable", "manifest.unreadable"),
        ("anchors not PEM", "unreadable", "trust_anchors.invalid"),
    ],
)
def test_bad_input_is_an_output_saying_what_failed(signed, case, state, code) -> None:
    data, root = signed
    image, anchors = {
        "not an image": (b"just some bytes", root),
        "no manifest": (_plain_jpeg(), root),
        "truncated manifest": (_truncated_manifest(data), root),
        "truncated file": (data[: len(data) // 3], root),
        "anchors not PEM": (data, "not a certificate"),
    }[case]
    facts = c2pa(image, trust_anchors=anchors)
    assert facts["valid"] is False and facts["state"] == state
    assert _codes(facts)[0] == code and facts["failures"][0]["explanation"]
    cid_of(facts)  # always a storable value
