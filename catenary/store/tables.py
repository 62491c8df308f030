"""The base of the table mixins (events, peers, run leases): what they call on the SQL store
they are mixed into, declared once."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any


class SQLTables:
    """Mixed into :class:`catenary.store.sql.SQLStore`, which provides these."""

    NOW_NS: str  # the database's clock in unix ns, as SQL

    def _read(self, query: str, params: Iterable[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _sql(self, query: str) -> str:
        raise NotImplementedError
