"""Executions: get, list (keyset pages), updates (stored then live), trace."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Iterator

from catenary.cid import CID, decode, encode
from catenary.errors import BadInputError, CatenaryError, NotFoundError
from catenary.model import Execution
from catenary.model.filter import ExecutionFilter
from catenary.store import Store

MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Page:
    """One page of executions, newest first; pass ``next_page_token`` to get the next one."""

    executions: list[Execution]
    next_page_token: str | None


@dataclass(frozen=True)
class TraceNode:
    """A node of a trace: an execution, or the event that carried external inputs."""

    kind: str  # "execution" | "event"
    hash: CID
    execution: Execution | None = None
    inputs: tuple[CID, ...] = ()
    segment: int | None = None


@dataclass(frozen=True)
class Trace:
    """The sub-DAG an execution came from: nodes (each once) and edges parent -> child."""

    root: CID
    nodes: list[TraceNode]
    edges: list[tuple[CID, CID]]


class ExecutionManager:
    """Read access to the execution DB."""

    def __init__(self, store: Store, poll_interval: float = 0.05) -> None:
        self._store = store
        self._poll_interval = poll_interval

    def get(self, execution_hash: CID) -> Execution:
        found = self._store.get_execution(execution_hash)
        if found is None:
            raise NotFoundError(f"unknown execution {execution_hash}")
        return found

    def list(self, flt: ExecutionFilter | None = None, page_size: int = 100,
             page_token: str | None = None) -> Page:
        """Executions matching ``flt``, newest first, one keyset page at a time."""
        flt = flt or ExecutionFilter()
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise BadInputError(f"page size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
        before = _read_token(page_token, flt) if page_token else None
        executions, last = self._store.list_executions(flt, page_size, before)
        return Page(executions, None if last is None else _make_token(last, flt))

    def iterate(self, flt: ExecutionFilter | None = None, page_size: int = 500) -> Iterator[Execution]:
        """Every match, lazily, page by page."""
        token = None
        while True:
            page = self.list(flt, page_size, token)
            yield from page.executions
            if not page.next_page_token:
                return
            token = page.next_page_token

    def updates(self, flt: ExecutionFilter | None = None, since_seq: int = 0,
                stop: threading.Event | None = None, batch: int = 500) -> Iterator[Execution]:
        """Stored matches with ``seq > since_seq``, then live changes as they are committed.

        Never yields an execution twice and never skips one: both parts read the
        same seq-ordered query, resuming after the last seq seen. Ends when
        ``stop`` is set.
        """
        flt = flt or ExecutionFilter()
        seq = since_seq
        while stop is None or not stop.is_set():
            rows = self._store.executions_since(flt, seq, batch)
            for execution in rows:
                seq = execution.seq
                yield execution
            if len(rows) < batch:
                if stop is not None:
                    stop.wait(self._poll_interval)
                else:
                    time.sleep(self._poll_interval)

    def trace(self, execution_hash: CID) -> Trace:
        """The ancestry of an execution back to its events, each node once."""
        root = self.get(execution_hash)
        nodes: dict[CID, TraceNode] = {root.hash: TraceNode("execution", root.hash, root)}
        edges: list[tuple[CID, CID]] = []
        todo = [root]
        while todo:
            execution = todo.pop()
            for parent in dict.fromkeys(execution.parents):
                edges.append((parent, execution.hash))
                if parent in nodes:
                    continue
                found = self._store.get_execution(parent)
                if found is not None:
                    nodes[parent] = TraceNode("execution", parent, found)
                    todo.append(found)
                    continue
                event = self._store.get_event(parent)
                if event is None:
                    raise NotFoundError(f"parent {parent} of {execution.hash} is neither an execution "
                                        f"nor an event on this node")
                nodes[parent] = TraceNode("event", parent, None, event.inputs, event.segment)
        return Trace(root.hash, list(nodes.values()), edges)


def _fingerprint(flt: ExecutionFilter) -> bytes:
    return hashlib.blake2b(repr(flt).encode(), digest_size=8).digest()


def _make_token(before: int, flt: ExecutionFilter) -> str:
    return base64.urlsafe_b64encode(encode([1, before, _fingerprint(flt)])).decode().rstrip("=")


def _read_token(token: str, flt: ExecutionFilter) -> int:
    """Decode a page token; refuse a forged one or one made for another filter."""
    try:
        version, before, fingerprint = decode(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (CatenaryError, ValueError, TypeError):
        raise BadInputError(f"invalid page token {token!r}") from None
    if version != 1 or not isinstance(before, int) or isinstance(before, bool) or before < 0:
        raise BadInputError(f"invalid page token {token!r}")
    if fingerprint != _fingerprint(flt):
        raise BadInputError("page token was made for a different filter; start again without it")
    return before
