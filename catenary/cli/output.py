"""What every CLI command shares for its output and arguments: the consoles, --json, CIDs."""

from __future__ import annotations

import datetime as _dt
import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from catenary.cid import CID
from catenary.cid.display import ELLIPSIS
from catenary.errors import BadInputError, CatenaryError, NotFoundError

if TYPE_CHECKING:
    from rich.console import Console


class _LazyConsole:
    """A rich Console made on first use: `catenary --help` never imports rich (start-up)."""

    def __init__(self, make: Callable[[], Console]) -> None:
        self._make = make
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            self._console = self._make()
        return getattr(self._console, name)


# When piped, do not cut tables at 80 columns: CIDs must come out whole.
PIPE_WIDTH = 240


def _out() -> Console:
    from rich.console import Console

    # emoji=False: "did:key:z..." node ids must not turn into a key emoji.
    return Console(
        markup=False,
        highlight=False,
        emoji=False,
        soft_wrap=True,
        width=None if sys.stdout.isatty() else PIPE_WIDTH,
    )


def _err() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)


out = cast("Console", _LazyConsole(_out))
err = cast("Console", _LazyConsole(_err))


def _json_here_or_before(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    """``--json`` after the command, or before it (``catenary --json op list``): either turns it on."""
    return value or bool(ctx.find_root().params.get("as_json"))


json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    callback=_json_here_or_before,
    help="Print one JSON document on stdout.",
)


full_option = click.option(
    "--full",
    is_flag=True,
    help="Print whole ids in the table (default: their distinguishing end, as the explorer shows).",
)


def emit(document: Any) -> None:
    """Print one JSON document on stdout (flushed: stream commands print one per line)."""
    click.echo(json.dumps(document, ensure_ascii=False))
    sys.stdout.flush()


# Set by the CLI's Context for a local data dir: (kind, fragment) -> matching stored ids.
ID_MATCHER: Callable[[str, str], list[CID]] | None = None
# The argument names of cid_arg and the kind of id each names (shell completion too: complete.py).
KINDS = {
    "HASH": "execution",
    "--proof": "execution",
    "RUN": "run",
    "--run": "run",
    "WORKFLOW": "workflow",
    "WORKFLOW_ID": "workflow",
    "--workflow": "workflow",
    "CID": "value",
    "VERSION_ID": "operation version",
}
_BASE32 = set("abcdefghijklmnopqrstuvwxyz234567")
# A fragment this long that matches nothing was meant as a whole CID: its parse error says
# more than "not found" (a whole CIDv1 in base32 is 59 characters or more).
_MEANT_WHOLE = 40


def cid_arg(text: str, what: str) -> CID:
    """A CID given on the command line; a bad one is exit 2 naming the argument. On a local
    data dir, a unique prefix or end of a stored id (at least 4 characters) stands for it;
    an ambiguous one lists the matches. The end a table shows (``…`` and the tail) is taken too."""
    text = text.removeprefix(ELLIPSIS).removeprefix("...")
    try:
        return CID.parse(text)
    except CatenaryError as exc:
        kind = KINDS.get(what)
        if ID_MATCHER is None or kind is None or len(text) < 4 or not set(text) <= _BASE32:
            raise BadInputError(f"{what}: {exc}") from exc
        matches = ID_MATCHER(kind, text)
        if len(matches) == 1:
            return matches[0]
        if not matches and len(text) >= _MEANT_WHOLE:
            raise BadInputError(f"{what}: {exc}") from exc
        if not matches:
            raise NotFoundError(f"{what}: no stored {kind} id starts or ends with {text!r}") from None
        listed = ", ".join(str(m) for m in matches)
        raise BadInputError(f"{what}: {text!r} is ambiguous: {kind} ids {listed}") from None


def read_file(path: Path, what: str = "", *, stdin: bool = False) -> bytes:
    """The bytes of a file named on the command line (with ``stdin``, ``-`` reads stdin); an
    unreadable one is exit 2 naming it, and ``what`` it is ("manifest", "module")."""
    if stdin and str(path) == "-":
        return sys.stdin.buffer.read()
    try:
        return path.read_bytes()
    except OSError as exc:
        named = f"{what} {str(path)!r}" if what else repr(str(path))
        raise BadInputError(f"cannot read {named}: {exc.strerror}") from exc


def ns_time(ns: int | None) -> str:
    """Unix nanoseconds as UTC time with milliseconds, or '-'."""
    if ns is None:
        return "-"
    return _dt.datetime.fromtimestamp(ns / 1e9, _dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


class LazyModule:
    """A module imported on its first attribute access: a command that needs the documents (and
    so the engine and the store) pays for them; ``--help`` does not. (importlib's LazyLoader
    would still import the parent package, ``catenary.sdk``, to find the module.)"""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)
