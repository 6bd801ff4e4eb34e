"""A number sampled for several units: claimed together, one call, each unit in turn."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from survey_service.calls import interviews, joint, queue
from survey_service.calls.settings import ROUND_THE_CLOCK
from survey_service.db import get_engine, transaction
from survey_service.models import (
    Answer,
    CallAttempt,
    Case,
    CaseStatus,
    Client,
    DoNotCall,
)
from tests.calls.conftest import EVENING, reload
from tests.calls.joint_sample import make_joint_sample
from tests.factories import make_user


def _close(session, cases):
    """Give ``cases`` a final disposition, so that only the shared number is left to call."""
    with transaction(session):
        for case in cases:
            case.status, case.disposition = CaseStatus.FINAL, "4.70"
            session.add(case)


def _states(session):
    session.commit()
    return {
        case_id: (status, claimed_by)
        for case_id, status, claimed_by in session.exec(
            select(Case.id, Case.status, Case.claimed_by)
        ).all()
    }


@pytest.fixture
def joint_sample(session):
    return make_joint_sample(session)


@pytest.fixture
def agents(session):
    with transaction(session):
        return [make_user(session, username=f"agent{i}", role="agent") for i in (1, 2)]


def test_an_agent_claims_the_numbers_case_of_every_unit(session, joint_sample, agents):
    """Does taking the shared number's case also take its other unit's case, and no other?"""
    (first, second), alone = joint_sample
    _close(session, alone)
    with transaction(session):
        case = queue.claim_next_case(session, agents[0], now=EVENING)
        calls = joint.open_attempts(
            session, joint.held_ids(session, agents[0]), agent=agents[0], now=EVENING
        )
    assert case.id == first.id  # the call starts with the first unit's case
    held = (CaseStatus.IN_PROGRESS, agents[0].id)
    done = (CaseStatus.FINAL, None)
    expected = {first.id: held, second.id: held, alone[0].id: done, alone[1].id: done}
    assert _states(session) == expected
    rows = session.exec(select(CallAttempt.case_id, CallAttempt.call_group)).all()
    assert sorted(rows) == [(first.id, calls[0].id), (second.id, calls[0].id)]
    # A second tab, or the second agent: the first gets its case again, the other nothing.
    with transaction(session):
        again = queue.claim_next_case(session, agents[0], now=EVENING)
        other = queue.claim_next_case(session, agents[1], now=EVENING)
    assert (again.id, other) == (first.id, None)


def test_a_number_one_of_whose_cases_is_held_is_not_claimed(session, joint_sample, agents):
    """All or none: with the second unit's case held, the first unit's is left alone too."""
    (first, second), alone = joint_sample
    _close(session, alone)
    with transaction(session):
        second.status, second.claimed_by = CaseStatus.IN_PROGRESS, agents[1].id
        session.add(second)
    with transaction(session):
        assert queue.claim_number(session, first.id, agent_id=agents[0].id, now=EVENING) == []
        assert queue.claim_next_case(session, agents[0], now=EVENING) is None
    assert _states(session)[first.id] == (CaseStatus.PENDING, None)


def _claim_joint_call(session, agent):
    with transaction(session):
        case = queue.claim_next_case(session, agent, now=EVENING)
        attempts = joint.open_attempts(
            session, joint.held_ids(session, agent), agent=agent, now=EVENING
        )
    return case, attempts


@pytest.mark.parametrize(
    ("posted", "refusal", "status", "disposition", "do_not_call"),
    [
        ("3.13", None, CaseStatus.PENDING, None, 0),
        ("4.31", None, CaseStatus.FINAL, "4.31", 0),
        ("2.11", "hard", CaseStatus.FINAL, "2.11", 1),
    ],
)
def test_an_outcome_before_the_first_unit_applies_to_every_case(
    session, joint_sample, agents, posted, refusal, status, disposition, do_not_call
):
    """No answer, a wrong number or a refusal at the introduction: every unit's case gets it."""
    (first, second), alone = joint_sample
    _close(session, alone)
    case, attempts = _claim_joint_call(session, agents[0])
    with transaction(session):
        interviews.end_call(
            session, case, attempts[0], posted, actor=agents[0], refusal=refusal, note="无人接听"
        )
        assert joint.after_unit(session, case, attempts[0], actor=agents[0]) is None
    reload(session, first, second)
    for each in (first, second):
        assert (each.status, each.disposition, each.attempts, each.claimed_by) == (
            status,
            disposition,
            1,
            None,
        )
    assert first.next_attempt_at == second.next_attempt_at
    rows = session.exec(
        select(CallAttempt.case_id, CallAttempt.outcome, CallAttempt.refusal, CallAttempt.note)
    ).all()
    assert sorted(rows) == [
        (first.id, posted, refusal, "无人接听"),
        (second.id, posted, refusal, "无人接听"),
    ]
    assert len(session.exec(select(DoNotCall)).all()) == do_not_call


def test_the_ivr_claims_the_number_once_and_an_agent_gets_none_of_it(
    session, joint_sample, agents, dial, telephony
):
    """One IVR call for the shared number: one attempt per case, one provider call id."""
    (first, second), alone = joint_sample
    _close(session, alone)
    result = dial(limit=5)
    (call,) = telephony.take_calls()
    assert result.placed == [(first.id, call.call_id)]
    rows = session.exec(
        select(CallAttempt.case_id, CallAttempt.channel, CallAttempt.provider_call_id)
    ).all()
    assert sorted(rows) == [(first.id, "ivr", call.call_id), (second.id, "ivr", call.call_id)]
    assert _states(session) == {
        first.id: (CaseStatus.IN_PROGRESS, None),
        second.id: (CaseStatus.IN_PROGRESS, None),
        alone[0].id: (CaseStatus.FINAL, None),
        alone[1].id: (CaseStatus.FINAL, None),
    }
    with transaction(session):
        assert queue.claim_next_case(session, agents[0], now=EVENING) is None


def _answers(session):
    session.commit()
    return sorted(session.exec(select(Answer.case_id, Answer.item_id, Answer.value)).all())


def test_the_ivr_runs_the_script_once_per_unit_naming_the_unit(
    session, joint_sample, dial, telephony, respondent
):
    """Keys for the first unit, then the second: both complete, answers kept per unit."""
    (first, second), alone = joint_sample
    _close(session, alone)
    dial(limit=5)
    (call,) = telephony.take_calls()
    record = respondent(keys=["1", "1", "2", "1", "3", "4"]).take(call)
    assert [r.status for r in record.requests] == [200] * 7 + [204]
    bodies = [r.body for r in record.requests]
    assert "本次回访涉及2个单位，先请您评价第1个单位：奓山街派出所。" in bodies[0]
    assert "下面请您评价第2个单位（共2个）：蔡甸区税务局。" in bodies[3]
    assert "您好！区里委托我们回访您在蔡甸区税务局办理的户籍办理事项" in bodies[3]
    assert "蔡甸区税务局" not in "".join(bodies[:3])
    reload(session, first, second)
    assert (first.status, first.disposition) == (CaseStatus.FINAL, "1.1")
    assert (second.status, second.disposition) == (CaseStatus.FINAL, "1.1")
    assert _answers(session) == [
        (first.id, "overall", "satisfied"),
        (first.id, "screening", "dealt"),
        (first.id, "service_quality", "very_satisfied"),
        (second.id, "overall", "dissatisfied"),
        (second.id, "screening", "dealt"),
        (second.id, "service_quality", "basically_satisfied"),
    ]
    outcomes = session.exec(select(CallAttempt.case_id, CallAttempt.outcome)).all()
    assert sorted(outcomes) == [(first.id, "1.1"), (second.id, "1.1")]


def test_an_ivr_hang_up_mid_way_keeps_the_first_units_interview(
    session, joint_sample, dial, telephony, respondent
):
    """Hung up after the second unit's screening: 1.1 kept, the second 2.21 and called again."""
    (first, second), alone = joint_sample
    _close(session, alone)
    dial(limit=5)
    (call,) = telephony.take_calls()
    respondent(keys=["1", "1", "2", "1"]).take(call)
    reload(session, first, second)
    assert (first.status, first.disposition) == (CaseStatus.FINAL, "1.1")
    assert (second.status, second.disposition, second.attempts) == (CaseStatus.PENDING, None, 1)
    assert second.next_attempt_at is not None
    outcomes = session.exec(select(CallAttempt.case_id, CallAttempt.outcome)).all()
    assert sorted(outcomes) == [(first.id, "1.1"), (second.id, "2.21")]
    # The second unit's screening answer is dropped: its next call starts with the introduction.
    assert {case_id for case_id, _item, _value in _answers(session)} == {first.id}


def test_an_unanswered_ivr_call_is_an_attempt_of_every_unit(
    session, joint_sample, dial, telephony, respondent
):
    (first, second), alone = joint_sample
    _close(session, alone)
    dial(limit=5)
    (call,) = telephony.take_calls()
    respondent(answer="no-answer").take(call)
    reload(session, first, second)
    for each in (first, second):
        assert (each.status, each.attempts) == (CaseStatus.PENDING, 1)
    assert first.next_attempt_at == second.next_attempt_at
    outcomes = session.exec(select(CallAttempt.case_id, CallAttempt.outcome)).all()
    assert sorted(outcomes) == [(first.id, "3.13"), (second.id, "3.13")]


def test_concurrent_agents_and_the_ivr_never_hold_one_numbers_cases(app, backend, session):
    """8 agents and the IVR claiming at once: no number's cases are ever held by two callers."""
    if backend != "postgres":
        pytest.skip("concurrency is tested on PostgreSQL, the production database")
    from survey_service.calls import dialling
    from survey_service.models import SampleDraw
    from survey_service.sample import draws
    from tests.factories import csv_content, make_list, make_unit, make_wave

    with transaction(session):
        reviewer = make_user(session, role="reviewer")
        wave = make_wave(session)
        wave.settings = {**wave.settings, "calling": ROUND_THE_CLOCK}
        session.add(wave)
        # Six units whose lists overlap: each number is in two or three units' samples.
        for i in range(6):
            unit = make_unit(session, code=f"U{i}", name=f"单位{i}")
            content = csv_content(12, start=13800000000 + (i % 3) * 7 * 4)
            make_list(session, unit=unit, wave=wave, n=12, actor=reviewer, content=content)
        draws.draw_sample(session=session, wave=wave, seed=5, per_unit=12, actor=None)
        assert session.exec(select(SampleDraw)).first() is not None
    engine = get_engine()
    with Session(engine, expire_on_commit=False) as s, transaction(s):
        callers = [make_user(s, username=f"a{i}", role="agent") for i in range(8)]
    hash_of = dict(
        session.exec(
            select(Case.id, Client.phone_hash).join(Client, Client.id == Case.client_id)
        ).all()
    )
    shared = len(hash_of) - len(set(hash_of.values()))
    assert shared >= 20  # the lists really overlap
    violations: list[str] = []
    taken: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(callers) + 1)

    def check(s):
        """Every number's held cases have one holder: an agent id, or the IVR (None)."""
        rows = s.exec(
            select(Case.id, Case.claimed_by).where(Case.status == CaseStatus.IN_PROGRESS)
        ).all()
        holders: dict[str, set] = {}
        for case_id, holder in rows:
            holders.setdefault(hash_of[case_id], set()).add(holder)
        violations.extend(f"{len(h)} holders" for h in holders.values() if len(h) > 1)

    def agent_work(agent):
        try:
            barrier.wait()
            for _ in range(6):
                with Session(engine) as s, transaction(s):
                    case = queue.claim_next_case(s, agent, now=EVENING)
                    case_id = case.id if case is not None else None
                    check(s)
                if case_id is None:
                    continue
                taken.append(case_id)
                with Session(engine) as s, transaction(s):
                    held = s.exec(select(Case).where(Case.claimed_by == agent.id)).all()
                    for each in held:  # done with the call: the next one
                        each.status, each.disposition, each.claimed_by = "final", "3.90", None
                        s.add(each)
        except BaseException as exc:  # reported below
            errors.append(exc)

    def ivr_work():
        try:
            barrier.wait()
            for _ in range(6):
                with Session(engine) as s, transaction(s):
                    dialling.claim_due_cases(s, limit=3, now=EVENING)
                    check(s)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=agent_work, args=(a,)) for a in callers]
    threads.append(threading.Thread(target=ivr_work))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert violations == []
    with Session(engine) as s:
        check(s)
        held = s.exec(select(Case.id).where(Case.status == CaseStatus.IN_PROGRESS)).all()
        ivr_cases = s.exec(select(CallAttempt.case_id).where(CallAttempt.channel == "ivr")).all()
    assert violations == []
    assert len(taken) >= 8  # the agents did take calls
    assert sorted(held) == sorted(ivr_cases)  # what is still held is the IVR's, every case once
    assert len(ivr_cases) == len(set(ivr_cases)) > 0


def test_the_dialler_counts_a_joint_call_once_against_its_limits(
    session, joint_sample, dial, telephony
):
    """Two lines, one joint call in progress: one line is left for the next number."""
    from survey_service.calls import pacing
    from survey_service.calls.telephony import limits

    (first, _second), alone = joint_sample
    _close(session, alone[:1])
    assert [case_id for case_id, _call in dial(limit=1).placed] == [first.id]
    rules = limits.Limits(concurrent=2, per_second=5)
    later = EVENING + timedelta(minutes=2)
    with transaction(session):
        allowed = pacing.calls_allowed(session, now=later, rules=rules)
    assert allowed == 1  # the call covering two cases holds one line, not two


def test_the_draw_links_the_cases_of_a_number_drawn_for_two_units(session, joint_sample):
    """number_group: the smaller case id on both of the shared number's cases, None elsewhere."""
    from survey_service.models import SampleDraw
    from survey_service.sample.shared_numbers import link_shared_numbers

    (first, second), alone = joint_sample
    groups = dict(session.exec(select(Case.id, Case.number_group)).all())
    assert groups == {first.id: first.id, second.id: first.id, alone[0].id: None, alone[1].id: None}
    wave_id = session.get(SampleDraw, first.draw_id).wave_id
    with transaction(session):
        assert link_shared_numbers(session, wave_id) == 2  # again: the same links
    assert dict(session.exec(select(Case.id, Case.number_group)).all()) == groups


def test_a_resent_last_key_of_the_first_unit_stores_nothing_for_the_second(
    session, joint_sample, dial, telephony, respondent
):
    """The first unit's last key delivered twice: the second delivery finds the second unit
    at its screening, stores nothing and reads that item again."""
    (first, second), alone = joint_sample
    _close(session, alone)
    dial(limit=5)
    (call,) = telephony.take_calls()
    record = respondent(keys=["1", "1", "2", "1", "3", "4"], resend_presses=[2]).take(call)
    assert [r.status for r in record.requests] == [200] * 8 + [204]
    resent = record.requests[4].body
    assert "您好！区里委托我们回访您在蔡甸区税务局办理的户籍办理事项" in resent
    reload(session, first, second)
    assert (first.disposition, second.disposition) == ("1.1", "1.1")
    assert [row for row in _answers(session) if row[0] == second.id] == [
        (second.id, "overall", "dissatisfied"),
        (second.id, "screening", "dealt"),
        (second.id, "service_quality", "basically_satisfied"),
    ]
