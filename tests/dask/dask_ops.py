"""Operations for the Dask backend tests. They travel to the workers by value (cloudpickle)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from catenary.operations import operation

@operation("test/triple", inputs=["int"], output="int", groups=["test"])
def triple(x: int) -> int:
    """3 * x."""
    return 3 * x


@operation("test/crash-once", inputs=["int"], output="int", config={"marker": []}, groups=["test"])
def crash_once(x: int, marker: str) -> int:
    """Kills the process that runs it the first time (leaving the marker file), then x + 1."""
    path = Path(marker)
    if not path.exists():
        path.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return x + 1


@operation("test/crash-always", inputs=["int"], output="int", groups=["test"])
def crash_always(x: int) -> int:
    """Kills every process that runs it."""
    os.kill(os.getpid(), signal.SIGKILL)
    return x


@operation("test/nap", inputs=["int"], output="int", groups=["test"])
def nap(x: int) -> int:
    """Sleeps x tenths of a second."""
    time.sleep(x / 10)
    return x
