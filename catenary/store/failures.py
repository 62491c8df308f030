"""Storage failures, named: what a failing disk or a read-only data dir becomes.

A database driver reports a full disk, a read-only file system, a lock held past the busy
timeout or an I/O error as its own exception (``sqlite3.OperationalError: database or disk is
full``); the file system reports them as :class:`OSError` errnos. :func:`classify` turns each
into one of the documented store errors, so the CLI prints one line and exits 1 and the
server answers ``UNAVAILABLE`` or ``FAILED_PRECONDITION`` (``catenary/api/errors.py``), never
a traceback or ``UNKNOWN``:

=================  ===========================================  ======================  =====================
cause              SQLite result code / errno                   PostgreSQL SQLSTATE     error
=================  ===========================================  ======================  =====================
disk full          SQLITE_FULL, ENOSPC, EDQUOT, EFBIG           53100, class 53         StoreUnavailableError
locked             SQLITE_BUSY, SQLITE_LOCKED                   55P03, 57014            StoreUnavailableError
I/O error          SQLITE_IOERR_*, EIO                          class 58, XX001, XX002  StoreUnavailableError
server gone                                                     class 08, 57P*, none    StoreUnavailableError
read-only          SQLITE_READONLY_*, EROFS                     25006                   StoreReadOnlyError
permission denied  SQLITE_PERM, SQLITE_CANTOPEN, EACCES, EPERM  42501                   StoreReadOnlyError
=================  ===========================================  ======================  =====================

A psycopg error with no SQLSTATE is the client's own: an ``OperationalError`` or
``InterfaceError`` then means the connection was lost or never made. Anything else (a
constraint, a bug) is not a storage failure and is left as it is.
"""

from __future__ import annotations

import errno
import os
import sqlite3

from catenary.errors import StoreError, StoreReadOnlyError, StoreUnavailableError

_ERRNOS: dict[int, tuple[type[StoreError], str]] = {
    errno.ENOSPC: (StoreUnavailableError, "disk full"),
    errno.EDQUOT: (StoreUnavailableError, "disk quota exceeded"),
    errno.EFBIG: (StoreUnavailableError, "file size limit reached"),
    errno.EIO: (StoreUnavailableError, "I/O error"),
    errno.EROFS: (StoreReadOnlyError, "read-only file system"),
    errno.EACCES: (StoreReadOnlyError, "permission denied"),
    errno.EPERM: (StoreReadOnlyError, "permission denied"),
}

# SQLite primary result codes (the low byte of an extended code).
_SQLITE: dict[int, tuple[type[StoreError], str]] = {
    13: (StoreUnavailableError, "disk full"),  # SQLITE_FULL
    5: (StoreUnavailableError, "database locked beyond the busy timeout"),  # SQLITE_BUSY
    6: (StoreUnavailableError, "database locked beyond the busy timeout"),  # SQLITE_LOCKED
    10: (StoreUnavailableError, "I/O error"),  # SQLITE_IOERR
    8: (StoreReadOnlyError, "read-only"),  # SQLITE_READONLY
    3: (StoreReadOnlyError, "permission denied"),  # SQLITE_PERM
    14: (StoreReadOnlyError, "cannot open or create a file (read-only or no permission)"),  # CANTOPEN
}

# PostgreSQL SQLSTATEs: looked up whole, then by their first three characters, then by class.
_SQLSTATE: dict[str, tuple[type[StoreError], str]] = {
    "53100": (StoreUnavailableError, "disk full"),
    "53200": (StoreUnavailableError, "the server is out of memory"),
    "53300": (StoreUnavailableError, "too many connections"),
    "53": (StoreUnavailableError, "the server is out of resources"),
    "55P03": (StoreUnavailableError, "a lock could not be had in time"),
    "57014": (StoreUnavailableError, "the statement was cancelled (statement timeout)"),
    "58": (StoreUnavailableError, "I/O error on the server"),
    "XX001": (StoreUnavailableError, "data corrupted on the server"),
    "XX002": (StoreUnavailableError, "index corrupted on the server"),
    "08": (StoreUnavailableError, "the connection was lost or refused"),
    "57P": (StoreUnavailableError, "the server is shutting down or restarting"),
    "25006": (StoreReadOnlyError, "read-only transaction (default_transaction_read_only or a standby)"),
    "42501": (StoreReadOnlyError, "permission denied"),
}
_CONNECTION_LOST = (StoreUnavailableError, "the connection was lost or refused")

_ADVICE = {
    StoreUnavailableError: "nothing was changed; free space or retry, then run the command again",
    StoreReadOnlyError: "nothing was changed; commands that only read still work",
}


def classify(exc: BaseException, where: str, doing: str) -> StoreError | None:
    """The store error for ``exc`` met while ``doing`` something to ``where``, or None when
    ``exc`` is not a storage failure."""
    found: tuple[type[StoreError], str] | None = None
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None:
            found = _SQLITE.get(code & 0xFF)
        # A full disk met while the WAL or journal grows can come back as an I/O error;
        # the errno behind it is lost, but the file system knows.
        if found and found[0] is StoreUnavailableError and "I/O" in found[1] and _full(where):
            found = _SQLITE[13]
    elif isinstance(exc, OSError) and exc.errno is not None:
        found = _ERRNOS.get(exc.errno)
    elif type(exc).__module__.startswith("psycopg"):
        found = _postgres(exc)
    if found is None:
        return None
    cls, cause = found
    said = " ".join(str(exc).split()) or type(exc).__name__  # libpq spreads hints over lines
    return cls(f"cannot {doing} {where}: {cause} ({said}); {_ADVICE[cls]}")


def _postgres(exc: BaseException) -> tuple[type[StoreError], str] | None:
    import psycopg  # loaded already: exc is one of its errors

    state = getattr(exc, "sqlstate", None)
    if not state:
        lost = isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))
        return _CONNECTION_LOST if lost else None
    for key in (state, state[:3], state[:2]):
        if key in _SQLSTATE:
            return _SQLSTATE[key]
    return None


def read_only_fs(path: str) -> bool:
    """Whether ``path``'s file system is mounted read-only (then nobody can change its files)."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _full(where: str) -> bool:
    try:
        stats = os.statvfs(os.path.dirname(where) or ".")
    except OSError:
        return False
    return stats.f_bavail == 0
