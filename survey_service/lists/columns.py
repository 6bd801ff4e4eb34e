"""A batch's columns, as the writers take them and as they cross the pipe.

A batch of client rows is a tuple of columns
(:func:`~survey_service.lists.sealing.client_columns`): each a list of one
value per row, or one value repeated for every row (the list's id).
:func:`rows_in` and :func:`as_rows` serve the writers that still take rows;
:func:`pack_column` and :func:`unpack_column` carry a column from the
parsing helper to the writer (:mod:`survey_service.lists.pipeline`). Pure,
the standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from typing import Any


def rows_in(columns: Sequence[Any]) -> int:
    """How many rows a batch's columns hold (a column that is one value holds none)."""
    return max((len(c) for c in columns if isinstance(c, list | tuple)), default=0)


def as_rows(columns: Sequence[Any]) -> list[tuple]:
    """The rows of a batch's columns: a column that is one value is repeated in each."""
    count = rows_in(columns)
    per_row = (c if isinstance(c, list | tuple) else repeat(c, count) for c in columns)
    return list(zip(*per_row, strict=False))


# Through the pipe a text column travels as one string, its values joined by
# the unit separator: pickling one string costs far less than 5,000 of them.
# None travels as "" (no text column holds ""), and a column holding the
# separator itself travels as it is. A column of few distinct values (the
# services, dates and kinds a unit writes again and again) travels as those
# values and a byte per row: the writer's column then holds the same few
# objects, so SQLite and COPY make each one's UTF-8 once, not per row.
_SEP = "\x1f"
_MAX_CODES = 256
_SAMPLE = 100  # values looked at before a column is counted whole


def pack_column(column: Sequence[Any]) -> tuple[str, Any]:
    """One column of a batch as it crosses the pipe: (kind, data), for :func:`unpack_column`."""
    if not column or not isinstance(column[0], str | None):
        return ("items", column)
    try:
        # A sample first: names and numbers, nearly all distinct, skip the whole count.
        few = len(set(column[:_SAMPLE])) * 4 <= min(len(column), _SAMPLE)
        distinct = dict.fromkeys(column) if few else None
    except TypeError:  # not all hashable: not all text
        return ("items", column)
    if distinct is not None and len(distinct) <= _MAX_CODES and len(distinct) * 4 <= len(column):
        codes = {value: code for code, value in enumerate(distinct)}
        return ("coded", (list(distinct), bytes(map(codes.__getitem__, column))))
    has_none = None in column
    values = [v or "" for v in column] if has_none else column
    try:
        joined = _SEP.join(values)
    except TypeError:  # not all text
        return ("items", column)
    if joined.count(_SEP) != len(column) - 1 or (has_none and "" in column):
        return ("items", column)
    return ("joined_none" if has_none else "joined", joined)


def unpack_column(packed: tuple[str, Any]) -> Sequence[Any]:
    """The column :func:`pack_column` packed."""
    kind, data = packed
    if kind == "items":
        return data
    if kind == "coded":
        values, codes = data
        return list(map(values.__getitem__, codes))
    values = data.split(_SEP)
    return [v or None for v in values] if kind == "joined_none" else values
