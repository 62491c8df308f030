"""Key text parsing for the signature operations.

It lives outside catenary/operations/signature.py on purpose: an operation's version covers
the helpers of its own module, and the std signature operations' ids must not change
(SPEC: existing ids never change). Code of installed modules is covered by catenary's release.
"""

from __future__ import annotations


def parse_hex(text: str, name: str) -> bytes:
    """The bytes of a hex config value; ``name`` is the operation, for the error."""
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"{name}: config public_key must be hex, got {text[:20]!r}") from None
