"""The PostgreSQL store's connections: a psycopg pool whose connections run in autocommit and
commit synchronously, and whose failures are named: a lost or refused connection, a full disk
or a read-only database becomes a ``StoreUnavailableError`` or ``StoreReadOnlyError``
(:mod:`catenary.store.failures`)."""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from catenary.errors import StoreUnavailableError
from catenary.store.failures import classify
from catenary.store.postgres.schema import APPLICATION


def describe(dsn: str) -> str:
    """The database a URL names, without its password: ``user@host:port/dbname``."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(an unparsable PostgreSQL URL)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', 'localhost')}{port}/{parts.get('dbname', '')}"


def message(exc: BaseException) -> str:
    """A libpq error on one line (it spreads hints over several)."""
    return " ".join(str(exc).split())


def unreachable(where: str, why: str) -> str:
    return f"cannot connect to the execution DB {where}: {why}"


def _configure(conn: psycopg.Connection) -> None:
    """Each pooled connection commits synchronously. With ``synchronous_commit = off`` a commit
    is visible before it is durable: a server crash could then take back seqs that a
    subscriber has already seen, and hand them out again for other changes it would miss."""
    row = conn.execute("SHOW synchronous_commit").fetchone()
    if row is not None and row[0] == "off":
        conn.execute("SET synchronous_commit = on")


def _closed_while_idle(conn: psycopg.Connection) -> bool:
    """Whether the server ended a pooled connection while it sat idle (restart, admin kill,
    idle timeout). An idle connection of ours has nothing to read unless the server ended it,
    so this is a poll of the socket, not a round trip. poll(), not select(): select() fails on
    a descriptor numbered 1,024 or more, which a busy process (many clients) reaches."""
    if conn.closed or conn.broken:
        return True
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    return bool(poller.poll(0))


class Connections:
    """Up to ``size`` pooled connections to the database ``dsn`` (named ``where`` in errors)."""

    def __init__(self, dsn: str, where: str, size: int, timeout: float) -> None:
        self.where = where
        self._pool: ConnectionPool = ConnectionPool(
            dsn,
            min_size=1,
            max_size=size,
            open=True,
            timeout=timeout,
            configure=_configure,
            kwargs={"autocommit": True, "application_name": APPLICATION},
            name=f"catenary {where}",
        )

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection (autocommit); storage failures met using it become store errors."""
        try:
            for _ in range(self._pool.max_size + 1):
                with self._pool.connection() as conn:
                    if _closed_while_idle(conn):
                        conn.close()  # the pool replaces a connection returned closed
                        continue
                    yield conn
                    return
            raise StoreUnavailableError(unreachable(self.where, "the server closed every pooled connection"))
        except PoolTimeout:
            raise StoreUnavailableError(
                unreachable(self.where, "no connection could be had from the pool")
            ) from None
        except psycopg.Error as exc:
            # The server gone, a full disk, a read-only database: named by SQLSTATE in one table
            # (catenary.store.failures). Anything else (a constraint, a bug) stays as it is.
            failure = classify(exc, f"the execution DB {self.where}", "use")
            if failure is None:
                raise
            raise failure from None

    def notify(self, channel: str) -> None:
        """``NOTIFY channel`` if a connection can be had within a second; else nothing."""
        try:
            with self._pool.connection(timeout=1) as conn:
                conn.execute(sql.SQL("NOTIFY {}").format(sql.Identifier(channel)))
        except (psycopg.Error, PoolTimeout):
            pass

    def close(self) -> None:
        self._pool.close()
