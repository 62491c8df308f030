"""Storage failures, named: what a failing disk or a read-only data dir becomes.

A database driver reports a full disk, a read-only file system, a lock held past the busy
timeout or an I/O error as its own exception (``sqlite3.OperationalError: database or disk is
full``); the file system reports them as :class:`OSError` errnos. :func:`classify` turns each
into one of the documented store errors, so the CLI prints one line and exits 1 and the
server answers ``UNAVAILABLE`` or ``FAILED_PRECONDITION`` (``catenary/api/errors.py``), never
a traceback or ``UNKNOWN``:

=====================  ==========================================  ====================
cause                  SQLite result code / errno                  error
=====================  ==========================================  ====================
disk full              SQLITE_FULL, ENOSPC, EDQUOT, EFBIG          StoreUnavailableError
locked                 SQLITE_BUSY, SQLITE_LOCKED                  StoreUnavailableError
I/O error              SQLITE_IOERR_*, EIO                         StoreUnavailableError
read-only              SQLITE_READONLY_*, EROFS                    StoreReadOnlyError
permission denied      SQLITE_PERM, SQLITE_CANTOPEN, EACCES, EPERM StoreReadOnlyError
=====================  ==========================================  ====================

Anything else (a constraint, a bug) is not a storage failure and is left as it is.
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
    if found is None:
        return None
    cls, cause = found
    return cls(f"cannot {doing} {where}: {cause} ({exc}); {_ADVICE[cls]}")


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
