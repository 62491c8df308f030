#!/usr/bin/env python
"""redun's side of the peer workloads (run with benchmarks/peers/.venvs/redun).

Persistence: redun's SQLAlchemy backend on a SQLite file (``db_uri = sqlite:///...``), the
same backend a local redun user gets from ``redun init``, with SQLite's defaults (a rollback
journal, an fsync per commit) or, with ``PEER_DURABILITY=normal``, WAL and
``synchronous=NORMAL`` set on every connection it opens (common.py). What it records per task call: a
Job, a CallNode (task hash + args hash -> result hash, with its child calls), the Task (its
source hash), the Value (pickled result and its hash) and argument rows, tags, all within
an Execution record for each ``scheduler.run``. Cache hits look up the call hash in that DB.

The workloads are plain redun expressions handed to ``scheduler.run`` (redun wraps them in
its root task), with default executor settings (a thread pool):

- chain: ``inc(inc(...inc(start)))``, n calls, each depending on the previous one;
- fan: ``join([add(source(start), i) for i in range(n)])``;
- cpu: ``sha(seed, mib)``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import redun  # noqa: E402
from common import cpu_payload, main, sqlite_pragmas  # noqa: E402
from redun import Scheduler, task  # noqa: E402
from redun.config import Config  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402


@event.listens_for(Engine, "connect")
def _durability(dbapi_connection, connection_record) -> None:
    # Every engine redun creates, before its first statement: the same durability as the others.
    cursor = dbapi_connection.cursor()
    for pragma in sqlite_pragmas():
        cursor.execute(pragma)
    cursor.close()


redun_namespace = "peers"


@task()
def inc(n: int) -> int:
    return n + 1


@task()
def source(start: int) -> int:
    return start + 1


@task()
def add(x: int, i: int) -> int:
    return x + i


@task()
def join(values: list) -> int:
    return sum(values)


@task()
def sha(seed: int, mib: int) -> str:
    return cpu_payload(seed, mib)


class RedunPeer:
    def __init__(self, root: Path) -> None:
        # redun walks a nested expression recursively (evaluation, hashing, repr): a chain
        # 1,000 calls deep needs more than Python's default 1,000 frames. exec_argv is given
        # to each run for the same reason (redun's default is the expression's repr).
        sys.setrecursionlimit(100_000)
        logging.getLogger("redun").setLevel(logging.WARNING)
        config = Config({"backend": {"db_uri": f"sqlite:///{root / 'redun.db'}"}})
        self.scheduler = Scheduler(config=config)
        self.scheduler.load()  # creates the schema in the new DB

    def prepare(self, n: int) -> None:
        pass  # tasks are defined at import

    def chain(self, start: int, n: int) -> int:
        expr = start
        for _ in range(n):
            expr = inc(expr)
        return self.scheduler.run(expr, exec_argv=["chain", str(start), str(n)])

    def fan(self, start: int, n: int) -> int:
        x = source(start)
        return self.scheduler.run(join([add(x, i) for i in range(n)]), exec_argv=["fan", str(start), str(n)])

    def cpu(self, seed: int, mib: int) -> str:
        return self.scheduler.run(sha(seed, mib), exec_argv=["cpu", str(seed), str(mib)])


if __name__ == "__main__":
    main("redun", RedunPeer, redun.__version__)
