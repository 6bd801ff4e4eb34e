"""The agent's page for a number sampled for two units: one call, the script once per unit."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlmodel import select

from call_scripts import SKIPPED
from survey_service.calls import queue
from survey_service.db import transaction
from survey_service.models import Answer, CallAttempt, CaseStatus
from tests.calls.conftest import EVENING, reload
from tests.calls.joint_sample import make_joint_sample
from tests.factories import make_user


@pytest.fixture(autouse=True)
def wednesday_evening():
    with time_machine.travel(EVENING, tick=False):
        yield


@pytest.fixture
def call(session):
    """The shared number's two cases, the only ones left to call, and an agent logged in."""
    joint, alone = make_joint_sample(session)
    with transaction(session):
        make_user(session, username="agent", role="agent")
        for case in alone:
            case.status, case.disposition = CaseStatus.FINAL, "4.70"
            session.add(case)
    return joint


def _take(client, auth) -> int:
    auth.login("agent")
    response = client.post("/calls/next")
    assert response.status_code == 302
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _answer(client, case_id, item_id, value):
    response = client.post(
        f"/calls/case/{case_id}/answer", data={"item_id": item_id, "value": value}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def _interview(client, case_id, ratings):
    _answer(client, case_id, "screening", "dealt")
    _answer(client, case_id, "service_quality", ratings[0])
    _answer(client, case_id, "overall", ratings[1])
    return _answer(client, case_id, "comment", SKIPPED)


def _answers(session):
    session.commit()
    return sorted(session.exec(select(Answer.case_id, Answer.item_id, Answer.value)).all())


def test_two_units_in_one_call_each_with_its_own_interview(session, client, auth, call):
    first, second = call
    case_id = _take(client, auth)
    assert case_id == first.id
    page = client.get(f"/calls/case/{first.id}").get_data(as_text=True)
    assert "第 1 / 2 个单位：<b>奓山街派出所</b>" in page
    assert "1. 奓山街派出所；2. 蔡甸区税务局" in page
    assert 'value="3.13"' in page  # before anyone answered: the no-contact outcomes
    # The second unit's page waits for its turn: the first unit's is shown.
    early = client.get(f"/calls/case/{second.id}")
    assert (early.status_code, early.headers["Location"]) == (302, f"/calls/case/{first.id}")
    location = _interview(client, first.id, ("very_satisfied", "satisfied"))
    assert location == f"/calls/case/{second.id}"
    page = client.get(location).get_data(as_text=True)
    assert "第 2 / 2 个单位：<b>蔡甸区税务局</b>" in page
    assert "1. 奓山街派出所（已结束 1.1）" in page
    assert "第 1 题，共 4 题" in page and "蔡甸区税务局办理过户籍办理吗" in page
    assert 'value="3.13"' not in page and 'value="hangup"' in page  # on the line already
    assert "第 1 个单位已结束：完成访问。接下来是第 2 / 2 个单位：蔡甸区税务局。" in page
    assert _interview(client, second.id, ("dissatisfied", "basically_satisfied")) == "/calls/"
    reload(session, first, second)
    assert (first.status, first.disposition) == (CaseStatus.FINAL, "1.1")
    assert (second.status, second.disposition) == (CaseStatus.FINAL, "1.1")
    assert _answers(session) == [
        (first.id, "comment", SKIPPED),
        (first.id, "overall", "satisfied"),
        (first.id, "screening", "dealt"),
        (first.id, "service_quality", "very_satisfied"),
        (second.id, "comment", SKIPPED),
        (second.id, "overall", "basically_satisfied"),
        (second.id, "screening", "dealt"),
        (second.id, "service_quality", "dissatisfied"),
    ]
    attempts = session.exec(
        select(
            CallAttempt.id, CallAttempt.case_id, CallAttempt.outcome, CallAttempt.call_group
        ).order_by(CallAttempt.id)
    ).all()
    lead = attempts[0][0]
    assert [row[1:] for row in attempts] == [(first.id, "1.1", lead), (second.id, "1.1", lead)]
    answered_in = dict(session.exec(select(Answer.case_id, Answer.attempt_id)).all())
    assert answered_in == {first.id: lead, second.id: attempts[1][0]}


def test_no_answer_before_the_first_unit_covers_both_cases(session, client, auth, call):
    first, second = call
    _take(client, auth)
    response = client.post(f"/calls/case/{first.id}/end", data={"outcome": "3.13"})
    assert response.status_code == 302
    page = client.get("/calls/").get_data(as_text=True)
    assert "本次通话涉及的其余 1 个单位已一并记录。" in page
    reload(session, first, second)
    for each in (first, second):
        assert (each.status, each.attempts, each.claimed_by) == (CaseStatus.PENDING, 1, None)
    assert first.next_attempt_at == second.next_attempt_at is not None
    outcomes = session.exec(select(CallAttempt.case_id, CallAttempt.outcome)).all()
    assert sorted(outcomes) == [(first.id, "3.13"), (second.id, "3.13")]


def test_a_hang_up_in_the_second_unit_keeps_the_first_interview(session, client, auth, call):
    """1.1 stays; the second unit, partial rule met, is 1.2."""
    first, second = call
    _take(client, auth)
    _interview(client, first.id, ("very_satisfied", "satisfied"))
    _answer(client, second.id, "screening", "dealt")
    _answer(client, second.id, "service_quality", "satisfied")
    response = client.post(f"/calls/case/{second.id}/end", data={"outcome": "hangup"})
    assert response.status_code == 302
    reload(session, first, second)
    assert (first.disposition, second.disposition) == ("1.1", "1.2")
    assert {case_id for case_id, _item, _value in _answers(session)} == {first.id, second.id}


def test_a_hang_up_in_the_first_unit_leaves_the_second_to_call_again(session, client, auth, call):
    """The first unit breaks off (2.12); the second, never reached, is 3.90 and stays open."""
    first, second = call
    _take(client, auth)
    _answer(client, first.id, "screening", "dealt")
    response = client.post(f"/calls/case/{first.id}/end", data={"outcome": "hangup"})
    assert response.status_code == 302
    reload(session, first, second)
    assert (first.status, first.disposition) == (CaseStatus.FINAL, "2.12")
    assert (second.status, second.disposition, second.attempts) == (CaseStatus.PENDING, None, 1)
    outcomes = session.exec(select(CallAttempt.case_id, CallAttempt.outcome)).all()
    assert sorted(outcomes) == [(first.id, "2.12"), (second.id, "3.90")]


def test_a_callback_booked_at_the_first_unit_books_both(session, client, auth, call):
    first, second = call
    _take(client, auth)
    response = client.post(
        f"/calls/case/{first.id}/callback", data={"appointment_at": "2017-11-02T19:30"}
    )
    assert response.status_code == 302
    reload(session, first, second)
    assert first.next_attempt_at == second.next_attempt_at
    assert first.next_attempt_at.isoformat() == "2017-11-02T11:30:00+00:00"
    booked = session.exec(select(CallAttempt.case_id, CallAttempt.appointment_at)).all()
    assert len(booked) == 2 and all(at is not None for _case, at in booked)


def test_going_on_to_the_next_unit_keeps_the_call_from_being_released_as_idle(
    session, client, auth, call
):
    """The idle-claim clock restarts at each unit: a 20-minute first interview does not
    let the second unit's case go back to the queue 10 minutes later."""
    first, second = call
    _take(client, auth)
    later = EVENING + timedelta(minutes=20)
    with time_machine.travel(later, tick=False):
        _interview(client, first.id, ("very_satisfied", "satisfied"))
    reload(session, second)
    assert second.claimed_at == later
    started = session.exec(select(CallAttempt.started_at).order_by(CallAttempt.case_id)).all()
    assert started == [EVENING, later]  # the second unit's attempt starts when it is reached
    with transaction(session):
        released = queue.release_stale_claims(
            session, idle_minutes=30, now=EVENING + timedelta(minutes=35)
        )
    reload(session, second)
    assert (released, second.status) == (0, CaseStatus.IN_PROGRESS)


def test_a_hang_up_before_the_second_units_first_item_leaves_it_to_call_again(
    session, client, auth, call
):
    first, second = call
    _take(client, auth)
    _interview(client, first.id, ("very_satisfied", "satisfied"))
    response = client.post(f"/calls/case/{second.id}/end", data={"outcome": "3.13"})
    assert response.status_code == 400  # on the line already: no "no answer"
    response = client.post(f"/calls/case/{second.id}/end", data={"outcome": "hangup"})
    assert response.status_code == 302
    reload(session, first, second)
    assert (first.status, first.disposition) == (CaseStatus.FINAL, "1.1")
    assert (second.status, second.attempts, second.claimed_by) == (CaseStatus.PENDING, 1, None)
    outcomes = session.exec(select(CallAttempt.case_id, CallAttempt.outcome)).all()
    assert sorted(outcomes) == [(first.id, "1.1"), (second.id, "3.90")]
