"""Shared fixtures for service tests: a wave with interviews through the real services."""

from __future__ import annotations

import pytest
from sqlmodel import select

from survey_service.calls import attempts as calling
from survey_service.calls import interviews
from survey_service.db import transaction
from survey_service.models import Case, CaseStatus, Unit
from survey_service.sample import draws
from tests.factories import make_list, make_unit, make_user, make_wave

LEVELS = ["very_satisfied", "satisfied", "basically_satisfied", "dissatisfied", "very_dissatisfied"]


def _interview(session, agent, case, ratings):
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
                case = _interview_for(session, agent, code, ratings)
                assert case is not None
    return wave, plan


def _interview_for(session, agent, code, ratings):
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
    return _interview(session, agent, case, [LEVELS[r] for r in ratings] if ratings else None)
