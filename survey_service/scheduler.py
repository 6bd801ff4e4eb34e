"""Scheduled work of the worker process (``flask --app wsgi worker``); one dialler at a time.

A scheduler started inside web workers would run once per forked worker,
so the web app never starts one. APScheduler keeps its jobs in memory here:
its job stores must never be shared between schedulers.

Several workers may run (on several machines) against one PostgreSQL:
exactly one dials, the one holding the PostgreSQL advisory lock
:data:`DIALLER_LOCK` (``pg_try_advisory_lock`` on a dedicated connection,
held for the process's life). The others try again on every dialling tick
(``DIAL_INTERVAL_SECONDS``), so when the active worker dies its connection
closes, the lock is free and another takes over within one tick. No call is
placed twice: each attempt row is written (and committed) before its call
is placed, and a case with an open attempt is never claimed again; a call
claimed by a worker that died before placing it is closed as 3.16 by
``expire_stale_calls`` an hour later. SQLite allows one process by
construction (one file, one worker), so the lock is always held there.

Before dialling, the provider's limits (:mod:`survey_service.calls.telephony.limits`,
applied by :func:`survey_service.calls.pacing.dial_within_limits`, as ``ivr dial``
does) decide how many calls may start now; a case whose callee was called too
often is given the time it may be called again (``next_attempt_at``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time as clock
from datetime import datetime
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from survey_service.calls import pacing, queue
from survey_service.calls.pacing import provider_limits
from survey_service.calls.telephony import ProviderError, get_provider

from .db import transaction

log = logging.getLogger(__name__)

# pg_try_advisory_lock key of the one active dialler ("survey" + issue 15).
DIALLER_LOCK = 0x5355_5256_0015
# The simulated network has no rest hours: it dials at any time (demo, tests).


class DiallerLock:
    """The PostgreSQL advisory lock that makes one worker the dialler."""

    def __init__(self, engine, key: int = DIALLER_LOCK):
        self._engine = engine
        self._key = key
        self._conn = None
        self._lock_engine = None

    @property
    def held(self) -> bool:
        return self._engine.dialect.name != "postgresql" or self._conn is not None

    def acquire(self) -> bool:
        """Hold the lock (or keep holding it); False while another worker holds it."""
        if self._engine.dialect.name != "postgresql":
            return True
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1")).scalar()
                self._conn.commit()
                return True
            except Exception:
                log.warning("lost the dialler lock's connection")
                self.release()
        if self._lock_engine is None:
            self._lock_engine = create_engine(
                self._engine.url,
                poolclass=NullPool,
                connect_args={"application_name": f"survey-worker-{os.getpid()}"},
            )
        conn = self._lock_engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar()
        conn.commit()
        if not got:
            conn.close()
            return False
        self._conn = conn
        log.info("dialler lock acquired: this worker dials")
        return True

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


def release_idle_claims(app: Flask) -> int:
    """Return cases held idle longer than CLAIM_TIMEOUT_MINUTES to the queue."""
    with app.app_context(), Session(app.extensions["engine"]) as session, transaction(session):
        released = queue.release_stale_claims(
            session, idle_minutes=int(app.config["CLAIM_TIMEOUT_MINUTES"])
        )
    if released:
        log.info("released %d idle case claims", released)
    return released


def dial_ivr(app: Flask, provider: Any = None, lock: DiallerLock | None = None) -> int:
    """Place the IVR calls due now, within the provider's limits; return how many.

    Runs rounds of at most ``DIAL_CALLS_PER_SECOND`` calls, a second apart,
    for up to ``DIAL_INTERVAL_SECONDS``; does nothing unless this worker
    holds the dialler lock.
    """
    if lock is not None and not lock.acquire():
        return 0
    provider = provider or get_provider(app.config)
    rules = provider_limits(app.config, provider)
    started = clock.monotonic()
    budget = float(app.config["DIAL_INTERVAL_SECONDS"]) - 1  # leave the tick a second
    placed = 0
    while True:
        engine = app.extensions["engine"]
        with app.app_context(), Session(engine) as session, transaction(session):
            result = pacing.dial_within_limits(
                session,
                provider=provider,
                rules=rules,
                vault=app.extensions["phone_vault"],
                webhook_base=app.config["PUBLIC_BASE_URL"],
                token_key=app.config["SECRET_KEY"],
                config=app.config,
                checkpoint=session.commit,
            )
        placed += len(result.placed)
        if not result.placed and not result.failed:
            break
        if clock.monotonic() - started >= budget:
            break
        clock.sleep(1.0)
    if placed:
        log.info("placed %d IVR calls", placed)
    return placed


def dialling_problem(app: Flask) -> str | None:
    """Why this worker cannot dial (a missing setting), or None if it can."""
    config = app.config
    name = config.get("TELEPHONY_PROVIDER") or "simulated"
    if not config.get("PUBLIC_BASE_URL"):
        return f"IVR dialling is off: TELEPHONY_PROVIDER={name} needs PUBLIC_BASE_URL"
    try:
        get_provider(config)
    except (ProviderError, NotImplementedError) as exc:
        return f"IVR dialling is off: {exc}"
    if name == "simulated":
        from survey_service.calls.telephony.simulated_network import load_settings

        path = config.get("SIMULATED_NETWORK")
        try:
            load_settings(path or None)
        except (OSError, ValueError, AttributeError, TypeError) as exc:
            return f"IVR dialling is off: SIMULATED_NETWORK={path}: {exc}"
    return None


def build_scheduler(app: Flask) -> BlockingScheduler:
    """The worker's jobs: idle-claim release always; IVR dialling when the provider can dial.

    The simulated provider dials only when PUBLIC_BASE_URL is set (the demo);
    a real provider lacking a setting is refused, and the reason is logged.
    """
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
    problem = dialling_problem(app)
    app.extensions["worker_problem"] = problem
    if problem:
        if app.config.get("PUBLIC_BASE_URL") or app.config.get("TELEPHONY_PROVIDER") not in (
            None,
            "simulated",
        ):
            log.error(problem)
        return scheduler
    provider = get_provider(app.config)
    lock = DiallerLock(app.extensions["engine"])
    app.extensions["dialler_lock"] = lock
    scheduler.add_job(
        dial_ivr,
        "interval",
        seconds=int(app.config["DIAL_INTERVAL_SECONDS"]),
        args=[app, provider, lock],
        id="dial_ivr",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(tz=None).astimezone(),
    )
    if provider.name == "simulated":
        from concurrent.futures import ThreadPoolExecutor

        from survey_service.calls.telephony.simulated import HttpTransport
        from survey_service.calls.telephony.simulated_play import network_from_config, play_calls

        transport = HttpTransport()
        network = network_from_config(
            app.config,
            engine=app.extensions["engine"],
            vault=app.extensions["phone_vault"],
            transport=transport,
            auth_token=provider.auth_token,
        )
        players = ThreadPoolExecutor(max_workers=8, thread_name_prefix="simulated-call")
        scheduler.add_job(
            play_calls,
            "interval",
            seconds=1,
            args=[provider, transport],
            kwargs={"submit": players.submit, "network": network},
            id="play_simulated_calls",
            max_instances=1,
            coalesce=True,
        )
    if provider.name == "aliyun" and app.config.get("ALIYUN_MNS_ENDPOINT"):
        from survey_service.calls.telephony.aliyun_receipts import MnsReceipts

        receipts = MnsReceipts.from_config(app.config)
        scheduler.add_job(
            pull_receipts,
            "interval",
            seconds=5,
            args=[app, receipts, lock],
            id="pull_receipts",
            max_instances=1,
            coalesce=True,
        )
    return scheduler


def pull_receipts(app: Flask, receipts, lock: DiallerLock | None = None) -> int:
    """Apply the receipts waiting in MNS, then delete them; return how many were applied."""
    from survey_service.calls.telephony.aliyun_receipts import apply_receipt

    if lock is not None and not lock.acquire():
        return 0
    pulled = receipts.pull()
    applied = 0
    with app.app_context(), Session(app.extensions["engine"]) as session, transaction(session):
        for message in pulled:
            for receipt in message.receipts:
                if apply_receipt(session, message.kind, receipt) is not None:
                    applied += 1
    if pulled:
        receipts.delete(pulled)
    return applied
