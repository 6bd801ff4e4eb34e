"""Interviews: the wave's script walked for a case, answers stored once, one state per answer."""

from __future__ import annotations

import pytest
from sqlmodel import select

import call_scripts
from survey_service.calls import attempts as calling
from survey_service.calls import interviews
from survey_service.db import transaction
from survey_service.errors import Conflict, ServiceError
from survey_service.models import Answer, CaseStatus
from tests.calls.conftest import EVENING, make_sample
from tests.factories import make_user


@pytest.fixture
def agent_call(session):
    """A case of the short script, an agent and the agent's open attempt."""
    (case,) = make_sample(session, per_unit=1)
    with transaction(session):
        agent = make_user(session, role="agent")
        attempt = calling.start_attempt(session, case, agent=agent, now=EVENING)
    return case, attempt, agent


@pytest.fixture
def ivr_call(session):
    """A case of the short script with an open IVR attempt."""
    (case,) = make_sample(session, per_unit=1)
    with transaction(session):
        attempt = calling.start_attempt(session, case, agent=None, channel="ivr", now=EVENING)
    return case, attempt


@pytest.fixture
def counted(monkeypatch):
    """Count the engine's status computations and the interview's database loads."""
    counts = {"status": 0, "load": 0}
    status, load = call_scripts.status, interviews._load

    def counting_status(*args, **kwargs):
        counts["status"] += 1
        return status(*args, **kwargs)

    def counting_load(*args, **kwargs):
        counts["load"] += 1
        return load(*args, **kwargs)

    monkeypatch.setattr(call_scripts, "status", counting_status)
    monkeypatch.setattr(interviews, "_load", counting_load)
    return counts


def _stored(session, case):
    rows = session.exec(select(Answer.item_id, Answer.value).where(Answer.case_id == case.id))
    return dict(rows.all())


def test_a_new_case_starts_with_screening(session, agent_call):
    """Is a fresh case at the screening item, in progress, with the unit in its context?"""
    case, _attempt, _agent = agent_call
    state = interviews.state(session, case)
    assert (state.item.id, state.status, state.answers) == ("screening", "in_progress", {})
    assert state.context == {
        "unit_name": "奓山街派出所",
        "service": "户籍办理",
        "service_date": "2017-03-03",  # the drawn client (seed 1) is the third
    }


def test_answers_are_stored_once_and_resends_change_nothing(session, agent_call):
    """Is a resent answer a no-op, and a different answer to a passed item refused?"""
    case, attempt, agent = agent_call
    with transaction(session):
        _interp, state = interviews.answer(
            session, case, attempt, "screening", "dealt", actor=agent
        )
    assert state.item.id == "service_quality"
    with transaction(session):
        interp, again = interviews.answer(session, case, attempt, "screening", "dealt")
    assert interp.stored and again.item.id == "service_quality"
    with pytest.raises(Conflict) as info:
        interviews.answer(session, case, attempt, "screening", "not_dealt")
    assert info.value.where.field == "题目"
    assert _stored(session, case) == {"screening": "dealt"}


def test_one_agent_answer_computes_the_state_once(session, agent_call, counted):
    """Does an agent's answer load the case once and ask the engine for its status once?"""
    case, attempt, agent = agent_call
    with transaction(session):
        interviews.answer(session, case, attempt, "screening", "dealt", actor=agent)
    assert counted == {"status": 1, "load": 1}


@pytest.mark.parametrize(
    ("item_id", "digits", "next_item", "try_no", "notice", "stored"),
    [
        ("screening", "1", "service_quality", 0, None, {"screening": "dealt"}),
        ("screening", "9", "screening", 0, None, {}),  # 9: read it again
        ("screening", "7", "screening", 1, "对不起，您按的键无效。", {}),
        ("overall", "2", "screening", 0, None, {}),  # not the item due: read the due one
    ],
)
def test_a_key_press_is_one_call_with_one_state(
    session, ivr_call, counted, item_id, digits, next_item, try_no, notice, stored
):
    """Does each key press come back as one turn, loading and evaluating the state once?"""
    case, attempt = ivr_call
    with transaction(session):
        turn = interviews.key_press(session, case, attempt, item_id, digits)
    assert (turn.state.item.id, turn.try_no, turn.over) == (next_item, try_no, False)
    assert turn.notice == notice
    assert counted == {"status": 1, "load": 1}
    assert _stored(session, case) == stored


def test_key_presses_finish_the_interview(session, ivr_call):
    """Do the keys 1, 2, 1 complete the case (1.1) and later presses get the closing turn?"""
    case, attempt = ivr_call
    for item_id, key in (("screening", "1"), ("service_quality", "2"), ("overall", "1")):
        with transaction(session):
            turn = interviews.key_press(session, case, attempt, item_id, key)
    assert (turn.state.item, turn.state.status) == (None, "complete")
    assert (case.status, case.disposition, attempt.outcome) == (CaseStatus.FINAL, "1.1", "1.1")
    with transaction(session):
        late = interviews.key_press(session, case, attempt, "overall", "1")
    assert late.over and late.state.status == "complete"


def test_screened_out_ends_the_case_as_not_eligible(session, agent_call):
    """Is "not dealt with the unit" a final 4.70, not a refusal?"""
    case, attempt, _agent = agent_call
    with transaction(session):
        _interp, state = interviews.answer(session, case, attempt, "screening", "not_dealt")
    assert (state.status, case.status, case.disposition) == ("screened_out", "final", "4.70")
    with pytest.raises(Conflict):
        interviews.answer(session, case, attempt, "service_quality", "satisfied")


def test_go_back_drops_the_last_answer(session, agent_call):
    """Does going back remove the last answer and return to its item?"""
    case, attempt, _agent = agent_call
    with pytest.raises(Conflict):
        interviews.go_back(session, case)
    with transaction(session):
        interviews.answer(session, case, attempt, "screening", "dealt")
        interviews.answer(session, case, attempt, "service_quality", "satisfied")
        state = interviews.go_back(session, case)
    assert state.item.id == "service_quality"
    assert _stored(session, case) == {"screening": "dealt"}


@pytest.mark.parametrize(
    ("answers", "outcome"),
    [
        ([("screening", "dealt"), ("service_quality", "satisfied")], "1.2"),
        ([("screening", "dealt")], None),
    ],
)
def test_ending_a_call_without_an_outcome(session, agent_call, answers, outcome):
    """Is a half-done interview a partial (1.2), and one with screening only refused?"""
    case, attempt, agent = agent_call
    with transaction(session):
        for item_id, value in answers:
            interviews.answer(session, case, attempt, item_id, value)
    if outcome is None:
        with pytest.raises(ServiceError) as info:
            interviews.end_call(session, case, attempt, None, actor=agent)
        assert info.value.where.field == "通话结果"
        return
    with transaction(session):
        interviews.end_call(session, case, attempt, None, actor=agent)
    assert (case.status, case.disposition) == (CaseStatus.FINAL, outcome)
