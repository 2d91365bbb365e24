"""Tables that read at any width and keep what a user copies whole: table names, backup names and ARNs.

rich shrinks a table that is too wide by wrapping, folding or cutting its cells, and it cuts any column once the
wrappable ones cannot give enough room. So identifier columns are never wrapped (rich leaves `no_wrap` columns for
last), and a table is printed as a table only when its identifiers plus a few characters for every other column fit
the width; otherwise each row is printed as a record, its identifiers on a line of their own, whole however long.
A line longer than the terminal is then wrapped by the terminal, not split by us, so a copy of it stays one piece.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

# What a non-identifier column keeps at least before the table gives way to records (it wraps or folds within it).
NARROWEST_OTHER_COLUMN = 8
GAP = 2  # cells between two columns: one of padding, one of the (blank) separator
INDENT = "    "  # a record's details, under its identifiers


@dataclass(frozen=True)
class Column:
    """One column of a table; an identifier is never wrapped or cut."""

    header: str
    identifier: bool = False
    justify: JustifyMethod = "left"


def cell_width(markup: str) -> int:
    """How many terminal cells a cell's text takes, markup left out."""
    return max((Text.from_markup(line, emoji=False).cell_len for line in markup.split("\n")), default=0)


def fits(width: int, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> bool:
    """Whether the identifiers, whole, and a few characters of every other column fit `width` (the style below)."""
    needed = GAP * (len(columns) - 1)
    for index, column in enumerate(columns):
        natural = max([cell_width(column.header), *(cell_width(row[index]) for row in rows)])
        needed += natural if column.identifier else min(natural, NARROWEST_OTHER_COLUMN)
    return needed <= width


def print_table(console: Console, title: str | None, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> None:
    """`rows` (rich markup) as a table when it fits the console, else one record a row; identifiers whole either way.

    The title is a line of its own, never wrapped: it may name a table."""
    if title:
        console.print(title, soft_wrap=True, highlight=False, emoji=False)
    if fits(console.width, columns, rows):
        # No outer edge or padding, GAP spaces between columns: the narrowest table that still reads as one.
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
        for column in columns:
            table.add_column(
                column.header,
                justify=column.justify,
                no_wrap=column.identifier,
                overflow="ignore" if column.identifier else "fold",
            )
        for row in rows:
            table.add_row(*(Text.from_markup(cell, emoji=False) for cell in row))
        console.print(table)
        return
    for row in rows:
        pairs = list(zip(columns, row, strict=True))
        names = [cell for column, cell in pairs if column.identifier and cell]
        if names:
            console.print("  ".join(names), soft_wrap=True, highlight=False, emoji=False)
        details = [f"{column.header}: {cell}" for column, cell in pairs if not column.identifier and cell]
        for line in _fill(details, console.width - len(INDENT)):
            console.print(INDENT + line, highlight=False, emoji=False)


def _fill(parts: Sequence[str], width: int) -> list[str]:
    """`parts` joined by '; ' into lines of at most `width` cells, broken between parts only (a longer part alone)."""
    lines: list[str] = []
    for part in parts:
        if lines and cell_width(lines[-1]) + 2 + cell_width(part) <= width:
            lines[-1] += "; " + part
        else:
            lines.append(part)
    return lines
