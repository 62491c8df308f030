"""Named queues of remote work: which queue a remote step is offered on (docs/design.md,
"Task queues").

A run may carry routes, ``{selector: queue}``, given when it is created (run options, outside
every hashed record: a queue says *who* performs a step, never *what* is computed, so no id or
key depends on it). A selector is ``SEGMENT.STEP`` (one step), an operation name (every step of
that operation) or ``*`` (every remote step of the run); the most specific one that matches
wins. A step no route names goes to :data:`DEFAULT_QUEUE`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from catenary.errors import BadInputError

DEFAULT_QUEUE = "default"
ANY_STEP = "*"
MAX_ROUTES = 256

_QUEUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_STEP = re.compile(r"(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})")


def check_queue(name: str, where: str = "queue") -> str:
    """``name`` if it is a valid queue name; BadInputError naming ``where`` otherwise."""
    if not isinstance(name, str) or not _QUEUE.fullmatch(name):
        raise BadInputError(
            f"{where}: {name!r} is not a queue name (1 to 64 letters, digits, '.', '_', ':' "
            f"or '-', starting with a letter or digit)"
        )
    return name


def check_routes(routes: Mapping[str, str] | None) -> dict[str, str]:
    """The routes, checked: each selector is ``*``, ``SEGMENT.STEP`` or an operation name,
    each queue a valid name. BadInputError names the first wrong entry."""
    if not routes:
        return {}
    if len(routes) > MAX_ROUTES:
        raise BadInputError(f"queues: {len(routes)} routes; a run takes at most {MAX_ROUTES}")
    checked = {}
    for selector, queue in routes.items():
        if not isinstance(selector, str) or not selector.strip() or len(selector) > 200:
            raise BadInputError(
                f"queues: selector {selector!r} is not '*', SEGMENT.STEP (e.g. 0.1) or an operation name"
            )
        if selector[:1].isdigit() and not _STEP.fullmatch(selector):
            raise BadInputError(
                f"queues: selector {selector!r} starts with a digit but is not SEGMENT.STEP (e.g. 0.1)"
            )
        checked[selector] = check_queue(queue, f"queues[{selector!r}]")
    return checked


def parse_routes(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``[SELECTOR=]QUEUE`` texts (the CLI's ``--queue``) as routes; a bare QUEUE is ``*``."""
    routes: dict[str, str] = {}
    for item in items:
        selector, sep, queue = item.rpartition("=")
        routes[selector if sep else ANY_STEP] = queue
    return check_routes(routes)


def route(routes: Mapping[str, str], segment: int, step: int, operation: str | None) -> str:
    """The queue of step ``segment.step`` (of ``operation``, by name) under ``routes``."""
    for selector in (f"{segment}.{step}", operation, ANY_STEP):
        if selector is not None and selector in routes:
            return routes[selector]
    return DEFAULT_QUEUE
