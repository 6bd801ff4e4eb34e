"""Scores, response rates and rank odds per unit, from the stored answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

import sampling
from survey_service.results import estimates as results


def test_scores_rates_and_ranks(session, wave_with_answers):
    """Do the unit rows equal the hand-worked means, sampling's rates and its rank odds?"""
    wave, plan = wave_with_answers
    rows = {r.code: r for r in results.unit_results(session, wave, min_valid=3)}
    points = [100, 80, 60, 30, 0]
    for code, answers in plan.items():
        scores = [(points[a] + points[b]) / 20 for a, b in (x for x in answers if x)]
        row = rows[code]
        assert row.n == len(scores) and row.completes == len(scores)
        assert math.isclose(row.mean, float(np.mean(scores)), abs_tol=1e-12)
        # One stratum, N=20: se = sqrt((1 - n/N) * s^2 / n).
        n = len(scores)
        se = math.sqrt((1 - n / 20) * np.var(scores, ddof=1) / n)
        assert math.isclose(row.se, se, rel_tol=1e-9)
        refusals = answers.count(None)
        expected = sampling.aapor_rates({"1.1": n, "2.11": refusals})
        assert math.isclose(row.rr3, expected.rr3) and row.rr3 == n / 6
    assert rows["A"].mean > rows["B"].mean > rows["C"].mean
    # Two of three units are in the "bottom 2" (k = units - 1); C almost surely.
    assert rows["C"].bottom > 0.99 and rows["A"].top > 0.99
    assert math.isclose(rows["A"].bottom + rows["B"].bottom + rows["C"].bottom, 2.0)


def test_units_below_the_minimum_are_ranked_and_flagged(session, wave_with_answers):
    """Issue 16: a unit short of the minimum is in the ranking, flagged with why."""
    wave, _plan = wave_with_answers
    rows = {r.code: r for r in results.unit_results(session, wave)}  # minimum 30
    assert {c: (r.n, r.released, r.open_cases) for c, r in rows.items()} == {
        "A": (5, 6, 0),
        "B": (5, 6, 0),
        "C": (4, 6, 0),
    }
    assert all(r.below_minimum and "too_few" in r.flags for r in rows.values())
    assert all(r.minimum_reasons == ("response_too_low",) for r in rows.values())
    assert all("应答过低：已发放样本均已结束" in r.note for r in rows.values())
    # three units: k = 2 places; the probabilities of each list sum to k
    assert {c: r.bottom for c, r in rows.items()} == {"A": 0.00135, "B": 0.9991, "C": 0.99955}
    assert {c: r.top for c, r in rows.items()} == {"A": 1.0, "B": 0.997, "C": 0.003}
    assert sum(r.bottom for r in rows.values()) == pytest.approx(2.0, abs=1e-12)


@pytest.mark.parametrize(
    ("frame", "released", "still_open", "expected"),
    [
        (12, 12, 0, ("list_too_small",)),
        (12, 12, 3, ("list_too_small", "still_in_field")),
        (200, 40, 5, ("still_in_field",)),
        (200, 40, 0, ("response_too_low",)),
    ],
)
def test_minimum_reasons(frame, released, still_open, expected):
    assert results.minimum_reasons(frame, released, still_open) == expected
