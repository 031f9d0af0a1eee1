"""Printing the CLI's tables so they fit the terminal, 80 columns included (docs/cli.md "Tables").

A table is built by a function of how to show ids (addresses, escrow ids): whole when the table fits, else
shortened (`0x71B1…E50D`), with a caption saying where the whole ids are (`--json`, a wider terminal, the
`show`/`status` command). No header is ever broken inside a word: each column is at least as wide as the
longest word of its header.
"""

from __future__ import annotations

from collections.abc import Callable

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

ShowId = Callable[[str], str]
SHORTENED_NOTE = "ids shortened to fit: --json or a wider terminal shows them whole"


def whole_id(value: str) -> str:
    return value


def short_id(value: str) -> str:
    """'0x71B19508…E50D' -> '0x71B1…E50D' (the checksummed case kept, so it still reads as that address)."""
    return value if len(value) <= 13 else f"{value[:6]}…{value[-4:]}"


def _protect_headers(table: Table) -> Table:
    for column in table.columns:
        words = str(column.header).split()
        column.min_width = max(column.min_width or 0, *(len(w) for w in words), 1)
    return table


def fitted(build: Callable[[ShowId], Table], console: Console) -> Table:
    """The table with whole ids when it fits the console's width with no word broken, else with shortened ids."""
    table = _protect_headers(build(whole_id))
    unbounded = console.options.update(max_width=10_000)  # Measurement clamps to the options' width
    if Measurement.get(console, unbounded, table).minimum <= console.width:
        return table
    table = _protect_headers(build(short_id))
    table.caption = f"{table.caption}\n{SHORTENED_NOTE}" if table.caption else SHORTENED_NOTE
    return table


def compact(title: str, caption: str | None = None) -> Table:
    """A table for many columns: no vertical rules, one space of padding each side (kubectl-like)."""
    return Table(
        title=title, caption=caption, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True
    )


def print_table(build: Callable[[ShowId], Table], console: Console | None = None) -> None:
    console = console or Console()
    console.print(fitted(build, console))
