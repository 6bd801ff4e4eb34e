"""Scheduled work, run by exactly one worker process (``flask --app wsgi worker``).

A scheduler started inside web workers would run once per forked worker,
so the web app never starts one. APScheduler keeps its jobs in memory here:
its job stores must never be shared between schedulers.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from survey_service.calls import queue

from .db import transaction

log = logging.getLogger(__name__)


def release_idle_claims(app: Flask) -> int:
    """Return cases held idle longer than CLAIM_TIMEOUT_MINUTES to the queue."""
    from sqlmodel import Session

    with app.app_context(), Session(app.extensions["engine"]) as session, transaction(session):
        released = queue.release_stale_claims(
            session, idle_minutes=int(app.config["CLAIM_TIMEOUT_MINUTES"])
        )
    if released:
        log.info("released %d idle case claims", released)
    return released


def dial_ivr(app: Flask) -> int:
    """Place the IVR calls due now (inside the calling windows); return how many."""
    from sqlmodel import Session

    from survey_service.calls import dialling
    from survey_service.calls.telephony import get_provider

    provider = get_provider(app.config)
    with app.app_context(), Session(app.extensions["engine"]) as session, transaction(session):
        result = dialling.dial_due_cases(
            session,
            provider=provider,
            vault=app.extensions["phone_vault"],
            limit=20,
            webhook_base=app.config["PUBLIC_BASE_URL"],
            token_key=app.config["SECRET_KEY"],
            config=app.config,
            checkpoint=session.commit,
        )
    if result.placed:
        log.info("placed %d IVR calls", len(result.placed))
    return len(result.placed)


def build_scheduler(app: Flask) -> BlockingScheduler:
    """The worker's jobs: idle-claim release always; IVR dialling with a real provider."""
    scheduler = BlockingScheduler(timezone=app.config["TIMEZONE"])
    scheduler.add_job(
        release_idle_claims,
        "interval",
        minutes=1,
        args=[app],
        id="release_idle_claims",
        max_instances=1,
        coalesce=True,
    )
    if app.config.get("TELEPHONY_PROVIDER") != "simulated" and app.config.get("PUBLIC_BASE_URL"):
        scheduler.add_job(
            dial_ivr,
            "interval",
            minutes=5,
            args=[app],
            id="dial_ivr",
            max_instances=1,
            coalesce=True,
        )
    return scheduler
