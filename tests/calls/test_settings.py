"""Calling limits come from the wave's settings over one set of defaults, in its time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from survey_service.calls import attempts as calling
from survey_service.calls import dialling
from survey_service.calls.rules import Rules
from survey_service.calls.settings import CallingSettings, settle
from survey_service.calls.telephony import NO_ANSWER
from survey_service.db import transaction
from survey_service.errors import ServiceError
from survey_service.models import CallAttempt, CaseStatus, SurveyWave
from tests.calls.conftest import EVENING, make_sample
from tests.factories import make_user


def _set_calling(session, **values):
    with transaction(session):
        wave = session.exec(select(SurveyWave)).one()
        wave.settings = {**wave.settings, "calling": values}
        session.add(wave)


def _wave(calling=None):
    settings = {"calling": calling} if calling is not None else {}
    return SurveyWave(name="2017", year=2017, script_id="x", script_version=1, settings=settings)


def test_defaults_live_in_one_place():
    """Does a wave without calling settings get 6 attempts, 3 h, 3 IVR calls, Shanghai?"""
    calling_settings = CallingSettings.for_wave(_wave())
    assert calling_settings == CallingSettings(
        timezone="Asia/Shanghai", max_ivr_calls=3, rule_settings={}
    )
    assert (calling_settings.max_attempts, calling_settings.redial_gap_minutes) == (6, 180)
    assert calling_settings.rules_for("企业") == Rules(
        allowed=("weekday_morning", "weekday_afternoon")
    )
    assert CallingSettings.for_wave(_wave(), {"TIMEZONE": "Asia/Urumqi"}).timezone == "Asia/Urumqi"


def test_wave_values_override_defaults_and_config():
    """Do a wave's own values (time zone included) beat the defaults and the app's TIMEZONE?"""
    wave = _wave(
        {
            "max_attempts": 8,
            "timezone": "UTC",
            "max_ivr_calls": 1,
            "per_kind": {"企业": {"redial_gap_minutes": 60}},
        }
    )
    calling_settings = CallingSettings.for_wave(wave, {"TIMEZONE": "Asia/Urumqi"})
    assert (calling_settings.max_attempts, calling_settings.timezone) == (8, "UTC")
    assert calling_settings.max_ivr_calls == 1
    enterprise = calling_settings.rules_for("企业")
    assert (enterprise.timezone, enterprise.redial_gap_minutes, enterprise.max_attempts) == (
        "UTC",
        60,
        8,
    )
    assert calling_settings.rules_for("群众").redial_gap_minutes == 180


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"max_attemps": 8}, "max_attemps"),
        ({"timezone": "Mars/Olympus"}, "Mars/Olympus"),
        ({"redial_gap_minutes": "soon"}, "soon"),
        ({"max_ivr_calls": "many"}, "many"),
    ],
)
def test_unusable_wave_settings_are_refused(values, field):
    """Is a misspelt key, an unknown time zone or a non-number refused, naming it?"""
    with pytest.raises(ServiceError) as info:
        CallingSettings.for_wave(_wave(values))
    assert info.value.where.field == "settings.calling"
    assert field in str(info.value)


def test_max_attempts_and_redial_gap_of_the_wave(session):
    """With 2 attempts, a 60-minute gap and evenings only, is 19:00's redial at 20:00?"""
    (case,) = make_sample(session, per_unit=1)
    _set_calling(
        session, max_attempts=2, redial_gap_minutes=60, allowed_day_parts=["weekday_evening"]
    )
    with transaction(session):
        agent = make_user(session, role="agent")
        attempt = calling.start_attempt(session, case, agent=agent, now=EVENING)
        calling.record_outcome(session, case, attempt, "3.13", actor=agent, now=EVENING)
    assert (case.status, case.next_attempt_at) == (
        CaseStatus.PENDING,
        EVENING + timedelta(minutes=60),
    )
    later = EVENING + timedelta(minutes=60)
    with transaction(session):
        attempt = calling.start_attempt(session, case, agent=agent, now=later)
        calling.record_outcome(session, case, attempt, "3.13", actor=agent, now=later)
    assert (case.status, case.disposition, case.attempts) == (CaseStatus.FINAL, "3.13", 2)


def test_max_ivr_calls_of_the_wave(session, dial):
    """With max_ivr_calls 1, is a case dialled once by the IVR and then left to agents?"""
    (case,) = make_sample(session, per_unit=1)
    _set_calling(session, max_ivr_calls=1)
    assert [c for c, _ in dial(now=EVENING).placed] == [case.id]
    attempt = session.exec(select(CallAttempt)).one()
    with transaction(session):
        from survey_service.calls import ivr as ivr_calls

        ivr_calls.record_call_end(session, case, attempt, NO_ANSWER, now=EVENING)
    assert dial(now=EVENING + timedelta(days=1)).placed == []


# Wednesday 1 November 2017, 19:00 UTC: 03:00 on Thursday in Wuhan.
UTC_EVENING = datetime(2017, 11, 1, 19, 0, tzinfo=UTC)


def test_the_app_timezone_moves_the_window(session, dial):
    """Is 19:00 UTC outside the windows in Asia/Shanghai but inside them with TIMEZONE=UTC?"""
    make_sample(session, per_unit=2)
    shanghai = dial(limit=5, now=UTC_EVENING, config={"TIMEZONE": "Asia/Shanghai"})
    assert (shanghai.placed, shanghai.window_open) == ([], False)
    utc = dial(limit=5, now=UTC_EVENING, config={"TIMEZONE": "UTC"})
    assert (len(utc.placed), utc.window_open) == (2, True)


def test_the_scheduler_dials_in_the_app_timezone(app, session, telephony, monkeypatch):
    """Does the worker's dialling job pass the app's TIMEZONE down to the windows?"""
    from survey_service import scheduler
    from survey_service.calls import pacing

    make_sample(session, per_unit=2)
    session.commit()
    seen = []
    real = dialling.dial_due_cases

    def spy(session, **kwargs):
        seen.append(kwargs["config"]["TIMEZONE"])
        return real(session, **{**kwargs, "now": UTC_EVENING})

    monkeypatch.setattr(dialling, "dial_due_cases", spy)
    # The worker's limits and the due rule both read the clock: an evening in UTC.
    monkeypatch.setattr(pacing, "utcnow", lambda: UTC_EVENING)
    app.config.update(TIMEZONE="UTC", PUBLIC_BASE_URL="http://ivr.test", DIAL_CALLS_PER_SECOND=5)
    assert scheduler.dial_ivr(app, provider=telephony) == 2
    # One round dialled both; the next found nothing left to dial.
    assert seen == ["UTC", "UTC"]


def test_settle_builds_settings_given_as_a_function_and_keeps_the_others():
    """Is a function of settings called for them, and settings or None passed through?"""
    settings = CallingSettings(timezone="Asia/Shanghai")
    assert settle(settings) is settings
    assert settle(None) is None
    assert settle(lambda: settings) is settings
