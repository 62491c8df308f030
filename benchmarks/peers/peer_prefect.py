#!/usr/bin/env python
"""Prefect 3's side of the peer workloads (run with benchmarks/peers/.venvs/prefect).

Offline and local: ``PREFECT_HOME`` is a fresh temporary directory and no API URL is set, so
Prefect starts its ephemeral local server (a subprocess on SQLite in ``PREFECT_HOME``);
analytics and the UI are off.

Persistence and caching switched on: every task has ``persist_result=True`` and
``cache_policy=INPUTS + TASK_SOURCE`` with results on the local file system. What it records
per task call: a task run with its state transitions (sent to the server as events, which
the server writes to its SQLite DB), the task's result serialized (cloudpickle) to a result
file named by the cache key, and the flow run around them. A cache hit reads the result
record from local storage by its key.

Workloads, each one flow run with default task settings:

- chain: ``x = inc(x)`` n times inside the flow (each call runs the task and waits for it);
- fan: ``x = source(start)``, then ``add.submit(x, i)`` for ``i < n`` on the default thread-pool
  task runner, then ``join(futures)``;
- cpu: ``sha(seed, mib)``.

Timed: the flow call, from invocation to its return value (what the caller waits for).
Task-run records reach the server through an event stream and are written after the flow
returns, so :meth:`PrefectPeer.settle` then polls the server until every task run of the
workload is recorded ``COMPLETED``; the harness reports that as ``<workload>_recorded``
(flow + settle). Settling also keeps one workload's backlog from slowing the next one down.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import cpu_payload, main  # noqa: E402

_HOME = Path(tempfile.mkdtemp(prefix="peer-prefect-home-"))
atexit.register(shutil.rmtree, _HOME, True)  # also when a workload fails
# Settings go in before prefect is imported: it reads them at import time.
os.environ.update(
    {
        "PREFECT_HOME": str(_HOME),
        "PREFECT_PROFILES_PATH": str(_HOME / "profiles.toml"),
        "PREFECT_SERVER_EPHEMERAL_ENABLED": "true",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_LOGGING_TO_API_ENABLED": "false",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        "PREFECT_LOCAL_STORAGE_PATH": str(_HOME / "storage"),
    }
)
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("PREFECT_API_KEY", None)

import prefect  # noqa: E402
from prefect import flow, task  # noqa: E402
from prefect.cache_policies import INPUTS, TASK_SOURCE  # noqa: E402

POLICY = INPUTS + TASK_SOURCE


@task(cache_policy=POLICY, persist_result=True)
def inc(n: int) -> int:
    return n + 1


@task(cache_policy=POLICY, persist_result=True)
def source(start: int) -> int:
    return start + 1


@task(cache_policy=POLICY, persist_result=True)
def add(x: int, i: int) -> int:
    return x + i


@task(cache_policy=POLICY, persist_result=True)
def join(values: list) -> int:
    return sum(values)


@task(cache_policy=POLICY, persist_result=True)
def sha(seed: int, mib: int) -> str:
    return cpu_payload(seed, mib)


@flow(persist_result=True)
def chain_flow(start: int, n: int) -> int:
    x = start
    for _ in range(n):
        x = inc(x)
    return x


@flow(persist_result=True)
def fan_flow(start: int, n: int) -> int:
    x = source(start)
    futures = [add.submit(x, i) for i in range(n)]
    return join(futures)


@flow(persist_result=True)
def cpu_flow(seed: int, mib: int) -> str:
    return sha(seed, mib)


class PrefectPeer:
    def __init__(self, root: Path) -> None:
        # Everything lives in PREFECT_HOME (set above). Task runs the server should hold
        # once every workload so far has been recorded (cache hits are task runs too).
        self.expected = 0

    def prepare(self, n: int) -> None:
        pass

    def chain(self, start: int, n: int) -> int:
        self.expected += n
        return chain_flow(start, n)

    def fan(self, start: int, n: int) -> int:
        self.expected += n + 2
        return fan_flow(start, n)

    def cpu(self, seed: int, mib: int) -> str:
        self.expected += 1
        return cpu_flow(seed, mib)

    def settle(self, timeout: float = 600.0) -> None:
        """Wait until the server has recorded every task run so far as COMPLETED."""
        from prefect.client.orchestration import get_client

        deadline = time.monotonic() + timeout
        with get_client(sync_client=True) as client:
            while True:
                response = client.request(
                    "POST",
                    "/task_runs/count",
                    json={"task_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}},
                )
                if response.json() >= self.expected:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"prefect recorded {response.json()} of {self.expected} task runs")
                time.sleep(0.2)  # one cheap count query per poll; slower would blur the figure

    def close(self) -> None:
        shutil.rmtree(_HOME, ignore_errors=True)


if __name__ == "__main__":
    main("prefect", PrefectPeer, prefect.__version__)
