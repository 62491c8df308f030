"""Property tests: catenary's DAG-CBOR against itself and the independent implementation."""

from __future__ import annotations

import json

import cbrrr
import dag_cbor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catenary.cid import CID, block_cid, check_value, cid_of, dagjson, decode, encode, raw_sha256_cid
from catenary.errors import EncodingError

from .helpers import assert_same, independent_cid, independent_encode

BOUNDED = settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

INT_MIN, INT_MAX = -(2**63), 2**64 - 1

links = st.one_of(st.binary(max_size=16).map(block_cid), st.binary(max_size=16).map(raw_sha256_cid))
ints = st.one_of(
    st.integers(INT_MIN, INT_MAX),
    st.sampled_from(
        [
            0,
            23,
            24,
            255,
            256,
            65535,
            65536,
            2**32 - 1,
            2**32,
            2**63,
            INT_MAX,
            -1,
            -24,
            -25,
            -256,
            -257,
            -(2**32),
            -(2**32) - 1,
            INT_MIN,
        ]
    ),
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    ints,
    st.floats(allow_nan=False, allow_infinity=False),  # includes -0.0 and subnormals
    st.text(max_size=20),
    st.binary(max_size=40),
    links,
)


def values(keys=st.text(max_size=8)):
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=5), st.dictionaries(keys, children, max_size=5)
        ),
        max_leaves=25,
    )


VALUES = values()


@BOUNDED
@given(VALUES)
def test_encode_decode_round_trip(value):
    data = encode(value)
    back = decode(data)
    assert_same(back, value)
    assert encode(back) == data


@BOUNDED
@given(VALUES)
def test_encode_equals_independent_dag_cbor(value):
    data = encode(value)
    assert data == independent_encode(value)
    assert str(cid_of(value)) == str(independent_cid(data))
    # the independent decoder reads catenary's bytes back to the same value
    assert_same(dag_cbor.decode(data), value)


@BOUNDED
@given(VALUES)
def test_check_value_accepts_everything_encodable(value):
    check_value(value)


def _permuted(value, rnd):
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {k: _permuted(v, rnd) for k, v in items}
    if isinstance(value, list):
        return [_permuted(v, rnd) for v in value]
    return value


@BOUNDED
@given(
    st.dictionaries(st.text(max_size=6), VALUES, min_size=2, max_size=8), st.randoms(use_true_random=False)
)
def test_cid_is_key_order_independent(value, rnd):
    shuffled = _permuted(value, rnd)
    assert shuffled == value
    assert encode(shuffled) == encode(value)
    assert cid_of(shuffled) == cid_of(value)
    reversed_ = dict(reversed(list(value.items())))
    assert list(reversed_) != list(value)
    assert cid_of(reversed_) == cid_of(value)


# DAG-JSON reserves maps with the single key "/" for links and bytes.
@BOUNDED
@given(values(keys=st.text(max_size=8).filter(lambda k: k != "/")))
def test_dagjson_round_trip(value):
    text = dagjson.dumps(value)
    json.loads(text)  # plain JSON
    assert_same(dagjson.parse(text), value)
    assert cid_of(dagjson.parse(text)) == cid_of(value)


BAD_LEAVES = st.sampled_from(
    [
        float("nan"),
        float("inf"),
        float("-inf"),
        INT_MAX + 1,
        INT_MIN - 1,
        -(2**64),
        2**70,
        -(2**70),
        {1: "x"},
        (1, 2),
        {2.5},
    ]
)


@st.composite
def with_one_bad_leaf(draw):
    """A valid value with one bad leaf put somewhere; returns (value, path of the bad leaf)."""
    bad = draw(BAD_LEAVES)
    root = draw(
        st.one_of(
            st.lists(VALUES, min_size=1, max_size=4),
            st.dictionaries(st.text(max_size=5), VALUES, min_size=1, max_size=4),
        )
    )

    def put(node, path):
        if isinstance(node, list) and node and draw(st.booleans()):
            i = draw(st.integers(0, len(node) - 1))
            node[i], where = put(node[i], f"{path}[{i}]")
            return node, where
        if isinstance(node, dict) and node and draw(st.booleans()):
            k = draw(st.sampled_from(sorted(node)))
            node[k], where = put(node[k], f"{path}.{k}")
            return node, where
        return bad, path

    value, path = put(root, "$")
    return value, path


@BOUNDED
@given(with_one_bad_leaf())
def test_a_bad_leaf_anywhere_is_refused_naming_its_path(case):
    value, path = case
    for fn in (check_value, encode, cid_of):
        try:
            fn(value)
        except EncodingError as exc:
            assert str(exc).startswith(f"{path}: "), (fn.__name__, str(exc))
        else:
            raise AssertionError(f"{fn.__name__} accepted a bad leaf at {path}")


@BOUNDED
@given(VALUES)
def test_links_decode_as_catenary_cids(value):
    def walk(v):
        if isinstance(v, list):
            for x in v:
                yield from walk(x)
        elif isinstance(v, dict):
            for x in v.values():
                yield from walk(x)
        else:
            yield v

    for leaf in walk(decode(encode([value]))):
        if isinstance(leaf, cbrrr.CID):
            assert type(leaf) is CID
