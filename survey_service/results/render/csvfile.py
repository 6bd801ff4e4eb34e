"""Exports: CSV that Excel opens right and never executes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def inert(value):
    """Make a text cell that a spreadsheet would read as a formula plain text.

    A leading ``'`` is what Excel itself shows for text typed with one; numbers
    stay numbers (a negative number is not a formula).
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """Return UTF-8-with-BOM CSV bytes with every text cell made inert."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([inert(h) for h in header])
    for row in rows:
        writer.writerow([inert(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
