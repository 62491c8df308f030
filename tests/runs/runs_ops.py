"""Slow operations for the tests of runs owned by nodes (a node killed mid-run, a cancel)."""

from __future__ import annotations

import time

from catenary.operations import operation


@operation(
    "runs/slow", inputs=["int"], output="int", config={"seconds": ["0.1", "0.3", "0.5", "1"]}, groups=["test"]
)
def slow(x: int, seconds: str = "0.3") -> int:
    """x + 1, after sleeping ``seconds``."""
    time.sleep(float(seconds))
    return x + 1
