"""Crafted bundles: seeded, deterministic mutations of valid bundles made by the engine.

Each mutation class takes a ``random.Random`` and the bytes of a valid bundle and returns the
bytes of a damaged one, as an attacker or a failing disk would make it: at the byte level
(flipped bits, a cut, garbage spliced in, a CAR header or section length varint that overflows),
at the block level (a block dropped, doubled, moved, given another block's bytes or another
CID, the roots changed) and at the record level, where every block above the change is re-hashed
and re-linked so that only the meaning is wrong (a link moved, a value nested 100,000 deep, a
multi-megabyte field, a value of the wrong type in the index or in a record, a key missing or
extra). :func:`cases` yields them by class. Choices follow the bundle's structure (block order,
sorted keys), so the same seed makes the same damage to the same records on every run; only the
base bundles' own timestamps and run nonces differ from one run to the next.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from catenary.cid import CID, block, cid_of, decode, encode, raw_cid
from catenary.cid.car import car_bytes, encode_varint, read_car

Mutation = Callable[[random.Random, bytes], bytes]


@dataclass(frozen=True)
class Case:
    name: str  # class/number: enough to make the same bytes again with the seed
    kind: str
    data: bytes


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


# byte level -------------------------------------------------------------------------------------
def flip(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data))]


def splice(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data))
    garbage = rng.randbytes(rng.randint(1, 64))
    return data[:at] + garbage + data[at + rng.choice((0, 0, len(garbage))) :]


def _varint_end(data: bytes, pos: int) -> int:
    while data[pos] & 0x80:
        pos += 1
    return pos + 1


BAD_VARINTS = [
    b"\xff" * 10 + b"\x01",  # over 64 bits
    b"\xff" * 9 + b"\x7f",  # 2^63 and more
    b"\x80" * 12,  # never ends
    b"\x80\x00",  # not minimal
    b"\x00",  # zero length
    encode_varint(1 << 40),  # far past the end of the file
]


def header_varint(rng: random.Random, data: bytes) -> bytes:
    """The header length varint overflows, never ends, is not minimal, is 0 or too long."""
    return rng.choice(BAD_VARINTS) + data[_varint_end(data, 0) :]


def header_content(rng: random.Random, data: bytes) -> bytes:
    """A well-framed header whose DAG-CBOR is not ``{version: 1, roots: [link, link]}``."""
    roots = read_car(data).roots
    header = rng.choice(
        [
            {"version": 2, "roots": roots},
            {"version": 1},
            {"version": 1, "roots": []},
            {"version": 1, "roots": "roots"},
            {"version": 1, "roots": [1, 2]},
            {"version": 1, "roots": roots, "extra": True},
            {"version": "1", "roots": roots},
            [1, roots],
            nested(10_000),
        ]
    )
    raw = encode(header) if rng.random() < 0.9 else rng.randbytes(20)
    return encode_varint(len(raw)) + raw + data[_section_start(data) :]


def _section_start(data: bytes) -> int:
    end = _varint_end(data, 0)
    length = 0
    for shift, byte in enumerate(data[:end]):
        length |= (byte & 0x7F) << (7 * shift)
    return end + length


def section_varint(rng: random.Random, data: bytes) -> bytes:
    """One block section's length varint replaced by a bad one."""
    pos, starts = _section_start(data), []
    while pos < len(data):
        starts.append(pos)
        end = _varint_end(data, pos)
        length = sum((b & 0x7F) << (7 * i) for i, b in enumerate(data[pos:end]))
        pos = end + length
    at = rng.choice(starts)
    return data[:at] + rng.choice(BAD_VARINTS) + data[_varint_end(data, at) :]


# block level ------------------------------------------------------------------------------------
def _blocks(data: bytes) -> tuple[list[CID], list[tuple[CID, bytes]]]:
    car = read_car(data)
    return list(car.roots), [(b.cid, b.data) for b in car.blocks]


def drop_block(rng: random.Random, data: bytes) -> bytes:
    roots, blocks = _blocks(data)
    del blocks[rng.randrange(len(blocks))]
    return car_bytes(roots, blocks)


def duplicate_block(rng: random.Random, data: bytes) -> bytes:
    roots, blocks = _blocks(data)
    blocks.insert(rng.randrange(len(blocks) + 1), rng.choice(blocks))
    return car_bytes(roots, blocks)


def reorder_blocks(rng: random.Random, data: bytes) -> bytes:
    roots, blocks = _blocks(data)
    rng.shuffle(blocks)
    return car_bytes(roots, blocks)


def swap_bytes(rng: random.Random, data: bytes) -> bytes:
    """Two blocks trade their bytes and keep their CIDs: both hashes are wrong."""
    roots, blocks = _blocks(data)
    i, j = rng.sample(range(len(blocks)), 2)
    (a, da), (b, db) = blocks[i], blocks[j]
    blocks[i], blocks[j] = (a, db), (b, da)
    return car_bytes(roots, blocks)


def swap_cid(rng: random.Random, data: bytes) -> bytes:
    """A block filed under another CID: another block's, an unknown one, or a raw-codec one."""
    roots, blocks = _blocks(data)
    i = rng.randrange(len(blocks))
    other = rng.choice([rng.choice(blocks)[0], cid_of({"unknown": rng.random()}), raw_cid(blocks[i][1])])
    blocks[i] = (other, blocks[i][1])
    return car_bytes(roots, blocks)


def wrong_roots(rng: random.Random, data: bytes) -> bytes:
    roots, blocks = _blocks(data)
    unknown = cid_of({"not": "here"})
    other = rng.choice(blocks)[0]
    choices = [
        [],
        roots[:1],
        roots[::-1],
        roots + roots[:1],
        [unknown, roots[1]],
        [roots[0], other],
        [other] * 2,
    ]
    return car_bytes(rng.choice(choices), blocks)


# record level: the change is re-hashed and re-linked upwards -----------------------------------
@dataclass
class Blocks:
    """A bundle's roots and blocks, edited as a forger who recomputes every CID would."""

    roots: list[CID]
    blocks: dict[CID, bytes]

    @classmethod
    def of(cls, data: bytes) -> Blocks:
        car = read_car(data)
        return cls(list(car.roots), {b.cid: b.data for b in car.blocks})

    def records(self) -> list[tuple[CID, dict[str, Any]]]:
        found = []
        for cid, raw in self.blocks.items():
            if cid.codec == 0x71:
                value = decode(raw)
                if isinstance(value, dict) and value:
                    found.append((cid, value))
        return found  # in the bundle's order, which export keeps: the same records every run

    def replace(self, old: CID, value: Any) -> None:
        """Put ``value`` where block ``old`` was, then re-link every block above it, pass after
        pass (a block may be reached along several paths), and the roots."""
        new, raw = block(value)
        del self.blocks[old]
        self.blocks[new] = raw
        moved = {old: new}
        changed, passes = True, 0
        # A moved link can close a cycle (a record pointed at a block above it): then re-linking
        # never settles, and a few passes leave the cycle as the forger would have to.
        while changed and passes < RELINK_PASSES:
            changed, passes = False, passes + 1
            for cid in list(self.blocks):
                if cid.codec != 0x71 or cid == new:
                    continue
                current = decode(self.blocks[cid])
                swapped = _swap(current, moved, LINK_DEPTH)
                if swapped is not current:
                    relinked, raw = block(swapped)
                    del self.blocks[cid]
                    self.blocks[relinked] = raw
                    moved[cid] = relinked
                    changed = True
        self.roots = [_moved(r, moved) for r in self.roots]

    def bytes(self) -> bytes:
        return car_bytes(self.roots, list(self.blocks.items()))


LINK_DEPTH = 6  # bundle records hold their links within a few levels; a planted deep value none


RELINK_PASSES = 8


def _moved(cid: CID, moved: dict[CID, CID]) -> CID:
    seen = {cid}
    while cid in moved and moved[cid] not in seen:
        cid = moved[cid]
        seen.add(cid)
    return cid


def _swap(value: Any, moved: dict[CID, CID], depth: int) -> Any:
    """``value`` with every moved link replaced; the same object when nothing was."""
    if isinstance(value, CID):
        return _moved(value, moved) if value in moved else value
    if depth == 0:
        return value
    if isinstance(value, list):
        items = [_swap(v, moved, depth - 1) for v in value]
        return items if any(a is not b for a, b in zip(items, value)) else value
    if isinstance(value, dict):
        mapped = {k: _swap(v, moved, depth - 1) for k, v in value.items()}
        return mapped if any(mapped[k] is not value[k] for k in value) else value
    return value


def _edit(
    rng: random.Random, data: bytes, change: Callable[[random.Random, dict[str, Any], Blocks], None]
) -> bytes:
    car = Blocks.of(data)
    index_cid = car.roots[1]
    records = car.records()
    # One case in three edits the index or an execution's metadata, which everything names.
    if rng.random() < 0.33:
        meta = [(c, v) for c, v in records if "attestations" in v or c == index_cid]
        records = meta or records
    cid, value = rng.choice(records)
    value = dict(value)
    change(rng, value, car)
    car.replace(cid, value)
    return car.bytes()


WRONG_TYPES: list[Any] = [
    -1,
    2**63 - 1,
    -(2**63),
    0,
    "",
    "x",
    "failed",
    b"",
    b"\x00" * 40,
    [],
    {},
    None,
    True,
    1.5,
    [1, "two"],
    {"/": "bafy"},
    cid_of("somewhere else"),
]


def wrong_type(rng: random.Random, data: bytes) -> bytes:
    """A field of a record or of the index given a value of another type (or removed, or one
    key too many)."""

    def change(rng: random.Random, value: dict[str, Any], car: Blocks) -> None:
        key = rng.choice(sorted(value))
        roll = rng.random()
        if roll < 0.1:
            del value[key]
        elif roll < 0.2:
            value["extra"] = rng.choice(WRONG_TYPES)
        else:
            value[key] = rng.choice(WRONG_TYPES)

    return _edit(rng, data, change)


def relink(rng: random.Random, data: bytes) -> bytes:
    """A link inside a record pointed at another block of the bundle (or nowhere)."""

    def change(rng: random.Random, value: dict[str, Any], car: Blocks) -> None:
        keys = sorted(k for k, v in value.items() if isinstance(v, CID) or isinstance(v, list) and v)
        key = rng.choice(keys or sorted(value))
        target = rng.choice([*car.blocks, cid_of({"nowhere": 1})])
        current = value[key]
        if isinstance(current, list) and current:
            current = list(current)
            current[rng.randrange(len(current))] = target
            value[key] = current
        else:
            value[key] = target

    return _edit(rng, data, change)


def deep(rng: random.Random, data: bytes) -> bytes:
    def change(rng: random.Random, value: dict[str, Any], car: Blocks) -> None:
        value[rng.choice(sorted(value))] = nested(rng.choice([600, 1000, 10_000, 100_000]))

    return _edit(rng, data, change)


def oversize(rng: random.Random, data: bytes) -> bytes:
    def change(rng: random.Random, value: dict[str, Any], car: Blocks) -> None:
        size = rng.choice([100_000, 1_000_000, 3_000_000])
        value[rng.choice(sorted(value))] = rng.choice(
            ["x" * size, b"\xff" * size, list(range(size // 10)), {f"k{i}": i for i in range(size // 100)}]
        )

    return _edit(rng, data, change)


MUTATIONS: dict[str, Mutation] = {
    "flip": flip,
    "truncate": truncate,
    "splice": splice,
    "header-varint": header_varint,
    "header-content": header_content,
    "section-varint": section_varint,
    "drop-block": drop_block,
    "duplicate-block": duplicate_block,
    "reorder-blocks": reorder_blocks,
    "swap-bytes": swap_bytes,
    "swap-cid": swap_cid,
    "wrong-roots": wrong_roots,
    "wrong-type": wrong_type,
    "relink": relink,
    "deep": deep,
    "oversize": oversize,
}

# Classes whose cases cost more (megabytes, 100,000 levels): fewer of them per run.
HEAVY = {"deep": 4, "oversize": 3}


def cases(bases: list[bytes], seed: int, per_class: int) -> Iterator[Case]:
    """``per_class`` cases of each mutation class (a quarter of that, at least 2, for the heavy
    ones), each from one of ``bases``, each with its own generator seeded by
    ``seed/class/number``."""
    for kind, mutate in MUTATIONS.items():
        count = max(2, per_class // HEAVY[kind]) if kind in HEAVY else per_class
        for number in range(count):
            rng = random.Random(f"{seed}/{kind}/{number}")
            yield Case(f"{kind}/{number}", kind, mutate(rng, rng.choice(bases)))
