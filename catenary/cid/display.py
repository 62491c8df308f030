"""How a CID is shown to people in tables: its distinguishing end.

Every catenary CID starts alike (``bafy2bzace``: CIDv1, dag-cbor, blake2b-256), so a table
that cut ids to their start would show the same text on every row. Tables (the CLI's and the
explorer's) show the last characters after an ellipsis instead; the CLI takes that end back
(with or without the ellipsis) as a unique suffix of a stored id. The explorer's scripts
(static/graph.js, live.js) shorten the same way.
"""

from __future__ import annotations

ELLIPSIS = "…"
# 12 base32 characters are 60 bits of the digest: unique in any store a person lists.
TAIL = 12
# Shorter texts (not a CID, or a short name) are shown whole.
_WHOLE_UP_TO = 20


def short(cid: object, full: bool = False) -> str:
    """``cid`` (a CID or its text) as shown in a table: ``…`` and its last characters, or
    whole when ``full`` or when it is short already. ``None`` shows as ``-``."""
    if cid is None:
        return "-"
    text = str(cid)
    if full or len(text) <= _WHOLE_UP_TO:
        return text
    return f"{ELLIPSIS}{text[-TAIL:]}"
