"""From attempt outcomes to final dispositions (queXS/BRFSS rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from survey_service.calls import attempts as calling
from survey_service.calls import queue
from survey_service.db import transaction
from survey_service.errors import Conflict, ServiceError
from survey_service.models import CaseStatus
from survey_service.sample import draws
from tests.factories import make_list, make_unit, make_user, make_wave

NOW = datetime(2017, 11, 1, 11, 0, tzinfo=UTC)


@pytest.fixture
def held(session):
    with transaction(session):
        unit = make_unit(session)
        reviewer = make_user(session, role="reviewer")
        agent = make_user(session, role="agent")
        wave = make_wave(session)
        make_list(session, unit=unit, wave=wave, n=10, actor=reviewer)
        draws.draw_sample(session=session, wave=wave, seed=1, per_unit=3, actor=None)
        case = queue.claim_next_case(session, agent, now=NOW)
        attempt = calling.start_attempt(session, case, agent=agent, now=NOW)
    return case, attempt, agent


def test_no_answer_is_redialled_in_another_day_part(session, held):
    """Does a Wednesday-evening no-answer put the case back for Thursday 09:00?

    The calling rules (issue 14): at least 3 hours later, in an allowed
    day-part not used yet; 22:00 is past the evening, so Thursday morning.
    """
    case, attempt, agent = held
    with transaction(session):
        calling.record_outcome(session, case, attempt, "3.13", actor=agent, now=NOW)
    assert case.status == CaseStatus.PENDING
    assert case.attempts == 1
    assert case.claimed_by is None
    assert case.next_attempt_at == datetime(2017, 11, 2, 1, 0, tzinfo=UTC)  # 09:00 in Wuhan
    assert case.disposition is None
    claimed = queue.claim_next_case(session, agent, now=NOW + timedelta(hours=1))
    assert claimed.id != case.id


def test_refusal_is_final_at_once(session, held):
    """Is a hard refusal final, and can the case not be called again?"""
    case, attempt, agent = held
    with transaction(session):
        calling.record_outcome(session, case, attempt, "2.11", actor=agent, now=NOW)
    assert (case.status, case.disposition, case.ever_eligible) == (CaseStatus.FINAL, "2.11", True)
    with pytest.raises(Conflict):
        calling.start_attempt(session, case, agent=agent)


def test_attempt_limit_unknown_eligibility_keeps_last_outcome(session, held):
    """After 6 no-answers, does a never-contacted case end as unknown (3.13)?"""
    case, attempt, agent = held
    for k in range(6):
        with transaction(session):
            if k:
                attempt = calling.start_attempt(session, case, agent=agent)
            calling.record_outcome(
                session, case, attempt, "3.13", actor=agent, now=NOW + timedelta(days=k)
            )
    assert (case.status, case.disposition, case.attempts) == (CaseStatus.FINAL, "3.13", 6)


def test_attempt_limit_after_eligibility_ends_as_eligible_noninterview(session, held):
    """Is eligibility, once learned, kept: the last eligible outcome (2.22), not 3.13?"""
    case, attempt, agent = held
    outcomes = ["2.22", "3.13", "3.13", "3.13", "3.13", "3.13"]
    for k, outcome in enumerate(outcomes):
        with transaction(session):
            if k:
                attempt = calling.start_attempt(session, case, agent=agent)
            calling.record_outcome(
                session, case, attempt, outcome, actor=agent, now=NOW + timedelta(days=k)
            )
    assert (case.status, case.disposition, case.ever_eligible) == (CaseStatus.FINAL, "2.22", True)


def test_unknown_outcome_is_refused(session, held):
    """Is an outcome code outside the AAPOR list refused with the field named?"""
    case, attempt, agent = held
    with pytest.raises(ServiceError) as info:
        calling.record_outcome(session, case, attempt, "9.99", actor=agent)
    assert info.value.where.field == "通话结果"


def test_edited_published_script_is_refused(session, held):
    """Is a script file edited under the same version refused, not silently used?"""
    from survey_service.calls import interviews
    from survey_service.models import SampleDraw, SurveyWave

    case, _attempt, _agent = held
    wave = session.get(SurveyWave, session.get(SampleDraw, case.draw_id).wave_id)
    assert interviews.state(session, case).item.id == "screening"
    wave.settings = {**wave.settings, "script_digest": "0" * 64}
    with pytest.raises(ServiceError) as info:
        interviews.state(session, case)
    assert "已被修改" in str(info.value)
