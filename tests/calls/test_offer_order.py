"""The agents' queue order: appointments, the unit furthest from target, least recently tried."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from survey_service.calls import attempts as calling
from survey_service.calls import queue
from survey_service.db import get_engine, transaction
from survey_service.models import CallAttempt, Case, CaseStatus, SurveyWave, Unit
from survey_service.sample import draws
from tests.calls.conftest import EVENING, make_sample
from tests.factories import make_list, make_unit, make_user, make_wave


@pytest.fixture
def two_units(session):
    """Units U0 and U1, three cases each (target: 3 completes per unit)."""
    with transaction(session):
        reviewer = make_user(session, role="reviewer")
        wave = make_wave(session)
        for i in range(2):
            unit = make_unit(session, code=f"U{i}", name=f"单位{i}")
            make_list(
                session, unit=unit, wave=wave, n=5, start=13800000000 + i * 1000, actor=reviewer
            )
        draws.draw_sample(session=session, wave=wave, seed=3, per_unit=3, actor=None)
    return wave


def _cases_of(session, code):
    unit = session.exec(select(Unit).where(Unit.code == code)).one()
    return session.exec(select(Case).where(Case.unit_id == unit.id).order_by(Case.id)).all()


def _claim_all(session, agent, now):
    """Claim, release and note each case in turn, as the queue offers them."""
    order = []
    with transaction(session):
        while (case := queue.claim_next_case(session, agent, now=now)) is not None:
            order.append(case.id)
            case.status = CaseStatus.FINAL  # out of the way: take the next one
            session.add(case)
            session.flush()
    return order


def test_the_unit_furthest_from_its_target_comes_first(session, two_units):
    """With two completes in U0 and none in U1, are U1's cases offered before U0's?"""
    u0, u1 = _cases_of(session, "U0"), _cases_of(session, "U1")
    with transaction(session):
        agent = make_user(session, role="agent")
        for case in u0[:2]:
            case.status, case.disposition = CaseStatus.FINAL, "1.1"
            session.add(case)
    order = _claim_all(session, agent, EVENING)
    assert sorted(order[:3]) == [c.id for c in u1]
    assert order[3:] == [u0[2].id]


def test_never_tried_then_least_recently_tried(session):
    """Is a never-tried case first, then the one tried longest ago?"""
    old, recent, fresh = make_sample(session, per_unit=3)
    with transaction(session):
        agent = make_user(session, role="agent")
        for case, days in ((old, 3), (recent, 1)):
            attempt = calling.start_attempt(
                session, case, agent=agent, now=EVENING - timedelta(days=days)
            )
            calling.record_outcome(
                session, case, attempt, "3.13", actor=agent, now=EVENING - timedelta(days=days)
            )
            case.next_attempt_at = None  # due at once, whatever the rules said
            session.add(case)
    assert _claim_all(session, agent, EVENING) == [fresh.id, old.id, recent.id]


def test_a_missed_appointment_is_offered_first(session):
    """Is a callback booked for yesterday evening offered before never-tried cases?"""
    booked, *_rest = make_sample(session, per_unit=3)
    with transaction(session):
        agent = make_user(session, role="agent")
        yesterday = EVENING - timedelta(days=1)
        attempt = calling.start_attempt(
            session, booked, agent=agent, now=yesterday - timedelta(hours=1)
        )
        calling.record_outcome(
            session, booked, attempt, "2.21", actor=agent, now=yesterday, appointment_at=yesterday
        )
    assert booked.next_attempt_at == yesterday
    assert queue.claim_next_case(session, agent, now=EVENING).id == booked.id


def test_the_booking_agent_has_the_appointment_15_minutes_early(session):
    """Does the agent who booked 19:00 get it at 18:50, another agent only from 19:00?"""
    booked, *_rest = make_sample(session, per_unit=2)
    with transaction(session):
        booker = make_user(session, username="booker", role="agent")
        other = make_user(session, username="other", role="agent")
        start = EVENING - timedelta(days=1)
        attempt = calling.start_attempt(session, booked, agent=booker, now=start)
        calling.record_outcome(
            session, booked, attempt, "2.21", actor=booker, now=start, appointment_at=EVENING
        )
    early = EVENING - timedelta(minutes=10)
    with transaction(session):
        taken_by_other = queue.claim_next_case(session, other, now=early)
    assert taken_by_other.id != booked.id
    with transaction(session):
        assert queue.claim_next_case(session, booker, now=early).id == booked.id


def test_ties_follow_the_wave_seed(session):
    """Is the seed recorded on the wave, and does the same seed give the same order?"""
    make_sample(session, per_unit=8, n=10)
    with transaction(session):
        agent = make_user(session, role="agent")
    wave = session.exec(select(SurveyWave)).one()

    def order_with(seed):
        with transaction(session):
            wave.settings = {**wave.settings, "queue_seed": seed}
            session.add(wave)
        order = _claim_all(session, agent, EVENING)
        with transaction(session):
            for case in session.exec(select(Case)):
                case.status, case.claimed_by, case.claimed_at = CaseStatus.PENDING, None, None
                session.add(case)
        return order

    first = order_with(11)
    assert order_with(11) == first
    assert sorted(order_with(12)) == sorted(first)
    assert {tuple(order_with(s)) for s in (12, 13, 14)} != {tuple(first)}
    with transaction(session):
        wave.settings = {k: v for k, v in wave.settings.items() if k != "queue_seed"}
        session.add(wave)
        queue.claim_next_case(session, agent, now=EVENING)
    session.refresh(wave)
    assert isinstance(wave.settings["queue_seed"], int)


def test_one_agent_in_two_tabs_gets_one_case(app, backend, session):
    """Do two simultaneous next-case requests of one agent both get the same single case?"""
    if backend != "postgres":
        pytest.skip("concurrency is tested on PostgreSQL, the production database")
    make_sample(session, per_unit=5)
    with transaction(session):
        agent = make_user(session, role="agent")
    session.commit()
    engine = get_engine()
    got: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def tab():
        try:
            barrier.wait()
            with Session(engine) as s, transaction(s):
                got.append(queue.claim_next_case(s, agent, now=EVENING).id)
        except BaseException as exc:  # reported below
            errors.append(exc)

    tabs = [threading.Thread(target=tab) for _ in range(4)]
    for t in tabs:
        t.start()
    for t in tabs:
        t.join()
    assert errors == []
    assert len(got) == 4 and len(set(got)) == 1
    with Session(engine) as s:
        held = s.exec(select(Case.id).where(Case.claimed_by == agent.id)).all()
        attempts = s.exec(select(CallAttempt)).all()
    assert held == [got[0]] and attempts == []
