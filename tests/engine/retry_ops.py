"""Operations for the retry, timeout and parallel-segment tests (hashed by source: not reformatted)."""

from __future__ import annotations

import time
from pathlib import Path

from catenary.operations import operation


@operation("retry/flaky", inputs=["int"], output="int", config={"counter": [], "fails": []}, groups=["test"])
def flaky(x: int, counter: str, fails: str) -> int:
    """Fails its first ``fails`` calls (counted in the file ``counter``), then x + 1."""
    path = Path(counter)
    calls = int(path.read_text()) if path.exists() else 0
    path.write_text(str(calls + 1))
    if calls < int(fails):
        raise ConnectionError(f"flaky call {calls + 1}")
    return x + 1


@operation("retry/bad-value", inputs=["int"], output="int", groups=["test"])
def bad_value(x: int) -> int:
    """Always raises ValueError (not a class a retry policy on ConnectionError retries)."""
    raise ValueError(f"no good: {x}")


@operation("retry/sleep", inputs=["int"], output="int", groups=["test"])
def sleep(x: int) -> int:
    """Sleeps x hundredths of a second, then returns x."""
    time.sleep(x / 100)
    return x


@operation("retry/spin", inputs=["int"], output="int", config={"work": []}, groups=["test"])
def spin(seed: int, work: str) -> int:
    """A pure-Python loop of ``work`` steps: CPU-bound, holds the GIL."""
    x = seed
    for _ in range(int(work)):
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
    return x >> 1
