"""The supervisor's figures on a constructed wave: exact counts, rates, projections."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from survey_service import dispositions as aapor
from survey_service.calls import supervision
from survey_service.db import transaction
from survey_service.errors import Conflict
from survey_service.models import AuditEvent, CallAttempt, Case, CaseStatus
from survey_service.sample import draws
from tests.calls.conftest import EVENING
from tests.factories import csv_content, make_list, make_unit, make_user, make_wave

NOW = EVENING


def _attempt(session, case, agent, outcome, seconds, *, ago=120, appointment_at=None):
    start = NOW - timedelta(minutes=ago)
    session.add(
        CallAttempt(
            case_id=case.id,
            agent_id=agent.id,
            started_at=start,
            ended_at=start + timedelta(seconds=seconds),
            outcome=outcome,
            appointment_at=appointment_at,
        )
    )


def _final(session, case, disposition):
    case.status = CaseStatus.FINAL
    case.disposition = disposition
    case.attempts = 1
    session.add(case)


def build_wave(session):
    """Two units of 4 released cases (2 batches of 2, 2 reserve batches) and two agents.

    U001: a 1.1 (600 s, agent_one), a 2.11 (60 s, agent_one), an open 3.13
    (30 s, agent_two), one never dialled. U002: a 1.1 (300 s, agent_two), a
    4.31 (20 s, agent_two), one held by agent_one for 25 minutes, one with a
    callback booked by agent_two for 30 minutes from now (2.21, 120 s).
    """
    with transaction(session):
        unit_a = make_unit(session, code="U001", name="奓山街派出所", category="基层站所")
        unit_b = make_unit(session, code="U002", name="区住房保障管理中心", category="机关科室")
        reviewer = make_user(session, role="reviewer")
        one = make_user(session, username="agent_one", role="agent")
        two = make_user(session, username="agent_two", role="agent")
        wave = make_wave(session)
        make_list(session, unit=unit_a, wave=wave, n=10, actor=reviewer)
        make_list(
            session,
            unit=unit_b,
            wave=wave,
            n=10,
            actor=reviewer,
            content=csv_content(10, start=13900000000),
        )
        draw = draws.draw_sample(
            session=session,
            wave=wave,
            seed=3,
            actor=None,
            design=draws.DrawDesign(per_unit=4, replicates=2, reserve=2),
        )
        cases = session.exec(
            select(Case).where(Case.released).order_by(Case.unit_id, Case.id)
        ).all()
        a, b = cases[:4], cases[4:]
        _final(session, a[0], aapor.COMPLETE)
        _attempt(session, a[0], one, aapor.COMPLETE, 600)
        _final(session, a[1], aapor.REFUSAL)
        _attempt(session, a[1], one, aapor.REFUSAL, 60)
        a[2].attempts = 1
        _attempt(session, a[2], two, aapor.NO_ANSWER, 30)
        _final(session, b[0], aapor.COMPLETE)
        _attempt(session, b[0], two, aapor.COMPLETE, 300)
        _final(session, b[1], aapor.NON_WORKING)
        _attempt(session, b[1], two, aapor.NON_WORKING, 20)
        b[2].status = CaseStatus.IN_PROGRESS
        b[2].claimed_by = one.id
        b[2].claimed_at = NOW - timedelta(minutes=25)
        at = NOW + timedelta(minutes=30)
        b[3].attempts = 1
        b[3].next_attempt_at = at
        _attempt(session, b[3], two, aapor.NEVER_AVAILABLE, 120, appointment_at=at)
        session.add_all([a[2], b[2], b[3]])
    return {"wave": wave, "draw": draw, "a": a, "b": b, "one": one, "two": two}


@pytest.fixture
def built(session):
    return build_wave(session)


def test_unit_figures(session, built):
    """Are released, attempted, completes, refusals, RR3 and the projection exact per unit?"""
    progress = supervision.wave_progress(session, built["wave"], now=NOW)
    a, b = progress.units
    assert (a.code, a.released, a.attempted, a.completes, a.refusals, a.final) == (
        "U001",
        4,
        3,
        1,
        1,
        2,
    )
    # I=1 R=1 UH=2 (3.13 and never dialled), e = 2/2: RR3 = 1 / 4
    assert a.response_rate == pytest.approx(0.25)
    assert a.projected == pytest.approx(2.0) and a.target == 4 and a.short
    assert (b.code, b.released, b.attempted, b.completes, b.refusals, b.final) == (
        "U002",
        4,
        3,
        1,
        0,
        2,
    )
    # I=1 NC=1 NE=1 UH=1 (held, no outcome yet), e = 2/3: RR3 = 1 / (2 + 2/3)
    assert b.response_rate == pytest.approx(0.375)
    assert b.projected == pytest.approx(2.0)
    assert progress.totals == {
        "target": 8,
        "released": 8,
        "attempted": 6,
        "completes": 2,
        "refusals": 1,
        "final": 4,
    }


def test_agent_figures(session, built):
    """Completes per hour, median length, refusal and eligibility rates per agent, this wave."""
    one, two = supervision.wave_progress(session, built["wave"], now=NOW).agents
    assert (one.username, one.attempts, one.completes) == ("agent_one", 2, 1)
    assert one.per_hour == pytest.approx(3600 / 660)
    assert one.median_seconds == 600
    assert one.refusal_rate == pytest.approx(0.5)
    assert one.eligibility_rate == pytest.approx(1.0)
    assert (two.username, two.attempts, two.completes) == ("agent_two", 4, 1)
    assert two.per_hour == pytest.approx(3600 / 470)
    assert two.median_seconds == 300
    assert two.refusal_rate == 0.0
    assert two.eligibility_rate == pytest.approx(2 / 3)


def test_held_cases_and_callbacks(session, built):
    """Is the held case listed with its holder and minutes, and the callback due in the hour?"""
    progress = supervision.wave_progress(session, built["wave"], now=NOW)
    [held] = progress.held
    assert (held.case_id, held.username, held.held_minutes) == (
        built["b"][2].id,
        "agent_one",
        25,
    )
    [callback] = progress.callbacks
    assert (callback.case_id, callback.at, callback.booked_by) == (
        built["b"][3].id,
        NOW + timedelta(minutes=30),
        "agent_two",
    )
    # an hour and a minute later the callback is past, no longer "due in the next hour"
    later = supervision.wave_progress(session, built["wave"], now=NOW + timedelta(minutes=31))
    assert later.callbacks == []


def test_release_held_case(session, built):
    """Does releasing a held case put it back in the queue, audited; a second time 409?"""
    case_id = built["b"][2].id
    supervisor = None
    with transaction(session):
        supervisor = make_user(session, username="boss", role="supervisor")
        supervision.release_held_case(session, case_id, actor=supervisor)
    case = session.get(Case, case_id)
    assert (case.status, case.claimed_by, case.claimed_at) == (CaseStatus.PENDING, None, None)
    event = session.exec(
        select(AuditEvent).where(AuditEvent.action == "case_released_by_supervisor")
    ).one()
    assert (event.object_id, event.detail["held_by"]) == (str(case_id), built["one"].id)
    with pytest.raises(Conflict):
        supervision.release_held_case(session, case_id, actor=supervisor)


def test_no_draw_no_figures(session):
    """A wave not drawn yet has no figures (no error)."""
    with transaction(session):
        wave = make_wave(session)
    progress = supervision.wave_progress(session, wave, now=NOW)
    assert (progress.draw, progress.units, progress.agents) == (None, [], [])
