"""The plain table printer draws what rich draws, and leaves to rich what it cannot match."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.table import Table

from catenary.cli import output
from catenary.cli.table import plain_table

HEADERS = ("name", "inputs", "output", "version_id", "here")
CID = "bafy2bzaceb6juisxtliihhygfar5agnfot2jvp2mpuqg7g3f4ok4ue72v2jws"
TABLES = [
    [],
    [("std/all", '"bool", "bool"', '"bool"', CID, "yes")],
    [
        ("a", "", '"any"', CID, "no"),
        ("a-much-longer-operation-name/x", '"bytes"', '{"list": "int"}', "c", "yes"),
    ],
    [("", "", "", "", "")],
    [("std/all", "", "", "…g7g3f4ok4ue7", "yes")],  # a short CID, as tables show them
]


def rich_text(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """What `out.print(Table(...))` writes to a pipe (the console options of output._out)."""
    buffer = io.StringIO()
    console = Console(
        file=buffer, markup=False, highlight=False, emoji=False, soft_wrap=True, width=output.PIPE_WIDTH
    )
    table = Table(*headers)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    return buffer.getvalue()


@pytest.mark.parametrize("rows", TABLES)
def test_plain_table_is_what_rich_prints_to_a_pipe(rows: list[tuple[str, ...]]) -> None:
    assert plain_table(HEADERS, rows) == rich_text(HEADERS, rows)


@pytest.mark.parametrize(
    "cell",
    [
        "x" * 200,  # wider than the pipe's 240 columns with the others: rich squeezes it
        "wide 幅",  # two columns per character
        "two\nlines",
        "tab\there",
    ],
)
def test_rich_draws_what_the_plain_printer_cannot_match(cell: str) -> None:
    assert plain_table(HEADERS, [(cell, "", "", CID, "yes")]) is None
