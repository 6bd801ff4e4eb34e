"""Quality review: the review list (share, seed, flags) and striking an interview."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from survey_service import dispositions as aapor
from survey_service.calls import attempts as calling
from survey_service.calls import interviews, quality
from survey_service.db import transaction
from survey_service.errors import Conflict, ServiceError
from survey_service.models import (
    AuditEvent,
    CallAttempt,
    Case,
    CaseStatus,
    QualityReview,
    SampleDraw,
    SurveyWave,
)
from survey_service.results import estimates
from tests.calls.conftest import make_sample
from tests.factories import make_user

RATINGS = [
    ("very_satisfied", "very_satisfied"),  # 10.0, straight-lined
    ("satisfied", "basically_satisfied"),  # 7.0
    ("basically_satisfied", "dissatisfied"),  # 4.5
]


def _interview(session, agent, case, ratings, seconds):
    case.status = CaseStatus.IN_PROGRESS
    case.claimed_by = agent.id
    session.add(case)
    session.flush()
    attempt = calling.start_attempt(session, case, agent=agent)
    for item_id, value in (
        ("screening", "dealt"),
        ("service_quality", ratings[0]),
        ("overall", ratings[1]),
        ("comment", "_skipped"),
    ):
        interviews.answer(session, case, attempt, item_id, value, actor=agent)
    attempt.started_at = attempt.ended_at - timedelta(seconds=seconds)
    session.add(attempt)


def build_quality_world(session):
    """One unit, three completes by agent_one (600, 540, 150 s) rated 10.0, 7.0 and 4.5."""
    cases = make_sample(session, per_unit=3)
    with transaction(session):
        agent = make_user(session, username="agent_one", role="agent")
        boss = make_user(session, username="boss", role="supervisor")
        for case, ratings, seconds in zip(cases, RATINGS, (600, 540, 150), strict=True):
            _interview(session, agent, case, ratings, seconds)
    draw = session.get(SampleDraw, cases[0].draw_id)
    return {
        "cases": cases,
        "agent": agent,
        "boss": boss,
        "wave": session.get(SurveyWave, draw.wave_id),
    }


@pytest.fixture
def world(session):
    return build_quality_world(session)


def test_flags(session, world):
    """Short (150 s < 540/3) and straight-lined completes are flagged; the others not."""
    a, b, c = world["cases"]
    assert [session.get(Case, x.id).disposition for x in (a, b, c)] == [aapor.COMPLETE] * 3
    flags = quality.flags_for(session, world["wave"])
    assert flags == {a.id: ["straight_lining"], b.id: [], c.id: ["short"]}


def test_no_connected_call(session, world):
    """An agent complete under 30 s, and an IVR complete without a call id, are flagged."""
    a, b, _ = world["cases"]
    with transaction(session):
        for case, channel, seconds in ((a, "agent", 29), (b, "ivr", 300)):
            attempt = session.exec(select(CallAttempt).where(CallAttempt.case_id == case.id)).one()
            attempt.channel = channel
            attempt.started_at = attempt.ended_at - timedelta(seconds=seconds)
            session.add(attempt)
    flags = quality.flags_for(session, world["wave"])
    assert "no_connected_call" in flags[a.id] and "no_connected_call" in flags[b.id]


def test_review_list_share_and_seed(session, world):
    """10% of 3 completes is one sampled (ceil), plus the two flagged; the same seed, same list."""
    first = quality.sampled_cases(session, world["wave"])
    assert len(first) == 1 and first == quality.sampled_cases(session, world["wave"])
    with transaction(session):
        rows = quality.build_review_list(session, world["wave"])
    a, b, c = world["cases"]
    assert {r.case_id for r in rows} == {a.id, c.id} | first
    with transaction(session):
        assert quality.build_review_list(session, world["wave"]) == []  # nothing added twice
    wave = world["wave"]
    with transaction(session):
        wave.settings = {**wave.settings, "review_share": 1.0}
        session.add(wave)
    assert quality.sampled_cases(session, wave) == {a.id, b.id, c.id}
    with transaction(session):
        wave.settings = {**wave.settings, "review_share": 1.5}
        session.add(wave)
    with pytest.raises(ServiceError):
        quality.review_share(wave)


def test_strike_moves_the_unit_score(session, world):
    """Striking the 10.0 interview re-codes it to 2.12: the unit mean goes 7.1667 -> 5.75."""
    wave = world["wave"]
    [before] = estimates.unit_results(session, wave)
    assert before.mean == pytest.approx((10 + 7 + 4.5) / 3)
    assert before.completes == 3
    with transaction(session):
        quality.build_review_list(session, wave)
    a = world["cases"][0]
    review = session.exec(select(QualityReview).where(QualityReview.case_id == a.id)).one()
    with pytest.raises(ServiceError):
        quality.decide(session, review.id, actor=world["boss"], strike=True, reason=" ")
    with transaction(session):
        quality.decide(session, review.id, actor=world["boss"], strike=True, reason="录音中无应答")
    case = session.get(Case, a.id)
    assert (case.disposition, review.status, review.previous_disposition) == (
        quality.STRUCK,
        "struck",
        aapor.COMPLETE,
    )
    [after] = estimates.unit_results(session, wave)
    assert after.mean == pytest.approx((7 + 4.5) / 2)
    assert after.n == 2 and after.completes == 2
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "interview_struck")).one()
    assert event.detail["disposition_before"] == aapor.COMPLETE
    assert event.detail["disposition_after"] == aapor.BREAK_OFF
    with pytest.raises(Conflict):
        quality.decide(session, review.id, actor=world["boss"], strike=False, reason="")


def test_agent_outlier(session):
    """An agent completing 10 of 10 among three at 5-6 of 10 is more than 2 SD from the others."""
    cases = make_sample(session, per_unit=3)
    with transaction(session):
        agents = [make_user(session, username=f"agent_{i}", role="agent") for i in range(4)]
        for agent, completes in zip(agents, (10, 5, 6, 5), strict=True):
            for i in range(10):
                outcome = aapor.COMPLETE if i < completes else aapor.REFUSAL
                session.add(CallAttempt(case_id=cases[0].id, agent_id=agent.id, outcome=outcome))
    draw = session.get(SampleDraw, cases[0].draw_id)
    assert quality.outlier_agents(session, draw) == {agents[0].id}
