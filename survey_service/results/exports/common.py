"""What every export table shares: the table type, number formats and rounding."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

Table = tuple[list[str], list[list]]

SCORE_FORMAT = "0.00"
RATE_FORMAT = "0.0%"
PROBABILITY_FORMAT = "0.00%"
WEIGHT_FORMAT = "0.000"
DECIMALS = 4  # rounding of aggregate figures, as in results.results_table


def fmt(value, places: int = DECIMALS):
    """A figure as exported: rounded, or empty for NaN/None."""
    if value is None:
        return ""
    value = float(value)
    return "" if math.isnan(value) or math.isinf(value) else round(value, places)


def column_formats(header: list[str], formats: Mapping[str, str]) -> dict[int, str]:
    """Number formats by column name → by 0-based column index (names not present skipped)."""
    return {header.index(name): fmt for name, fmt in formats.items() if name in header}


def iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""
