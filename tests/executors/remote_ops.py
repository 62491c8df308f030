"""Remote operations for the executor tests (``--ops`` on the node, ``--operations`` on executors).

``test/remote-slow`` holds while the file named by ``$CATENARY_TEST_HOLD`` exists, so a test
can kill the executor that runs it mid-execution.
"""

from __future__ import annotations

import os
import time

from catenary.remote import remote
from catenary.operations import operation


@remote
@operation("test/remote-shout", inputs=["string"], output="string", groups=["test"])
def shout(text: str) -> str:
    """Upper case, with an exclamation mark."""
    return text.upper() + "!"


@remote
@operation("test/remote-slow", inputs=["int"], output="int", groups=["test"])
def slow(x: int) -> int:
    """10 * x, once the hold file (if any) is gone."""
    hold = os.environ.get("CATENARY_TEST_HOLD")
    while hold and os.path.exists(hold):
        time.sleep(0.05)
    return 10 * x


@remote
@operation("test/remote-boom", inputs=["int"], output="int", groups=["test"])
def boom(x: int) -> int:
    """Always fails."""
    raise ValueError(f"remote boom on {x}")


@remote
@operation("test/remote-liar", inputs=["int"], output="string", groups=["test"])
def liar(x: int) -> str:
    """Declares a string, returns an int: the node refuses the report."""
    return x  # type: ignore[return-value]
