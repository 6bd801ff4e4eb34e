"""One due-case rule: the agent queue, the IVR dialler and the agent page's count agree."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlmodel import select

from survey_service.calls import queue
from survey_service.db import transaction
from survey_service.models import Case, CaseStatus, SampleDraw, SurveyWave, WaveStatus
from survey_service.sample import draws
from tests.calls.conftest import EVENING
from tests.factories import csv_content, make_list, make_unit, make_user, make_wave


def _two_waves(session):
    """A closed wave 2016 with 4 cases and an open wave 2017 with 5, one not due yet."""
    with transaction(session):
        unit = make_unit(session)
        reviewer = make_user(session, role="reviewer")
        for name, n, per_unit, start in (("2016", 8, 4, 13900000000), ("2017", 10, 5, None)):
            wave = make_wave(session, name=name)
            content = csv_content(n, start=start) if start else csv_content(n)
            make_list(session, unit=unit, wave=wave, n=n, actor=reviewer, content=content)
            draws.draw_sample(session=session, wave=wave, seed=1, per_unit=per_unit, actor=None)
        closed = session.exec(select(SurveyWave).where(SurveyWave.name == "2016")).one()
        closed.status = WaveStatus.CLOSED
        session.add(closed)
        later = session.exec(
            select(Case)
            .join(SampleDraw, SampleDraw.id == Case.draw_id)
            .where(SampleDraw.wave_id != closed.id)
            .order_by(Case.id)
        ).first()
        later.next_attempt_at = EVENING + timedelta(hours=1)
        session.add(later)
    return closed, later


def _cases_of(session, wave):
    return set(
        session.exec(
            select(Case.id)
            .join(SampleDraw, SampleDraw.id == Case.draw_id)
            .where(SampleDraw.wave_id == wave.id)
        ).all()
    )


def test_queue_dialler_and_page_count_the_same_due_cases(session, client, auth, dial, telephony):
    """Are the waiting count, the IVR's dials and an agent's claims the same 4 cases?"""
    closed, later = _two_waves(session)
    closed_cases = _cases_of(session, closed)
    assert len(closed_cases) == 4
    assert queue.waiting_count(session, now=EVENING) == 4

    dialled = {case_id for case_id, _ in dial(limit=20, now=EVENING).placed}
    assert len(dialled) == 4
    assert not dialled & closed_cases and later.id not in dialled
    assert queue.waiting_count(session, now=EVENING) == 0

    # The same cases, put back, are what agents can claim, one by one.
    with transaction(session):
        for case in session.exec(select(Case).where(Case.id.in_(dialled))):
            case.status, case.claimed_at = CaseStatus.PENDING, None
            session.add(case)
        agents = [make_user(session, username=f"agent{i}", role="agent") for i in range(6)]
        claimed = {c.id for a in agents if (c := queue.claim_next_case(session, a, now=EVENING))}
    assert claimed == dialled
    assert queue.waiting_count(session, now=EVENING + timedelta(hours=1)) == 1  # later is due


def test_the_agent_page_counts_no_case_of_a_closed_wave(session, client, auth):
    """Does the agent page count the open wave's due cases only, as the clock moves?"""
    _two_waves(session)
    with transaction(session):
        make_user(session, username="agent", role="agent")
    auth.login("agent")
    with time_machine.travel(EVENING, tick=False):
        page = client.get("/calls/").get_data(as_text=True)
        assert queue.waiting_count(session) == 4
    assert '<b id="waiting">4</b>' in page
    with time_machine.travel(EVENING + timedelta(hours=1), tick=False):
        page = client.get("/calls/").get_data(as_text=True)
    assert '<b id="waiting">5</b>' in page  # the case booked for 20:00 is due too
