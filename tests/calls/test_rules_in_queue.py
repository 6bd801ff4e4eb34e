"""The calling rules at work: do-not-call list, soft refusals, appointments, day-parts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlmodel import select

from survey_service.calls import attempts as calling
from survey_service.calls import queue
from survey_service.db import transaction
from survey_service.models import (
    CallAttempt,
    Case,
    CaseStatus,
    Client,
    DoNotCall,
    SurveyWave,
    Unit,
    User,
)
from survey_service.sample import draws
from survey_service.setup.users import set_senior
from tests.calls.conftest import EVENING, make_sample, reload
from tests.factories import make_list, make_user, make_wave


@pytest.fixture
def agent(session):
    with transaction(session):
        return make_user(session, username="agent", role="agent")


def _take_and_end(client, auth, form):
    """Log in as the agent, take the next case and end the call with ``form``."""
    auth.login("agent")
    response = client.post("/calls/next")
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    return case_id, client.post(f"/calls/case/{case_id}/end", data=form)


def test_a_hard_refusal_keeps_the_number_out_of_later_waves(session, agent, dial):
    """Is a hard refusal's number listed, and its case of the next wave never offered?"""
    (refused, *_others) = make_sample(session, per_unit=3)
    with transaction(session):
        attempt = calling.start_attempt(session, refused, agent=agent, now=EVENING)
        calling.record_outcome(session, refused, attempt, "2.11", actor=agent, now=EVENING)
    number = session.get(Client, refused.client_id).phone_hash
    listed = session.exec(select(DoNotCall)).one()
    assert (listed.phone_hash, listed.case_id, listed.reason) == (number, refused.id, "2.11")
    # The next wave draws the same ten clients in full.
    with transaction(session):
        unit = session.get(Unit, refused.unit_id)
        wave = make_wave(session, name="2018")
        reviewer = session.exec(select(User).where(User.username == "reviewer")).one()
        make_list(session, unit=unit, wave=wave, n=10, actor=reviewer)
        draw = draws.draw_sample(session=session, wave=wave, seed=2, per_unit=10, actor=None)
    again = session.exec(
        select(Case).join(Client).where(Case.draw_id == draw.id, Client.phone_hash == number)
    ).one()
    later = EVENING + timedelta(days=1)
    assert queue.waiting_count(session, now=later) == 2 + 9
    dialled = {case_id for case_id, _ in dial(limit=20, now=later).placed}
    assert len(dialled) == 11 and again.id not in dialled and refused.id not in dialled


@time_machine.travel(EVENING, tick=False)
def test_a_soft_refusal_waits_a_week_for_a_senior_agent(session, client, auth, agent, dial):
    """Through the agent page: a soft refusal is due a week on, for a senior agent, not the IVR."""
    make_sample(session, per_unit=1)
    case_id, response = _take_and_end(client, auth, {"outcome": "2.11", "refusal": "soft"})
    assert response.status_code == 302
    case = session.get(Case, case_id)
    reload(session, case)
    # Wednesday 1 November, 19:00 (evening) + 7 days: Thursday the 9th, 09:00.
    assert (case.status, case.disposition, case.needs_senior) == (CaseStatus.PENDING, None, True)
    assert case.next_attempt_at == datetime(2017, 11, 9, 1, 0, tzinfo=UTC)
    assert session.exec(select(CallAttempt.refusal)).one() == "soft"
    assert session.exec(select(DoNotCall)).all() == []
    assert dial(now=case.next_attempt_at).placed == []  # refusal conversion is not the IVR's
    assert queue.claim_next_case(session, agent, now=case.next_attempt_at) is None  # not senior
    with transaction(session):
        set_senior(session=session, user=agent, senior=True, actor=None)
    assert queue.claim_next_case(session, agent, now=case.next_attempt_at).id == case.id
    page = client.get(f"/calls/case/{case.id}").get_data(as_text=True)
    assert 'id="needs-senior"' in page


@time_machine.travel(EVENING, tick=False)
def test_an_appointment_is_due_at_its_time(session, client, auth, agent):
    """Is a callback booked for Thursday 15:20 (local) due exactly then, and not before?"""
    make_sample(session, per_unit=1)
    form = {"outcome": "2.21", "appointment_at": "2017-11-02T15:20"}
    case_id, response = _take_and_end(client, auth, form)
    assert response.status_code == 302
    case = session.get(Case, case_id)
    reload(session, case)
    booked = datetime(2017, 11, 2, 7, 20, tzinfo=UTC)
    assert (case.status, case.next_attempt_at) == (CaseStatus.PENDING, booked)
    attempt = session.exec(select(CallAttempt)).one()
    assert attempt.appointment_at == booked
    with transaction(session):
        other = make_user(session, username="other", role="agent")
    # Another agent: not before its time (the booking agent may, 15 minutes early).
    assert queue.claim_next_case(session, other, now=booked - timedelta(minutes=1)) is None
    assert queue.claim_next_case(session, other, now=booked).id == case.id


@time_machine.travel(EVENING, tick=False)
def test_an_appointment_outside_the_day_parts_is_refused(session, client, auth, agent):
    """Is a callback at 13:00 (lunch) refused with a 400, and nothing booked?"""
    make_sample(session, per_unit=1)
    form = {"outcome": "2.21", "appointment_at": "2017-11-02T13:00"}
    case_id, response = _take_and_end(client, auth, form)
    assert response.status_code == 400
    assert "预约时间不在允许的拨打时段内" in response.get_data(as_text=True)
    case = session.get(Case, case_id)
    reload(session, case)
    assert (case.status, case.attempts, case.next_attempt_at) == (CaseStatus.IN_PROGRESS, 0, None)
    assert session.exec(select(CallAttempt.outcome)).all() == [None]


def test_enterprises_are_not_offered_in_the_evening(session, agent):
    """Is an enterprise's case left in the queue at 19:00 and handed out at 10:00?"""
    make_sample(session, per_unit=2, kind="企业")
    assert queue.waiting_count(session, now=EVENING) == 0
    assert queue.claim_next_case(session, agent, now=EVENING) is None
    morning = EVENING + timedelta(hours=15)  # Thursday 10:00
    assert queue.waiting_count(session, now=morning) == 2
    assert queue.claim_next_case(session, agent, now=morning) is not None


def test_national_day_calendar_of_the_wave(session, agent):
    """With 2017's 国庆 calendar on the wave, is nobody called on October 2 at 10:00?"""
    make_sample(session, per_unit=1)
    with transaction(session):
        wave = session.exec(select(SurveyWave)).one()
        holidays = [f"2017-10-0{d}" for d in range(1, 9)]
        wave.settings = {**wave.settings, "calling": {"holidays": holidays}}
        session.add(wave)
    october_2 = datetime(2017, 10, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Wuhan
    assert queue.waiting_count(session, now=october_2) == 0
    assert queue.waiting_count(session, now=october_2 + timedelta(days=7)) == 1  # the 9th
