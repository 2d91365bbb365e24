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
NARROWEST_OTHER_COLUMN = 6


@dataclass(frozen=True)
class Column:
    """One column of a table; an identifier is never wrapped or cut."""

    header: str
    identifier: bool = False
    justify: JustifyMethod = "left"


def cell_width(markup: str) -> int:
    """How many terminal cells a cell's text takes, markup left out."""
    return max((Text.from_markup(line).cell_len for line in markup.split("\n")), default=0)


def fits(width: int, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> bool:
    """Whether the identifiers, whole, and a few characters of every other column fit `width` (box.SIMPLE_HEAD)."""
    needed = 2 + len(columns) - 1  # the edges, and a separator between columns
    for index, column in enumerate(columns):
        natural = max([cell_width(column.header), *(cell_width(row[index]) for row in rows)])
        needed += 2 + (natural if column.identifier else min(natural, NARROWEST_OTHER_COLUMN))
    return needed <= width


def print_table(console: Console, title: str | None, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> None:
    """`rows` (rich markup) as a table when it fits the console, else one record a row; identifiers whole either way.

    The title is a line of its own, never wrapped: it may name a table."""
    if title:
        console.print(title, soft_wrap=True, highlight=False)
    if fits(console.width, columns, rows):
        table = Table(box=box.SIMPLE_HEAD)
        for column in columns:
            table.add_column(
                column.header,
                justify=column.justify,
                no_wrap=column.identifier,
                overflow="ignore" if column.identifier else "fold",
            )
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    for row in rows:
        names = [cell for column, cell in zip(columns, row, strict=True) if column.identifier and cell]
        if names:
            console.print("  ".join(names), soft_wrap=True, highlight=False)
        details = [
            f"{column.header}: {cell}"
            for column, cell in zip(columns, row, strict=True)
            if not column.identifier and cell
        ]
        if details:
            console.print("    " + "; ".join(details), highlight=False)
