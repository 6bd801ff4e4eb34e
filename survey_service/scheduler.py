"""Scheduled work, run by exactly one worker process (``flask --app wsgi worker``).

A scheduler started inside web workers would run once per forked worker,
so the web app never starts one. APScheduler keeps its jobs in memory here:
its job stores must never be shared between schedulers.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from .db import transaction
from .services import queue

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


def build_scheduler(app: Flask) -> BlockingScheduler:
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
    return scheduler
