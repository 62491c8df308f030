"""Operations for the trust tests (``Node(operations=["tests.trust.trust_ops"])``)."""

from __future__ import annotations

import os

from catenary.operations import operation


@operation("trust/random", inputs=["int"], output="bytes", groups=["test"])
def random_bytes(n: int) -> bytes:
    """Deliberately non-deterministic: n fresh random bytes on every call."""
    return os.urandom(n)


@operation("trust/square", inputs=["int"], output="int", groups=["test"])
def square(x: int) -> int:
    """x * x."""
    return x * x
