"""Scores, response rates and rank odds per unit, from the stored answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sqlmodel import select

import sampling
from survey_service.db import transaction
from survey_service.models import Case
from survey_service.services import calling, draws, interviews, queue, results
from tests.factories import make_list, make_unit, make_user, make_wave

LEVELS = ["very_satisfied", "satisfied", "basically_satisfied", "dissatisfied", "very_dissatisfied"]


def _interview(session, agent, ratings):
    case = queue.claim_next_case(session, agent)
    attempt = calling.start_attempt(session, case, agent=agent)
    if ratings is None:
        calling.record_outcome(session, case, attempt, "2.11", actor=agent)
        return case
    for item_id, value in (
        ("screening", "dealt"),
        ("service_quality", ratings[0]),
        ("overall", ratings[1]),
        ("comment", "_skipped"),
    ):
        interviews.answer(session, case, attempt, item_id, value, actor=agent)
    return case


@pytest.fixture
def wave_with_answers(session):
    """Three units, 6 cases each from 20 clients; answers chosen per unit."""
    plan = {
        "A": [(0, 0), (0, 1), (1, 1), (0, 0), None, (1, 0)],  # high
        "B": [(2, 2), (3, 2), (2, 3), (1, 2), (2, 2), None],  # middling
        "C": [(4, 3), (3, 4), (4, 4), (3, 3), None, None],  # low
    }
    with transaction(session):
        reviewer = make_user(session, role="reviewer")
        agent = make_user(session, role="agent")
        wave = make_wave(session)
        for i, code in enumerate(plan):
            unit = make_unit(session, code=code, name=f"单位{code}")
            make_list(
                session, unit=unit, wave=wave, n=20, start=13800000000 + i * 1000, actor=reviewer
            )
        draws.draw_sample(session=session, wave=wave, seed=9, per_unit=6, actor=None)
        for code in plan:
            for ratings in plan[code]:
                # Claim order is the sample's order: make the next claim this unit's.
                session.exec(select(Case)).all()
                case = _interview_for(session, agent, code, ratings)
                assert case is not None
    return wave, plan


def _interview_for(session, agent, code, ratings):
    from survey_service.models import CaseStatus, Unit

    unit = session.exec(select(Unit).where(Unit.code == code)).one()
    case = session.exec(
        select(Case)
        .where(Case.unit_id == unit.id, Case.status == CaseStatus.PENDING)
        .order_by(Case.order_rank)
    ).first()
    case.status = CaseStatus.IN_PROGRESS
    case.claimed_by = agent.id
    session.add(case)
    session.flush()
    return _interview(session, agent, [LEVELS[r] for r in ratings] if ratings else None)


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


def test_units_below_the_minimum_are_not_ranked(session, wave_with_answers):
    wave, _plan = wave_with_answers
    rows = results.unit_results(session, wave)  # minimum 30
    assert all(math.isnan(r.bottom) and "too_few" in r.flags for r in rows)
    assert all("有效回答少于 30" in r.note for r in rows)
