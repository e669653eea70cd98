"""The one text-table formatter behind every table ``noloop bench`` prints.

A table is a list of :class:`Column` specs over a list of rows: each column
says how to get its value from a row, how to write that value, and how to
align it. Columns are two spaces apart and as wide as their widest cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal, Sequence

__all__ = ["Column", "format_table", "format_seconds", "yes_no"]


@dataclass(frozen=True)
class Column:
    """One column of a text table.

    Parameters
    ----------
    header : str
        The column's title.
    value : callable
        ``value(row)``: what the column shows for one row.
    text : str or callable, default="{}"
        How to write a value: a :meth:`str.format` template with one field
        (``"{:.2f}×"``) or a function of the value.
    align : {"<", ">"}, default="<"
        Left or right alignment.
    min_width : int, default=0
        Narrowest the column may be, so short values line up under longer
        ones from other runs.
    """

    header: str
    value: Callable[[Any], Any]
    text: str | Callable[[Any], str] = "{}"
    align: Literal["<", ">"] = "<"
    min_width: int = 0

    def cell(self, row: Any) -> str:
        """The text of this column for ``row``."""
        value = self.value(row)
        return self.text(value) if callable(self.text) else self.text.format(value)


def format_table(columns: Sequence[Column], rows: Sequence[Any], *, rule: bool = False) -> str:
    """Rows as aligned text: a header line, an optional rule of dashes, one line per row.

    Parameters
    ----------
    columns : sequence of Column
    rows : sequence
        Anything the columns' ``value`` functions take.
    rule : bool, default=False
        Underline the header with dashes, one run per column.

    Returns
    -------
    text : str
        Lines joined by newlines, without trailing spaces.
    """
    lines = [[column.header for column in columns],
             *[[column.cell(row) for column in columns] for row in rows]]
    widths = [max(column.min_width, *(len(line[i]) for line in lines))
              for i, column in enumerate(columns)]
    text = ["  ".join(f"{cell:{column.align}{width}}"
                      for cell, column, width in zip(line, columns, widths)).rstrip()
            for line in lines]
    if rule:
        text.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(text)


def format_seconds(seconds: float) -> str:
    """Seconds in the largest unit that keeps the number at or above 1 (``"76.5 µs"``)."""
    for unit, factor in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= factor:
            return f"{seconds / factor:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def yes_no(flag: bool) -> str:
    """``"yes"`` or ``"no"``."""
    return "yes" if flag else "no"
