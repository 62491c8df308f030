"""Query strings of the explorer and the JSON gateway: the execution filter and paging.

The pages and the gateway read the same parameters, so a page's URL and the
API call behind it differ only by the ``/api`` prefix. Every problem is a
:class:`BadInputError` naming the parameter (HTTP 400).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from starlette.datastructures import QueryParams

from catenary.cid import CID
from catenary.errors import BadInputError, CatenaryError
from catenary.model import Status
from catenary.model.filter import ExecutionFilter
from catenary.sdk.execution import MAX_PAGE_SIZE

FILTER_PARAMS = (
    "status",
    "workflow",
    "run",
    "operation",
    "segment",
    "parent",
    "key",
    "created_after",
    "created_before",
    "input",
    "output",
)
PAGE_PARAMS = ("page_token", "page_size")
DEFAULT_PAGE_SIZE = 50
STATUSES = tuple(s.value for s in Status)


@dataclass(frozen=True)
class ListQuery:
    """A parsed ``/executions`` query: the filter, the page size and the page token."""

    filter: ExecutionFilter
    page_size: int
    page_token: str | None

    def params(self, page_token: str | None = None) -> list[tuple[str, str]]:
        """The query string items of this filter (for links), with another page token."""
        f = self.filter
        items: list[tuple[str, str]] = [("status", s.value) for s in f.statuses]
        for name in ("workflow", "run", "operation", "parent", "key"):
            value = getattr(f, name)
            if value is not None:
                items.append((name, str(value)))
        for name in ("segment", "created_after", "created_before"):
            value = getattr(f, name)
            if value is not None:
                items.append((name, str(value)))
        if self.page_size != DEFAULT_PAGE_SIZE:
            items.append(("page_size", str(self.page_size)))
        if page_token:
            items.append(("page_token", page_token))
        return items


def check_known(params: QueryParams, allowed: Iterable[str]) -> None:
    """Refuse parameters this endpoint does not take (a typo would otherwise widen a filter)."""
    allowed = tuple(allowed)
    for name in params.keys():
        if name not in allowed:
            raise BadInputError(
                f"unknown query parameter {name!r}; this endpoint takes "
                f"{', '.join(allowed) or 'no parameters'}"
            )


def single(params: QueryParams, name: str) -> str | None:
    """One parameter's value; an empty value (an empty form field) counts as absent."""
    values = [v for v in params.getlist(name) if v != ""]
    if len(values) > 1:
        raise BadInputError(f"query parameter {name!r} is given {len(values)} times; give it once")
    return values[0] if values else None


def cid_param(text: str, name: str) -> CID:
    try:
        return CID.parse(text)
    except CatenaryError as exc:
        raise BadInputError(f"{name}: {exc}") from exc


def int_param(params: QueryParams, name: str, low: int, high: int | None = None) -> int | None:
    text = single(params, name)
    if text is None:
        return None
    try:
        value = int(text, 10)
    except ValueError as exc:
        raise BadInputError(f"{name}: {text!r} is not an integer") from exc
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise BadInputError(f"{name}: must be {bound}, got {value}")
    return value


def parse_filter(params: QueryParams) -> ExecutionFilter:
    """The SPEC §5 execution filter from query parameters (``status`` may repeat: any of)."""
    statuses = []
    for text in params.getlist("status"):
        if text == "":
            continue
        try:
            statuses.append(Status(text))
        except ValueError as exc:
            raise BadInputError(f"status: {text!r} is not one of {', '.join(STATUSES)}") from exc

    def cid(name: str) -> CID | None:
        text = single(params, name)
        return None if text is None else cid_param(text, name)

    return ExecutionFilter(
        statuses=tuple(dict.fromkeys(statuses)),
        workflow=cid("workflow"),
        run=cid("run"),
        operation=cid("operation"),
        segment=int_param(params, "segment", 0),
        parent=cid("parent"),
        key=cid("key"),
        created_after=int_param(params, "created_after", 0),
        created_before=int_param(params, "created_before", 0),
        input=cid("input"),
        output=cid("output"),
    )


def parse_list_query(params: QueryParams) -> ListQuery:
    """Filter and paging of an execution list; refuses unknown parameters."""
    check_known(params, FILTER_PARAMS + PAGE_PARAMS)
    flt = parse_filter(params)
    size = int_param(params, "page_size", 1, MAX_PAGE_SIZE)
    return ListQuery(flt, DEFAULT_PAGE_SIZE if size is None else size, single(params, "page_token"))
