"""The worker's scheduled jobs."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from survey_service.calls import queue
from survey_service.db import transaction
from survey_service.models import Case, CaseStatus
from survey_service.sample import draws
from survey_service.scheduler import build_scheduler, release_idle_claims
from tests.factories import make_list, make_unit, make_user, make_wave


def test_jobs_follow_the_provider(app):
    """Is IVR dialling scheduled only with a real provider and a public URL?"""
    assert [j.id for j in build_scheduler(app).get_jobs()] == ["release_idle_claims"]
    app.config.update(
        TELEPHONY_PROVIDER="twilio",
        PUBLIC_BASE_URL="https://survey.example",
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_AUTH_TOKEN="token",
        TWILIO_FROM_NUMBER="+862700000001",
    )
    assert [j.id for j in build_scheduler(app).get_jobs()] == ["release_idle_claims", "dial_ivr"]


def test_release_idle_claims_job(app, session):
    """Does the job give back a case held idle for more than CLAIM_TIMEOUT_MINUTES?"""
    with transaction(session):
        unit = make_unit(session)
        reviewer = make_user(session, role="reviewer")
        agent = make_user(session, role="agent")
        wave = make_wave(session)
        make_list(session, unit=unit, wave=wave, n=5, actor=reviewer)
        draws.draw_sample(session=session, wave=wave, seed=2, per_unit=2, actor=None)
        # Claimed on a Wednesday evening in Wuhan (inside the day-parts), long ago.
        queue.claim_next_case(session, agent, now=datetime(2017, 11, 1, 11, 0, tzinfo=UTC))
    assert release_idle_claims(app) == 1
    session.expire_all()
    assert {c.status for c in session.exec(select(Case)).all()} == {CaseStatus.PENDING}
