"""DAG-CBOR codec, CIDs and DAG-JSON: what is refused, and how it is said (SPEC §1)."""

from __future__ import annotations

import base64
import collections
import enum
import json

import cbrrr
import pytest
from multiformats import CID as MfCID

from catenary.cid import CID, block, block_cid, check_value, cid_of, dagjson, decode, encode, raw_sha256_cid
from catenary.errors import BadInputError, EncodingError, InvalidCIDError

from .helpers import assert_same, independent_cid, independent_encode, independent_raw_cid

NAN = float("nan")
INF = float("inf")
LINK = cid_of("hello")


# --- values that cannot be DAG-CBOR -------------------------------------------


class _Str(str):
    pass


class _Color(enum.IntEnum):
    RED = 1


REFUSED = [
    # (id, value, path named in the message, word in the message)
    ("nan", {"a": [1, NAN]}, "$.a[1]", "nan"),
    ("nan top", NAN, "$", "nan"),
    ("+inf", {"a": [1, INF]}, "$.a[1]", "inf"),
    ("-inf", [{"x": -INF}], "$[0].x", "inf"),
    ("int key", {"a": {1: "x"}}, "$.a", "key"),
    ("bytes key", [0, {b"k": 1}], "$[1]", "key"),
    ("none key", {None: 1}, "$", "key"),
    ("str-subclass key", {_Str("k"): 1}, "$", "key"),
    ("2^64", [2**64], "$[0]", "64-bit"),
    ("2^100", {"n": {"m": 2**100}}, "$.n.m", "64-bit"),
    ("-2^63-1", {"x": [0, 0, -(2**63) - 1]}, "$.x[2]", "64-bit"),
    ("-2^64", {"x": -(2**64)}, "$.x", "64-bit"),
    ("-2^64-1", {"x": -(2**64) - 1}, "$.x", "64-bit"),
    ("tuple", {"t": (1, 2)}, "$.t", "tuple"),
    ("set", [set()], "$[0]", "set"),
    ("object", {"o": object()}, "$.o", "object"),
    ("bytearray", {"b": bytearray(b"x")}, "$.b", "bytearray"),
    ("int enum", {"c": _Color.RED}, "$.c", "_Color"),
    ("str subclass", [_Str("s")], "$[0]", "_Str"),
    ("ordered dict", {"d": collections.OrderedDict(a=1)}, "$.d", "OrderedDict"),
    ("foreign cbrrr CID", {"l": cbrrr.CID(LINK.cid_bytes)}, "$.l", "CID"),
    ("multiformats CID", {"l": MfCID.decode(str(LINK))}, "$.l", "CID"),
]


@pytest.mark.parametrize("value,path,word", [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
@pytest.mark.parametrize("fn", [encode, check_value, cid_of, block], ids=lambda f: f.__name__)
def test_refused_values_name_the_path(fn, value, path, word):
    with pytest.raises(EncodingError) as info:
        fn(value)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    assert word.lower() in message.lower(), message
    assert isinstance(info.value, BadInputError)


def test_check_value_uses_the_given_root_path():
    with pytest.raises(EncodingError, match=r"^segment 0 input 1\[2\]: "):
        check_value([0, 1, NAN], "segment 0 input 1")


def test_first_problem_in_document_order_is_reported():
    with pytest.raises(EncodingError, match=r"^\$\[0\]: "):
        encode([NAN, INF, 2**64])


@pytest.mark.parametrize(
    "value,hex_",
    [
        (2**64 - 1, "1bffffffffffffffff"),
        (2**63, "1b8000000000000000"),
        (-(2**63), "3b7fffffffffffffff"),
        (-(2**63) + 1, "3b7ffffffffffffffe"),
        ({"n": [-(2**63), 2**64 - 1]}, "a1616e823b7fffffffffffffff1bffffffffffffffff"),
    ],
)
def test_64_bit_range_edges_are_accepted(value, hex_):
    check_value(value)
    assert encode(value).hex() == hex_
    assert independent_encode(value).hex() == hex_
    assert_same(decode(bytes.fromhex(hex_)), value)


def test_0x3b_in_other_data_is_not_mistaken_for_a_low_int():
    # 0x3b appears inside a string and bytes; nothing is out of range.
    value = {";": b";;", "s": "a;b", "n": -(2**63)}
    assert decode(encode(value)) == value


def test_refused_value_types_pass_through_nothing():
    # Accepted exact types, for contrast with the refusals above.
    ok = [None, True, False, 0, -1, 1.5, "s", b"b", [], {}, LINK, raw_sha256_cid(b"x")]
    check_value(ok)
    assert_same(decode(encode(ok)), ok)


# --- bytes that are not canonical DAG-CBOR --------------------------------------

NOT_CANONICAL = [
    # (id, bad hex, the canonical twin that must decode, or None)
    ("unsorted keys", "a2616201616100", "a2616100616201"),
    ("length-first order", "a26261610161620 2".replace(" ", ""), "a2616202626161 01".replace(" ", "")),
    ("duplicate keys", "a2616101616102", None),
    ("non-minimal int 1 byte", "1817", "17"),
    ("non-minimal int 2 bytes", "190017", "17"),
    ("non-minimal int 4 bytes", "1a000000ff", "18ff"),
    ("non-minimal int 8 bytes", "1b00000000ffffffff", "1affffffff"),
    ("non-minimal negative int", "3817", "37"),
    ("non-minimal string length", "780161", "6161"),
    ("non-minimal bytes length", "5801ff", "41ff"),
    ("non-minimal array length", "980101", "8101"),
    ("non-minimal map length", "b801616101", "a1616101"),
    ("half float", "f93e00", "fb3ff8000000000000"),
    ("single float", "fa3fc00000", "fb3ff8000000000000"),
    ("NaN float64", "fb7ff8000000000000", None),
    ("+Infinity float64", "fb7ff0000000000000", None),
    ("-Infinity float64", "fbfff0000000000000", None),
    ("indefinite array", "9f01ff", "8101"),
    ("indefinite map", "bf616101ff", "a1616101"),
    ("indefinite bytes", "5f41ffff", "41ff"),
    ("indefinite string", "7f6161ff", "6161"),
    ("undefined", "f7", None),
    ("simple value", "f0", None),
    ("tag 0 (date)", "c074323031332d30332d32315432303a30343a30305a", None),
    ("tag 2 (bignum)", "c249010000000000000000", None),
    ("non-string map key", "a10102", None),
    ("invalid utf-8", "62c328", None),
    ("trailing bytes", "a0ff", "a0"),
    ("two items", "0000", "00"),
    ("empty", "", None),
    ("truncated int", "1b00", None),
    ("truncated string", "6261", None),
    ("int below -2^63", "3b8000000000000000", "3b7fffffffffffffff"),
    ("tag 42 on a string", "d82a6161", None),
    ("tag 42 without 0x00 prefix", "d82a5827" + LINK.cid_bytes.hex(), "d82a582700" + LINK.cid_bytes.hex()),
    ("tag 42 junk CID", "d82a4400010203", None),
    ("tag 42 CIDv0", "d82a582300" + "1220" + "00" * 32, None),
    ("tag 42 digest shorter than header", "d82a582600" + LINK.cid_bytes[:-1].hex(), None),
]


@pytest.mark.parametrize("bad,good", [r[1:] for r in NOT_CANONICAL], ids=[r[0] for r in NOT_CANONICAL])
def test_non_canonical_bytes_are_refused(bad, good):
    with pytest.raises(EncodingError) as info:
        decode(bytes.fromhex(bad))
    assert str(info.value), "the error must say something"
    if good is not None:
        value = decode(bytes.fromhex(good))
        assert encode(value).hex() == good


def test_decode_accepts_bytes_like():
    data = encode({"a": [1, LINK]})
    assert decode(bytearray(data)) == decode(memoryview(data)) == decode(data)


def test_decoded_links_are_validated_catenary_cids():
    raw = raw_sha256_cid(b"x")
    out = decode(encode([LINK, raw]))
    assert [type(x) for x in out] == [CID, CID]
    assert [str(x) for x in out] == [str(LINK), str(raw)]
    assert out[1].codec == 0x55


# --- CIDs -----------------------------------------------------------------------

VALID = str(LINK)
CIDV0_TEXT = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"


def _b32(data: bytes) -> str:
    return "b" + base64.b32encode(data).decode().lower().rstrip("=")


CIDV0_BASE32 = _b32(bytes([0x12, 0x20]) + bytes(32))


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("", "not a CID"),
        ("b", "empty"),
        ("z" + VALID[1:], "base32"),
        (str(MfCID.decode(VALID).encode("base58btc")), "base32"),
        (CIDV0_TEXT, "base32"),
        ("bafy2bza!!!", "not valid base32"),
        ("bafy2bzace1", "not valid base32"),
        (VALID[:-4], "not valid base32"),  # a base32 length no bytes have
        (_b32(LINK.cid_bytes[:-1]), "digest is 31 bytes, header says 32"),
        (_b32(LINK.cid_bytes[:10]), "digest is 4 bytes, header says 32"),
        (_b32(LINK.cid_bytes + b"\x00"), "digest is 33 bytes, header says 32"),
        (CIDV0_BASE32, "only CIDv1"),
        (_b32(b"\x02" + LINK.cid_bytes[1:]), "version 2"),
    ],
)
def test_cid_parse_errors_are_clear(text, fragment):
    with pytest.raises(InvalidCIDError) as info:
        CID.parse(text)
    message = str(info.value)
    assert fragment in message, message
    assert repr(text) in message, "the message quotes the offending text"
    assert not isinstance(info.value, EncodingError)
    assert isinstance(info.value, BadInputError)


@pytest.mark.parametrize("bad", [None, 123, b"bafy", ["bafy"]])
def test_cid_parse_refuses_non_strings(bad):
    with pytest.raises(InvalidCIDError, match="not a CID"):
        CID.parse(bad)


@pytest.mark.parametrize(
    "data,fragment",
    [
        (b"", "empty"),
        (bytes([0x12, 0x20]) + bytes(32), "only CIDv1"),
        (bytes([0x00, 0x71]), "version 0"),
        (LINK.cid_bytes[:-1], "digest is 31 bytes, header says 32"),
        (LINK.cid_bytes + b"\x00", "digest is 33 bytes, header says 32"),
        (bytes([0x01, 0x71, 0xA0]), "varint"),
        (bytes([0x01]) + b"\xff" * 12, "varint"),
    ],
)
def test_cid_from_bytes_errors(data, fragment):
    with pytest.raises(InvalidCIDError, match=fragment):
        CID.from_bytes(data)


def test_cid_text_bytes_round_trip_and_coerce():
    for cid in (LINK, cid_of({}), raw_sha256_cid(b""), block_cid(b"\x00")):
        text = str(cid)
        again = CID.parse(text)
        assert again == cid and hash(again) == hash(cid)
        assert CID.from_bytes(cid.cid_bytes) == cid
        assert str(CID.from_bytes(cid.cid_bytes)) == text
        assert bytes(MfCID.decode(text)) == cid.cid_bytes
        assert str(MfCID.decode(cid.cid_bytes).encode("base32")) == text
        for form in (cid, text, cid.cid_bytes, bytearray(cid.cid_bytes), cbrrr.CID(cid.cid_bytes)):
            coerced = CID.coerce(form)
            assert type(coerced) is CID and coerced == cid
    assert {CID.parse(VALID): 1}[LINK] == 1
    assert repr(LINK) == f"CID({VALID})"


def test_block_cid_is_dag_cbor_blake2b_256():
    data = encode({"a": 1})
    cid = block_cid(data)
    assert str(cid).startswith("bafy2bza")
    assert cid.codec == 0x71
    assert cid.cid_bytes[:6] == bytes([0x01, 0x71, 0xA0, 0xE4, 0x02, 0x20])
    assert str(cid) == str(independent_cid(data))
    assert block_cid(data) != block_cid(data + b"\x00")


def test_raw_sha256_cid_matches_ipfs():
    # `echo "hello world" | ipfs add --cid-version=1 --raw-leaves` -> this CID.
    known = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
    assert str(raw_sha256_cid(b"hello world\n")) == known
    assert str(independent_raw_cid(b"hello world\n")) == known
    for data in (b"", b"hello world", bytes(range(256)) * 10):
        cid = raw_sha256_cid(data)
        assert str(cid) == str(independent_raw_cid(data))
        assert cid.codec == 0x55
        assert str(cid).startswith("bafkrei")


# --- DAG-JSON -------------------------------------------------------------------

SAMPLE = {
    "bytes": b"\x00\xfb\xff",
    "empty bytes": b"",
    "link": LINK,
    "links": [LINK, raw_sha256_cid(b"x")],
    "nested": {"deep": [1, -2, 1.5, -0.0, None, True, "\u00e9\U0001f41b"]},
    "big": 2**64 - 1,
    "small": -(2**63),
}


def test_dagjson_round_trip():
    assert_same(dagjson.from_json(dagjson.to_json(SAMPLE)), SAMPLE)
    text = dagjson.dumps(SAMPLE)
    assert "\U0001f41b" in text, "dumps keeps unicode as is"
    assert_same(dagjson.parse(text), SAMPLE)
    assert encode(dagjson.parse(text)) == encode(SAMPLE)


@pytest.mark.parametrize("data", [b"", b"f", b"fo", b"foo", b"foob", b"fooba", b"\xfb\xff", b"\xff\xfe\xfd"])
def test_dagjson_bytes_use_standard_base64_without_padding(data):
    form = dagjson.to_json(data)
    expected = base64.b64encode(data).decode().rstrip("=")
    assert form == {"/": {"bytes": expected}}
    assert "=" not in form["/"]["bytes"]
    assert dagjson.from_json(form) == data


def test_dagjson_bytes_alphabet_is_standard():
    assert dagjson.to_json(b"\xfb\xff") == {"/": {"bytes": "+/8"}}
    assert dagjson.from_json({"/": {"bytes": "+/8"}}) == b"\xfb\xff"
    assert dagjson.from_json({"/": {"bytes": "+/8="}}) == b"\xfb\xff"  # padding tolerated on input
    with pytest.raises(EncodingError, match="base64"):
        dagjson.from_json({"/": {"bytes": "-_8"}})  # url-safe alphabet is not DAG-JSON


def test_dagjson_link_form():
    assert dagjson.to_json(LINK) == {"/": VALID}
    assert dagjson.to_json([LINK]) == [{"/": VALID}]
    back = dagjson.from_json({"/": VALID})
    assert type(back) is CID and back == LINK


@pytest.mark.parametrize(
    "text,fragment",
    [
        ('{"a": 1, "a": 2}', "duplicate key 'a'"),
        ('{"x": {"b": 1, "b": 1}}', "duplicate key 'b'"),
        ('[{"k": 1, "k": 2}]', "duplicate key 'k'"),
        ('{"a": NaN}', "NaN"),
        ("[Infinity]", "Infinity"),
        ("-Infinity", "Infinity"),
        ("{", "not valid JSON"),
        ("", "not valid JSON"),
    ],
)
def test_dagjson_parse_refuses(text, fragment):
    with pytest.raises(EncodingError, match=fragment):
        dagjson.parse(text)


@pytest.mark.parametrize(
    "value,error",
    [
        ({"/": 1}, EncodingError),
        ({"/": {"bytes": 1}}, EncodingError),
        ({"/": {"bytes": "AA", "x": 1}}, EncodingError),
        ({"/": "not-a-cid"}, InvalidCIDError),
        ({"a": [{"/": "zQm"}]}, InvalidCIDError),
    ],
)
def test_dagjson_bad_slash_forms(value, error):
    with pytest.raises(error):
        dagjson.from_json(value)


def test_dagjson_bad_bytes_names_the_path():
    with pytest.raises(EncodingError, match=r"^\$\.a\[1\]: "):
        dagjson.from_json({"a": [0, {"/": {"bytes": "!!"}}]})


def test_dagjson_parse_of_plain_json():
    assert dagjson.parse('{"b": [1, 2.5, "x", null, true]}') == {"b": [1, 2.5, "x", None, True]}
    assert json.loads(dagjson.dumps({"b": b"\x01"})) == {"b": {"/": {"bytes": "AQ"}}}
