"""The standard library: each built-in against an independent computation."""

from __future__ import annotations

import hashlib
import io

import blake3
import pytest
from multiformats import CID as MCID
from multiformats import multihash
from PIL import Image

from catenary.errors import ExecutionFailedError
from catenary.operations import default_registry, std
from tests.helpers import manifest

STD_NAMES = {
    "std/hash",
    "std/cid",
    "std/utf8-encode",
    "std/utf8-decode",
    "std/concat",
    "std/equals",
    "std/all",
    "std/if",
    "std/get",
    "std/exif",
    "std/verify-ed25519",
    "std/verify-p256",
    "std/c2pa",
    "std/hex",
    "std/num-equals",
}


def test_std_library_has_exactly_the_spec_names() -> None:
    assert {op.name for op in default_registry()} == STD_NAMES


def test_std_manifests_declare_the_issue_signatures() -> None:
    reg = default_registry()
    sig = {op.name: (list(op.manifest.inputs), op.manifest.output) for op in reg}
    assert sig["std/hash"] == (["bytes"], "bytes")
    assert sig["std/cid"] == (["bytes"], "string")
    assert sig["std/utf8-encode"] == (["string"], "bytes")
    assert sig["std/utf8-decode"] == (["bytes"], "string")
    assert sig["std/concat"] == (["any", "any"], "any")
    assert sig["std/equals"] == (["any", "any"], "bool")
    assert sig["std/all"] == (["bool", "bool"], "bool")
    assert sig["std/get"][1] == "any" and len(sig["std/get"][0]) == 1
    assert sig["std/exif"] == (["bytes"], "map")
    assert set(reg.by_name("std/hash").manifest.config["algorithm"]) == {"sha2-256", "blake2b-256", "blake3"}
    assert reg.by_name("std/get").manifest.config == {"path": ()}


# -- hash ------------------------------------------------------------------------------------

PAYLOADS = [b"", b"abc", bytes(range(256)) * 7]


@pytest.mark.parametrize("data", PAYLOADS)
def test_hash_algorithms(data: bytes) -> None:
    assert std.hash_(data, algorithm="sha2-256") == hashlib.sha256(data).digest()
    assert std.hash_(data, algorithm="blake2b-256") == hashlib.blake2b(data, digest_size=32).digest()
    assert std.hash_(data, algorithm="blake3") == blake3.blake3(data).digest()
    assert std.hash_(data) == hashlib.sha256(data).digest()  # default


def test_hash_known_vectors() -> None:
    assert std.hash_(b"abc", algorithm="sha2-256").hex() == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert std.hash_(b"", algorithm="blake3").hex() == (
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    )


def test_hash_through_a_run_with_each_algorithm(node) -> None:
    segs = [([-1], [("std/hash", {"algorithm": a})]) for a in ("sha2-256", "blake2b-256", "blake3")]
    expected = [
        hashlib.sha256(b"photo").digest(),
        hashlib.blake2b(b"photo", digest_size=32).digest(),
        blake3.blake3(b"photo").digest(),
    ]
    for seg, want in zip(segs, expected):
        wf = node.workflows.create(manifest(seg))
        _, result = node.runs.run(wf.id, {0: [b"photo"]})
        assert result.result == want


# -- cid -------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", PAYLOADS + [b"hello world"])
def test_cid_is_the_raw_sha256_cidv1_ipfs_shows(data: bytes) -> None:
    expected = str(MCID("base32", 1, "raw", multihash.digest(data, "sha2-256")))
    assert std.cid(data) == expected
    assert std.cid(data).startswith("bafkrei")


def test_cid_known_vector() -> None:
    assert std.cid(b"hello world") == "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"


# -- utf8 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "ascii", "ünïcødé ✓ 𝄞"])
def test_utf8_roundtrip(text: str) -> None:
    assert std.utf8_encode(text) == text.encode("utf-8")
    assert std.utf8_decode(text.encode("utf-8")) == text


def test_utf8_decode_refuses_invalid_bytes() -> None:
    with pytest.raises(ValueError, match="not valid UTF-8 at byte 1"):
        std.utf8_decode(b"a\xff")


def test_utf8_decode_failure_fails_the_execution(node) -> None:
    wf = node.workflows.create(manifest(([-1], ["std/utf8-decode"])))
    run = node.runs.new(wf.id)
    with pytest.raises(ExecutionFailedError, match="not valid UTF-8"):
        node.runs.next(run.id, [b"\xc3\x28"])
    assert node.runs.get(run.id).status == "failed"


# -- concat, equals, all, if ---------------------------------------------------------------------


def test_concat_same_types() -> None:
    assert std.concat(b"ab", b"cd") == b"abcd"
    assert std.concat("ab", "cd") == "abcd"
    assert std.concat("", "") == ""


@pytest.mark.parametrize("a, b", [(b"a", "b"), ("a", b"b"), (1, 2), ([1], [2]), (None, None), ("a", None)])
def test_concat_refuses_other_types(a, b) -> None:
    with pytest.raises(TypeError, match="two bytes or two strings"):
        std.concat(a, b)


def test_concat_type_error_fails_the_execution(node) -> None:
    wf = node.workflows.create(manifest(([-1, -1], ["std/concat"])))
    run = node.runs.new(wf.id)
    with pytest.raises(ExecutionFailedError, match="TypeError"):
        node.runs.next(run.id, [b"bytes", "string"])
    _, ok = node.runs.run(wf.id, {0: [b"by", b"tes"]})
    assert ok.result == b"bytes"


@pytest.mark.parametrize(
    "a, b, expected",
    [
        (1, 1, True),
        (1, 2, False),
        (b"x", b"x", True),
        ("x", b"x", False),
        (1, True, False),
        (1, 1.0, False),
        (0, False, False),
        (None, None, True),
        ({"a": [1, b"x"]}, {"a": [1, b"x"]}, True),
        ({"a": 1}, {"a": 2}, False),
        ([1, 2], [2, 1], False),
    ],
)
def test_equals(a, b, expected: bool) -> None:
    assert std.equals(a, b) is expected


@pytest.mark.parametrize("a, b", [(True, True), (True, False), (False, True), (False, False)])
def test_all(a: bool, b: bool) -> None:
    assert std.all_(a, b) is (a and b)


def test_if() -> None:
    assert std.if_(True, b"v") == b"v"
    assert std.if_(False, b"v") is None


# -- get -----------------------------------------------------------------------------------------

DOC = {"a": {"b": {"c": 3}, "list": [10, {"x": "y"}]}, "top": b"t", "0": "zero"}


@pytest.mark.parametrize(
    "path, expected",
    [
        ("", DOC),
        ("top", b"t"),
        ("a.b", {"c": 3}),
        ("a.b.c", 3),
        ("a.list.0", 10),
        ("a.list.1.x", "y"),
        ("0", "zero"),
        ("missing", None),
        ("a.b.c.d", None),
        ("a.list.2", None),
        ("a.list.x", None),
        ("a.list.-1", None),
        ("top.x", None),
    ],
)
def test_get_paths(path: str, expected) -> None:
    assert std.get(DOC, path=path) == expected


def test_get_on_null_and_scalars() -> None:
    assert std.get(None, path="a") is None
    assert std.get(5, path="a") is None
    assert std.get(5, path="") == 5


# -- exif ------------------------------------------------------------------------------------


def jpeg_with_exif(
    make: str = "Canon", model: str = "EOS R5", body: str = "012345678901", lens: str = "LS-9876"
) -> bytes:
    image = Image.new("RGB", (16, 16), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = model
    sub = exif.get_ifd(0x8769)  # Exif IFD
    sub[0xA431] = body  # BodySerialNumber
    sub[0xA435] = lens  # LensSerialNumber
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_exif_reads_camera_and_lens_serials() -> None:
    tags = std.exif(jpeg_with_exif())
    assert tags["Make"] == "Canon"
    assert tags["Model"] == "EOS R5"
    assert tags["BodySerialNumber"] == "012345678901"
    assert tags["LensSerialNumber"] == "LS-9876"


def test_exif_is_deterministic_and_dag_cbor_safe() -> None:
    from catenary.cid import cid_of

    data = jpeg_with_exif()
    assert cid_of(std.exif(data)) == cid_of(std.exif(data))


def test_exif_of_image_without_exif_is_empty() -> None:
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "JPEG")
    assert std.exif(out.getvalue()) == {}


def test_exif_refuses_non_images_and_other_formats() -> None:
    with pytest.raises(ValueError, match="not a readable JPEG/TIFF"):
        std.exif(b"definitely not an image")
    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, "PNG")
    with pytest.raises(ValueError, match="PNG"):
        std.exif(png.getvalue())


def test_camera_ownership_shape_end_to_end(node) -> None:
    """A camera-and-lens-ownership proof from std ops on a generated JPEG."""
    m = manifest(
        ([-1], ["std/exif"]),  # 0 photo -> tags
        ([0], [("std/get", {"path": "BodySerialNumber"})]),  # 1 body serial
        ([-1, 1], ["std/equals"]),  # 2 claimed body ==
        ([2, 0], ["std/if", ("std/get", {"path": "LensSerialNumber"})]),  # 3 lens serial if body ok
        ([-1, 3], ["std/equals"]),  # 4 claimed lens ==
        ([4, 2], ["std/all"]),  # 5 both
    )
    wf = node.workflows.create(m)
    photo = jpeg_with_exif(body="SN-1", lens="LN-2")
    _, yes = node.runs.run(wf.id, {0: [photo], 2: ["SN-1"], 4: ["LN-2"]})
    assert yes.done and yes.result is True
    _, no = node.runs.run(wf.id, {0: [photo], 2: ["SN-1"], 4: ["LN-other"]})
    assert no.result is False
    _, no = node.runs.run(wf.id, {0: [photo], 2: ["SN-x"], 4: ["LN-2"]})
    assert no.result is False


def test_hex_and_num_equals() -> None:
    import hashlib

    assert std.hex_(std.hash_(b"abc")) == hashlib.sha256(b"abc").hexdigest()  # what sha256sum prints
    assert std.num_equals(1, 1.0) is True and std.equals(1, 1.0) is False
    assert std.num_equals(2, 2.5) is False
    with pytest.raises(TypeError, match="std/num-equals takes two numbers, got bool"):
        std.num_equals(True, 1)
    with pytest.raises(TypeError, match="got str"):
        std.num_equals("1", 1)
