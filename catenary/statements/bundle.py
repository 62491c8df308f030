"""Statements inside proof bundles (hooks called by :mod:`catenary.trust.bundle`).

A bundle that carries statements has one more key in its index, ``statements: [link]``;
each link names a block holding one DSSE envelope as IPLD data (``{payloadType, payload:
bytes, signatures: [{keyid, sig: bytes}]}``), whose CID is the statement id. A bundle
without statements has no such key, so bundles made before statements existed read as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from catenary.cid import CID, block, decode
from catenary.errors import CatenaryError

if TYPE_CHECKING:  # imported when used: catenary.trust.bundle imports this module
    from catenary.statements.dsse import Envelope

INDEX_KEY = "statements"


def index_keys(base: set[str], index_block: bytes | None) -> set[str]:
    """The keys the bundle index must have: ``base``, plus ``statements`` when it is there."""
    try:
        value = decode(index_block) if index_block is not None else None
    except CatenaryError:
        return base  # the reader reports the undecodable index itself
    return base | {INDEX_KEY} if isinstance(value, dict) and INDEX_KEY in value else base


def add(index: dict[str, Any], envelopes: Iterable[Envelope], add_block: Callable[[CID, bytes], CID]) -> None:
    """Put each envelope in the bundle as a block and link it from the index (export side)."""
    links = [add_block(*block(e.block_value())) for e in envelopes]
    if links:
        index[INDEX_KEY] = sorted(set(links), key=lambda c: c.cid_bytes)


def read(reader: Any, links: Any) -> dict[CID, Envelope]:
    """Decode the statement blocks of a bundle and check each one's signature, recording each
    problem with ``reader`` (the browser verifier does the same, so both give one verdict).
    Proof and claim need re-execution: :func:`catenary.statements.check` judges them."""
    from catenary.statements.dsse import Envelope

    found: dict[CID, Envelope] = {}
    if not isinstance(links, list):
        reader.problem("bundle index: statements must be a list of links")
        return found
    for number, link in enumerate(links):
        value = reader.get(link, f"statement {number}")
        if value is None:
            continue
        try:
            envelope = Envelope.from_block_value(value, f"statement {link}")
        except CatenaryError as exc:
            reader.problem(str(exc))
            continue
        _, why = envelope.check()
        if why is not None:
            reader.problem(f"statement {link} is refused (signature): {why}")
        found[link] = envelope
    return found
