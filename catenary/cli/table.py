"""Tables drawn as rich draws them, without importing rich where nothing calls for it.

Importing rich's tables and consoles is a good part of a short command's start-up
(docs/benchmarks.md). Printed to a pipe or a file, a table of plain ASCII cells that fits the
width comes out the same from here as from rich (its default box, ``HEAVY_HEAD``, one space of
padding, no style): ``tests/cli/test_table.py`` holds the two equal. A terminal, where rich
styles the header and fits the table to the window, and any other table go to rich.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from catenary.cid.display import ELLIPSIS
from catenary.cli import output

# HEAVY_HEAD: (left, between, right, fill) for the top edge, the header row, the rule under
# the header, the body rows and the bottom edge.
_TOP = ("┏", "┳", "┓", "━")
_HEAD = ("┃", "┃", "┃", " ")
_RULE = ("┡", "╇", "┩", "━")
_ROW = ("│", "│", "│", " ")
_BOTTOM = ("└", "┴", "┘", "─")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print ``rows`` under ``headers`` on stdout, as ``output.out.print(rich Table)`` would."""
    text = None if _rich_styles() else plain_table(headers, rows)
    if text is None:
        from rich.table import Table

        table = Table(*headers)
        for row in rows:
            table.add_row(*row)
        output.out.print(table)
        return
    sys.stdout.write(text)
    sys.stdout.flush()


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str | None:
    """The table's text for a pipe, or None when rich must draw it (see the module docstring)."""
    if not all(_plain(c) for row in (headers, *rows) for c in row):
        return None
    widths = [max(len(row[i]) for row in (headers, *rows)) for i in range(len(headers))]
    if sum(widths) + 3 * len(widths) + 1 > output.PIPE_WIDTH:
        return None  # rich would wrap or squeeze the columns
    lines = [_edge(_TOP, widths), _line(_HEAD, headers, widths), _edge(_RULE, widths)]
    lines += [_line(_ROW, row, widths) for row in rows]
    lines.append(_edge(_BOTTOM, widths))
    return "\n".join(lines) + "\n"


def _rich_styles() -> bool:
    """Whether rich would treat stdout as a terminal (style, window width) or draw other boxes
    (ASCII ones for an encoding other than UTF, Windows' legacy console's)."""
    if sys.stdout.isatty() or os.environ.get("TTY_COMPATIBLE") == "1" or os.environ.get("FORCE_COLOR"):
        return True
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"  # as rich reads it
    return sys.platform == "win32" or not encoding.lower().startswith("utf")


def _plain(cell: str) -> bool:
    # One column per character, one line. The ellipsis of a short CID (catenary.cid.display)
    # is one column wide too, in rich as in a terminal.
    return cell.replace(ELLIPSIS, "").isascii() and cell.isprintable()


def _edge(parts: tuple[str, str, str, str], widths: list[int]) -> str:
    left, between, right, fill = parts
    return left + between.join(fill * (w + 2) for w in widths) + right


def _line(parts: tuple[str, str, str, str], cells: Sequence[str], widths: list[int]) -> str:
    left, between, right, _ = parts
    return left + between.join(f" {c.ljust(w)} " for c, w in zip(cells, widths, strict=True)) + right
