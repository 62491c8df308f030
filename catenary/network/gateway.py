"""The IPFS Trustless Gateway over a node's blocks (specs.ipfs.tech/http-gateways/trustless-gateway).

``GET /ipfs/{cid}`` answers, by the ``format`` query parameter (which takes precedence) or
the ``Accept`` header:

* ``raw`` / ``application/vnd.ipld.raw``: the block's bytes, whose hash is the CID's multihash;
* ``car`` / ``application/vnd.ipld.car``: a CARv1 stream, header ``{version: 1, roots: [cid]}``,
  then the blocks of the DAG under the CID in depth-first order, each once
  (``Content-Type: application/vnd.ipld.car; version=1; order=dfs; dups=n``).
  ``dag-scope=all`` (the default) walks every link; ``block`` (and ``entity``, which for
  data that is not UnixFS means the same) sends the root block only.

A request with neither is refused (400: this gateway is strict, it has no deserialized
responses), as is a CAR variant it cannot give (another version, order or ``dups=y``); a
path under the CID has no route (404). An unknown root is 404. A child block missing during the walk ends the
stream early: the status was sent already, and a client checks that a CAR is complete.
Everything here is immutable, so responses may be cached for a year. ``bafkqaaa`` (the empty
identity CID) answers the spec's probe.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from catenary.cid import CID, encode
from catenary.cid.car import encode_varint
from catenary.errors import BadInputError, NotFoundError
from catenary.network.blocks import BlockSource, links

RAW_TYPE = "application/vnd.ipld.raw"
CAR_TYPE = "application/vnd.ipld.car"
CAR_CONTENT_TYPE = f"{CAR_TYPE}; version=1; order=dfs; dups=n"
PROBE = "bafkqaaa"  # the empty identity CID: the spec's "is this a trustless gateway" probe
PROBE_BYTES = bytes.fromhex("01550000")  # CIDv1, raw, identity multihash of length 0
CACHE_CONTROL = "public, max-age=29030400, immutable"


class Format(StrEnum):
    RAW = "raw"
    CAR = "car"


class Scope(StrEnum):
    ALL = "all"
    ENTITY = "entity"
    BLOCK = "block"


@dataclass(frozen=True)
class Ask:
    """What a request asks for, once negotiated."""

    format: Format
    scope: Scope = Scope.ALL


def negotiate(format_param: str | None, accept: str | None, scope: str | None) -> Ask:
    """The response a request asks for; BadInputError (400) for anything else."""
    if format_param is not None:
        try:
            fmt = Format(format_param)
        except ValueError:
            raise BadInputError(
                f"format={format_param!r}: this trustless gateway gives raw or car only"
            ) from None
    else:
        fmt = _from_accept(accept)
    if fmt is Format.RAW:
        if scope is not None:
            raise BadInputError("dag-scope is only for CAR responses (format=car)")
        return Ask(fmt)
    try:
        return Ask(fmt, Scope(scope or "all"))
    except ValueError:
        raise BadInputError(f"dag-scope={scope!r}: expected block, entity or all") from None


def _from_accept(accept: str | None) -> Format:
    """The first media range of ``Accept`` this gateway can give, with its parameters checked."""
    offered = []
    for item in (accept or "").split(","):
        media, *params = [p.strip() for p in item.split(";")]
        values = dict(p.partition("=")[::2] for p in params if "=" in p)
        offered.append(media)
        if media == RAW_TYPE:
            return Format.RAW
        if media == CAR_TYPE:
            if values.get("version", "1") != "1":
                continue
            if values.get("order", "dfs") not in ("dfs", "unk") or values.get("dups", "n") != "n":
                continue
            return Format.CAR
    if not accept:
        raise BadInputError(
            "a trustless gateway request says what it wants: ?format=raw or ?format=car "
            f"(or Accept: {RAW_TYPE} / {CAR_TYPE})"
        )
    raise BadInputError(
        f"Accept: {accept!r} names nothing this gateway gives ({RAW_TYPE}, or {CAR_TYPE} with "
        "version=1, order=dfs and dups=n)"
    )


def headers(root: str, ask: Ask) -> dict[str, str]:
    """The response headers the spec requires for ``root`` (its CID text)."""
    if ask.format is Format.RAW:
        return {
            "Content-Type": RAW_TYPE,
            "Content-Disposition": f'attachment; filename="{root}.bin"',
            "Etag": f'"{root}.raw"',
            "Cache-Control": CACHE_CONTROL,
            "X-Ipfs-Path": f"/ipfs/{root}",
            "X-Ipfs-Roots": root,
            "Vary": "Accept",
        }
    return {
        "Content-Type": CAR_CONTENT_TYPE,
        "Content-Disposition": f'attachment; filename="{root}.car"',
        # the scope, order and dups are part of what the bytes are (the spec's Etag rule)
        "Etag": f'W/"{root}.car.{ask.scope.value}.dfs.n"',
        "Cache-Control": CACHE_CONTROL,
        "X-Ipfs-Path": f"/ipfs/{root}",
        "X-Ipfs-Roots": root,
        "Vary": "Accept",
    }


def raw_block(source: BlockSource, cid: CID) -> bytes:
    """The block, or NotFoundError (404)."""
    return NotFoundError.require(source.get(cid), "block {} is not on this node", cid)


def car_stream(source: BlockSource, cid: CID, scope: Scope) -> Iterator[bytes]:
    """The CAR under ``cid``; its root is looked up at once (NotFoundError before any byte),
    the rest as the stream is read."""
    root = raw_block(source, cid)

    def stream() -> Iterator[bytes]:
        header = encode({"version": 1, "roots": [cid]})
        yield encode_varint(len(header)) + header
        yield _section(cid, root)
        if scope is not Scope.ALL:
            return
        seen = {cid}
        stack = list(reversed(list(links(cid, root))))
        while stack:
            link = stack.pop()
            if link in seen:
                continue
            seen.add(link)
            data = source.get(link)
            if data is None:
                return  # a missing child: end the stream; the client sees an incomplete DAG
            yield _section(link, data)
            stack.extend(reversed(list(links(link, data))))

    return stream()


def probe_car() -> bytes:
    """The CAR for the identity probe: roots ``[bafkqaaa]`` and no block (the spec allows it)."""
    header = encode({"version": 1, "roots": [CID(PROBE_BYTES)]})
    return encode_varint(len(header)) + header


def _section(cid: CID, data: bytes) -> bytes:
    raw = cid.cid_bytes
    return encode_varint(len(raw) + len(data)) + raw + data
