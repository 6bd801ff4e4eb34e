"""A unit's score beside the distribution of its category's scores, no other unit named.

What a unit sees after publication: how many units of its category have a
score, their lowest, quartiles, median and highest, a histogram of the
scores in half-point bins with the unit's own bin marked, and how many of
them scored below it. Nothing names, codes or orders the other units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from survey_service.results.estimates import UnitResult

BIN_WIDTH = 0.5


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int
    mine: bool  # the unit's own score falls in it


@dataclass(frozen=True)
class CategoryDistribution:
    category: str
    units: int  # units of the category with a score, the unit included
    score: float
    lowest: float
    q1: float
    median: float
    q3: float
    highest: float
    below: int  # units of the category scoring less than the unit
    bins: tuple[Bin, ...]


def _scored(result: UnitResult) -> bool:
    return result.n > 0 and math.isfinite(result.mean)


def category_distribution(results: Sequence[UnitResult], code: str) -> CategoryDistribution | None:
    """The distribution of the scores in the unit's category, or None if it has no score."""
    mine = next((r for r in results if r.code == code), None)
    if mine is None or not _scored(mine):
        return None
    scores = np.array(
        [r.mean for r in results if r.category == mine.category and _scored(r)], dtype=float
    )
    q1, median, q3 = np.percentile(scores, [25, 50, 75])
    start = math.floor(scores.min() / BIN_WIDTH) * BIN_WIDTH
    stop = math.floor(scores.max() / BIN_WIDTH) * BIN_WIDTH + BIN_WIDTH
    edges = np.arange(start, stop + BIN_WIDTH / 2, BIN_WIDTH)
    counts = np.histogram(scores, bins=edges)[0]
    bins = tuple(
        Bin(
            float(low),
            float(high),
            int(count),
            bool(low <= mine.mean < high or (high == edges[-1] and mine.mean == high)),
        )
        for low, high, count in zip(edges[:-1], edges[1:], counts, strict=True)
    )
    return CategoryDistribution(
        category=mine.category,
        units=int(scores.size),
        score=float(mine.mean),
        lowest=float(scores.min()),
        q1=float(q1),
        median=float(median),
        q3=float(q3),
        highest=float(scores.max()),
        below=int((scores < mine.mean).sum()),
        bins=bins,
    )
