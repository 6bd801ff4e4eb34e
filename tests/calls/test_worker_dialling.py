"""The worker's dialling: the lock, the limits against the database, refusing a provider."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from survey_service.calls.pacing import calls_allowed
from survey_service.calls.settings import ROUND_THE_CLOCK
from survey_service.calls.telephony import limits
from survey_service.calls.telephony.simulated import SimulatedProvider
from survey_service.db import transaction
from survey_service.models import CallAttempt, Case, utcnow
from survey_service.scheduler import (
    DiallerLock,
    build_scheduler,
    dial_ivr,
    dialling_problem,
)
from tests.calls.conftest import make_sample


def test_one_lock_holder_on_postgres(app, backend):
    """Does only one DiallerLock hold the lock on PostgreSQL, and a second take it once freed?"""
    engine = app.extensions["engine"]
    first, second = DiallerLock(engine), DiallerLock(engine)
    try:
        assert first.acquire() is True
        assert first.acquire() is True  # still held: the connection is alive
        if backend == "postgres":
            assert second.acquire() is False
            first.release()
            assert second.acquire() is True
            assert first.acquire() is False
        else:
            assert second.acquire() is True  # SQLite: one process by construction
    finally:
        first.release()
        second.release()


def test_calls_allowed_defers_a_callee_called_a_moment_ago(app, session):
    cases = make_sample(session, per_unit=3, calling=ROUND_THE_CLOCK)
    now = utcnow()
    with transaction(session):
        session.add(
            CallAttempt(
                case_id=cases[0].id,
                channel="ivr",
                started_at=now - timedelta(seconds=20),
                ended_at=now - timedelta(seconds=10),
                outcome="3.13",
            )
        )
    rules = limits.Limits(concurrent=15, per_second=5)
    with transaction(session):
        allowed = calls_allowed(session, now=now, rules=rules)
    assert allowed == 2
    session.expire_all()
    first = session.get(Case, cases[0].id)
    assert first.next_attempt_at.replace(tzinfo=None) == (now + timedelta(seconds=40)).replace(
        tzinfo=None
    )
    assert [session.get(Case, c.id).next_attempt_at for c in cases[1:]] == [None, None]


def test_dial_ivr_places_at_the_rate_and_only_with_the_lock(app, session):
    """One tick places DIAL_CALLS_PER_SECOND calls; a worker without the lock places none."""
    make_sample(session, per_unit=3, calling=ROUND_THE_CLOCK)
    app.config.update(
        PUBLIC_BASE_URL="http://127.0.0.1:5106", DIAL_INTERVAL_SECONDS=1, DIAL_CALLS_PER_SECOND=2
    )
    provider = SimulatedProvider.from_config(app.config)
    engine = app.extensions["engine"]
    holder = DiallerLock(engine)
    assert holder.acquire()
    try:
        if engine.dialect.name == "postgresql":
            assert dial_ivr(app, provider, DiallerLock(engine)) == 0
            assert provider.calls == []
        assert dial_ivr(app, provider, holder) == 2
    finally:
        holder.release()
    assert len(provider.calls) == 2
    session.expire_all()
    attempts = session.exec(select(CallAttempt)).all()
    assert sorted(a.provider_call_id for a in attempts) == sorted(c.call_id for c in provider.calls)


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"TELEPHONY_PROVIDER": "aliyun"}, "TELEPHONY_PROVIDER=aliyun needs PUBLIC_BASE_URL"),
        (
            {"TELEPHONY_PROVIDER": "aliyun", "PUBLIC_BASE_URL": "https://s.example"},
            "the aliyun provider needs ALIYUN_ACCESS_KEY_ID, ALIYUN_ACCESS_KEY_SECRET, "
            "ALIYUN_CALLER_NUMBER, ALIYUN_CALLBACK_TOKEN",
        ),
        (
            {
                "TELEPHONY_PROVIDER": "aliyun",
                "PUBLIC_BASE_URL": "https://s.example",
                "ALIYUN_ACCESS_KEY_ID": "id",
                "ALIYUN_ACCESS_KEY_SECRET": "secret",
                "ALIYUN_CALLBACK_TOKEN": "tok",
            },
            "the aliyun provider needs ALIYUN_CALLER_NUMBER",
        ),
        (
            {
                "TELEPHONY_PROVIDER": "twilio",
                "PUBLIC_BASE_URL": "https://s.example",
                "TWILIO_AUTH_TOKEN": "t",
            },
            "the twilio provider needs TWILIO_ACCOUNT_SID, TWILIO_FROM_NUMBER",
        ),
    ],
)
def test_worker_refuses_a_provider_and_names_the_setting(app, settings, problem, caplog):
    app.config.update(settings)
    assert dialling_problem(app) == f"IVR dialling is off: {problem}"
    assert [job.id for job in build_scheduler(app).get_jobs()] == ["release_idle_claims"]
    assert f"IVR dialling is off: {problem}" in caplog.text


def test_complete_aliyun_settings_schedule_dialling_and_receipts(app):
    app.config.update(
        TELEPHONY_PROVIDER="aliyun",
        PUBLIC_BASE_URL="https://s.example",
        ALIYUN_ACCESS_KEY_ID="id",
        ALIYUN_ACCESS_KEY_SECRET="secret",
        ALIYUN_CALLER_NUMBER="02787650000",
        ALIYUN_CALLBACK_TOKEN="tok",
        ALIYUN_MNS_ENDPOINT="http://1234.mns.cn-hangzhou.aliyuncs.com",
        ALIYUN_MNS_VOICE_REPORT_QUEUE="vr",
    )
    assert dialling_problem(app) is None
    jobs = [job.id for job in build_scheduler(app).get_jobs()]
    assert jobs == ["release_idle_claims", "dial_ivr", "pull_receipts"]
    app.extensions["dialler_lock"].release()
