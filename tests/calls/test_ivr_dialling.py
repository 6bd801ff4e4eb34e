"""Which cases the IVR dials: calling windows, the 3-call rule, no call after an answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from survey_service.calls import attempts as calling
from survey_service.calls import dialling, interviews, queue
from survey_service.calls import ivr as ivr_calls
from survey_service.calls.settings import CallingSettings
from survey_service.calls.telephony import NO_ANSWER, CallRejected, SimulatedProvider
from survey_service.db import transaction
from survey_service.models import Answer, AuditEvent, CallAttempt, Case, CaseStatus, Client
from tests.calls.conftest import EVENING, make_sample, reload
from tests.factories import make_user

SHANGHAI = timedelta(hours=8)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """UTC instant of ``hour:minute`` in Wuhan on November ``day``, 2017 (1st: a Wednesday)."""
    return datetime(2017, 11, day, hour, minute, tzinfo=UTC) - SHANGHAI


@pytest.mark.parametrize(
    ("when", "individuals", "enterprises"),
    [
        (local(1, 8, 59), False, False),
        (local(1, 9, 0), True, True),  # the weekday morning opens at 09:00
        (local(1, 11, 59), True, True),
        (local(1, 12, 0), False, False),  # ... and closes at 12:00
        (local(1, 14, 0), True, True),  # the afternoon: 14:00-17:30
        (local(1, 17, 29), True, True),
        (local(1, 17, 30), False, False),
        (local(1, 18, 29), False, False),
        (local(1, 18, 30), True, False),  # the evening, 18:30-20:30: individuals only
        (local(1, 20, 29), True, False),
        (local(1, 20, 30), False, False),
        (local(4, 9, 59), False, False),  # Saturday
        (local(4, 10, 0), True, False),  # the weekend day-part: individuals only
        (local(5, 16, 59), True, False),  # Sunday
        (local(5, 17, 0), False, False),
        (local(5, 19, 0), False, False),  # no weekend evening
    ],
)
def test_calling_windows_boundaries(when, individuals, enterprises):
    """Are the default day-parts open from their start up to, not including, their end?"""
    kinds = CallingSettings().kinds_open(when)
    assert ("群众" in kinds) is individuals
    assert (None in kinds) is individuals  # unknown kind is called like an individual
    assert ("企业" in kinds) is enterprises


def test_windows_are_a_wave_setting():
    """Can a wave set its own day-parts (here: weekends 10:00-12:00 only)?"""
    weekend = {"start": "10:00", "end": "12:00", "days": "weekend"}
    calling_settings = CallingSettings(
        rule_settings={
            "day_parts": {"weekend": weekend},
            "per_kind": {"企业": {"allowed_day_parts": ["weekend"]}},
        }
    )
    assert calling_settings.kinds_open(local(4, 10, 0)) == frozenset({"群众", "企业", None})
    assert calling_settings.kinds_open(local(4, 12, 0)) == frozenset()
    assert calling_settings.kinds_open(local(1, 10, 0)) == frozenset()


@pytest.mark.parametrize(("when", "placed"), [(local(1, 18, 30), 3), (local(1, 20, 30), 0)])
def test_dialling_respects_the_window(session, sample, dial, telephony, when, placed):
    """Are individuals dialled at 18:30 but not at 20:30?"""
    result = dial(limit=10, now=when)
    assert len(result.placed) == placed
    assert result.window_open is bool(placed)
    assert len(telephony.take_calls()) == placed


def test_enterprises_are_called_in_office_hours_only(session, dial, telephony):
    """Is an enterprise left alone on a weekday evening and dialled at 10:00?"""
    make_sample(session, kind="企业", per_unit=2)
    assert dial(limit=5, now=local(1, 19, 0)).placed == []
    assert len(dial(limit=5, now=local(2, 10, 0)).placed) == 2


def test_a_call_dials_the_decrypted_number_and_is_audited(app, session, sample, dial, telephony):
    """Does the provider get the E.164 number, the attempt its call id, the log an entry?"""
    result = dial()
    (call,) = telephony.take_calls()
    (case_id, call_id) = result.placed[0]
    case = session.get(Case, case_id)
    client = session.get(Client, case.client_id)
    assert call.to == app.extensions["phone_vault"].decrypt(client.phone_enc)
    assert call.to.startswith("+86138")
    attempt = session.exec(select(CallAttempt)).one()
    assert (attempt.channel, attempt.agent_id, attempt.provider_call_id) == ("ivr", None, call_id)
    assert (case.status, case.claimed_by) == (CaseStatus.IN_PROGRESS, None)
    token = ivr_calls.attempt_token(app.config["SECRET_KEY"], attempt.id)
    assert call.webhook_url == f"http://ivr.test/ivr/call/{attempt.id}/{token}/voice"
    assert len(token) == 32
    assert token != ivr_calls.attempt_token(app.config["SECRET_KEY"], attempt.id + 1)
    assert token != ivr_calls.attempt_token("another-key", attempt.id)
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "ivr.dial")).one()
    assert (event.object_id, event.detail["attempt"]) == (str(case.id), attempt.id)


def test_an_agent_cannot_take_a_case_being_dialled(session, sample, dial):
    """Is a case the IVR is calling out of the agents' queue?"""
    with transaction(session):
        agent = make_user(session, role="agent")
    (case_id, _), *_ = dial().placed
    taken = []
    with transaction(session):
        while (case := queue.claim_next_case(session, agent, now=EVENING)) is not None:
            taken.append(case.id)
            attempt = calling.start_attempt(session, case, agent=agent, now=EVENING)
            calling.record_outcome(session, case, attempt, "2.11", actor=agent, now=EVENING)
    assert case_id not in taken and len(taken) == 2


def test_at_most_three_ivr_calls_per_case(session, dial, telephony):
    """After three unanswered IVR calls, is the case no longer dialled by the IVR?"""
    (case,) = make_sample(session, per_unit=1)
    for day in (1, 2, 3):  # Wednesday to Friday evenings
        result = dial(now=local(day, 19, 0))
        assert [c for c, _ in result.placed] == [case.id], day
        attempt = session.exec(select(CallAttempt).where(CallAttempt.ended_at.is_(None))).one()
        with transaction(session):
            ivr_calls.record_call_end(session, case, attempt, NO_ANSWER, now=local(day, 19, 1))
    assert case.attempts == 3 and case.status == CaseStatus.PENDING
    assert dial(now=local(4, 11, 0)).placed == []  # Saturday, the weekend day-part
    # Agents may still call it (up to their own limit).
    with transaction(session):
        agent = make_user(session, role="agent")
    assert queue.claim_next_case(session, agent, now=local(4, 11, 0)).id == case.id


def test_no_ivr_call_after_the_respondent_answered_an_item(session, dial):
    """Is a case whose respondent rated an item (then asked to be called back) left to agents?"""
    answered, screened_only, untouched = make_sample(session, per_unit=3)
    with transaction(session):
        agent = make_user(session, role="agent")
        plan = ((answered, ["screening", "service_quality"]), (screened_only, ["screening"]))
        for case, items in plan:
            attempt = calling.start_attempt(session, case, agent=agent, now=EVENING)
            for item_id in items:
                value = "dealt" if item_id == "screening" else "satisfied"
                interviews.answer(session, case, attempt, item_id, value, actor=agent)
            calling.record_outcome(session, case, attempt, "2.21", actor=agent, now=EVENING)
    result = dial(limit=5, now=EVENING + timedelta(days=1))
    assert sorted(c for c, _ in result.placed) == sorted([screened_only.id, untouched.id])
    # The screened case's call starts afresh with the introduction; eligibility is kept.
    left = session.exec(select(Answer.case_id, Answer.item_id)).all()
    assert sorted(left) == [(answered.id, "screening"), (answered.id, "service_quality")]
    assert screened_only.ever_eligible


def test_final_open_and_undue_cases_are_not_dialled(session, sample, dial):
    """Are final cases, cases with a call in progress and cases not yet due skipped?"""
    final, busy, later = sample
    with transaction(session):
        agent = make_user(session, role="agent")
        attempt = calling.start_attempt(session, final, agent=agent, now=EVENING)
        calling.record_outcome(session, final, attempt, "2.11", actor=agent, now=EVENING)
        calling.start_attempt(session, busy, agent=agent, now=EVENING)  # an agent's open call
        later.next_attempt_at = EVENING + timedelta(hours=1)
        session.add(later)
    assert dial(limit=5).placed == []
    assert [c for c, _ in dial(limit=5, now=EVENING + timedelta(hours=1)).placed] == [later.id]


class Refusing(SimulatedProvider):
    """A provider that refuses every call, as Twilio does with a REST error."""

    def __init__(self, invalid: bool):
        super().__init__("t")
        self.invalid = invalid

    def place_call(self, **kwargs):
        raise CallRejected("refused", invalid_number=self.invalid)


@pytest.mark.parametrize(
    ("invalid", "outcome", "status"),
    [(True, "4.31", CaseStatus.FINAL), (False, "3.16", CaseStatus.PENDING)],
)
def test_refused_calls_get_an_outcome_at_once(session, dial, invalid, outcome, status):
    """Does a refused call end as 4.31 (number invalid) or 3.16 (anything else) at once?"""
    (case,) = make_sample(session, per_unit=1)
    result = dial(provider=Refusing(invalid))
    assert result.placed == []
    assert result.failed == [(case.id, outcome, "refused")]
    reload(session, case)
    assert (case.status, case.disposition if invalid else outcome) == (status, outcome)
    assert session.exec(select(CallAttempt.outcome)).one() == outcome


def test_invalid_number_in_the_simulator(app, session, dial):
    """Does the simulated provider refuse its configured invalid numbers as Twilio would?"""
    (case,) = make_sample(session, per_unit=1)
    number = app.extensions["phone_vault"].decrypt(session.get(Client, case.client_id).phone_enc)
    provider = SimulatedProvider("t", invalid_numbers=[number])
    assert [o for _, o, _ in dial(provider=provider).failed] == ["4.31"]
    assert provider.calls == []


def test_a_provider_crash_is_a_technical_problem_not_a_rollback(session, dial, telephony):
    """If the provider fails on one call, are the other calls' attempts kept?"""
    make_sample(session, per_unit=2)

    class Flaky(SimulatedProvider):
        def place_call(self, **kwargs):
            if not self.calls:
                self.calls.append(None)
                raise ConnectionError("provider unreachable")
            return super().place_call(**kwargs)

    result = dial(limit=2, provider=Flaky("t"))
    assert len(result.placed) == 1
    ((_, outcome, why),) = result.failed
    assert (outcome, why) == ("3.16", "ConnectionError: provider unreachable")
    outcomes = session.exec(select(CallAttempt.outcome)).all()
    assert sorted(o or "" for o in outcomes) == ["", "3.16"]


def test_a_call_without_status_callback_is_expired(session, dial, telephony):
    """Is an IVR attempt that never heard back closed as 3.16 an hour later, and redialled?"""
    (case,) = make_sample(session, per_unit=1)
    dial(now=local(1, 19, 0))
    result = dial(now=local(1, 20, 1))
    assert result.expired == 1 and result.placed == []  # redial due on Thursday morning
    attempt = session.exec(select(CallAttempt)).one()
    assert (attempt.outcome, attempt.note) == ("3.16", "no status callback from the provider")
    assert [c for c, _ in dial(now=local(2, 9, 0)).placed] == [case.id]


def test_claimed_cases_checkpoint_before_calls(app, session, sample, telephony):
    """Does dial_due_cases run the checkpoint after claiming and before the first call?"""
    seen = []

    def checkpoint():
        seen.append((len(telephony.calls), session.exec(select(CallAttempt)).all()))

    with transaction(session):
        dialling.dial_due_cases(
            session,
            provider=telephony,
            vault=app.extensions["phone_vault"],
            limit=2,
            now=EVENING,
            webhook_base="http://ivr.test",
            token_key="k",
            checkpoint=checkpoint,
        )
    ((calls_before, attempts),) = seen
    assert calls_before == 0 and len(attempts) == 2
    assert len(telephony.calls) == 2
