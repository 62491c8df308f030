"""Operations used by the tests (loaded with ``Node(operations=["tests.ops_fixture"])``).

``CALLS`` counts real invocations per operation name, so a test can prove that a
memoized execution did not call the function again. ``STATE["fail"]`` makes
``test/flaky`` raise, to prove failed executions are never reused.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from catenary.operations import operation

CALLS: Counter[str] = Counter()
STATE: dict[str, Any] = {"fail": False}


def reset() -> None:
    CALLS.clear()
    STATE["fail"] = False


@operation("test/inc", inputs=["int"], output="int", groups=["test"])
def inc(x: int) -> int:
    """x + 1."""
    CALLS["test/inc"] += 1
    return x + 1


@operation("test/add", inputs=["int", "int"], output="int", groups=["test"])
def add(a: int, b: int) -> int:
    """a + b."""
    CALLS["test/add"] += 1
    return a + b


@operation("test/count", inputs=["int"], output="int", groups=["test"])
def count(x: int) -> int:
    """2 * x, counting every real call."""
    CALLS["test/count"] += 1
    return 2 * x


@operation("test/boom", inputs=["int"], output="int", groups=["test"])
def boom(x: int) -> int:
    """Always fails."""
    CALLS["test/boom"] += 1
    raise RuntimeError(f"boom on {x}")


@operation("test/flaky", inputs=["int"], output="int", groups=["test"])
def flaky(x: int) -> int:
    """Fails while STATE['fail'] is set, else x + 100."""
    CALLS["test/flaky"] += 1
    if STATE["fail"]:
        raise RuntimeError("flaky failure")
    return x + 100


@operation("test/wrong-type", inputs=["int"], output="int", groups=["test"])
def wrong_type(x: int) -> Any:
    """Declares int but returns a string."""
    CALLS["test/wrong-type"] += 1
    return f"not an int: {x}"


@operation("test/nan", inputs=["int"], output="any", groups=["test"])
def nan(x: int) -> Any:
    """Returns a value DAG-CBOR cannot hold."""
    return float("nan")


@operation("test/mode", inputs=["int"], output="int", config={"mode": ["double", "negate"]},
           groups=["test"])
def mode(x: int, mode: str = "double") -> int:
    """Config reaches the function as a keyword argument."""
    CALLS["test/mode"] += 1
    return 2 * x if mode == "double" else -x


@operation("test/to-map", inputs=["int"], output={"n": "int"}, groups=["test"])
def to_map(x: int) -> dict[str, int]:
    """{"n": x}."""
    return {"n": x}


@operation("test/add3", inputs=["int", "int", "int"], output="int", groups=["test"])
def add3(a: int, b: int, c: int) -> int:
    """100 * a + 10 * b + c (slot order matters)."""
    return 100 * a + 10 * b + c
