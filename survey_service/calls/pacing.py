"""Dialling within the provider's limits: the one way the worker and ``ivr dial`` place calls.

The limits themselves are pure (:mod:`survey_service.calls.telephony.limits`):
a callee at most ``DIAL_CALLEE_PER_MINUTE`` / ``_PER_HOUR`` / ``_PER_DAY``
calls (failed calls count), ``DIAL_CONCURRENT_MOBILE`` or ``_LANDLINE``
simultaneous calls on the caller number, ``DIAL_CALLS_PER_SECOND`` calls
started a second. :func:`dial_within_limits` asks them how many calls may
start now (deferring every due case whose callee is at a limit to the time it
may be called) and dials at most that many.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, select

from survey_service.calls import dialling, queue
from survey_service.calls.ivr import IVR
from survey_service.calls.telephony import Provider, limits
from survey_service.calls.telephony.simulated import SIMULATED_FROM
from survey_service.models import CallAttempt, Case, Client, utcnow

# Due cases looked at per round (far more than any round may dial).
DUE_WINDOW = 500


def provider_limits(config: Mapping[str, Any], provider: Provider) -> limits.Limits:
    """The ``DIAL_*`` settings for ``provider``'s caller number."""
    caller = getattr(provider, "caller_number", None) or ""
    if provider.name == "simulated":
        caller = SIMULATED_FROM
    elif provider.name == "twilio":
        caller = config.get("TWILIO_FROM_NUMBER") or ""
    return limits.Limits(
        callee_per_minute=int(config["DIAL_CALLEE_PER_MINUTE"]),
        callee_per_hour=int(config["DIAL_CALLEE_PER_HOUR"]),
        callee_per_day=int(config["DIAL_CALLEE_PER_DAY"]),
        concurrent=limits.concurrent_limit(
            caller or "+8613800000000",  # unknown: a mobile's (the lower) limit
            mobile=int(config["DIAL_CONCURRENT_MOBILE"]),
            landline=int(config["DIAL_CONCURRENT_LANDLINE"]),
        ),
        per_second=int(config["DIAL_CALLS_PER_SECOND"]),
    )


def calls_allowed(session: Session, *, now: datetime, rules: limits.Limits, config=None) -> int:
    """How many IVR calls may start now; defers due cases whose callee is at a limit.

    The due cases are the queue's (:func:`queue.due`), the one rule the agents'
    queue and the dialler share.
    """
    due_ids = session.exec(
        select(Case.id)
        .where(queue.due(session, now, config=config))
        .order_by(*queue.DUE_ORDER)
        .limit(DUE_WINDOW)
    ).all()
    hashes = dict(
        session.exec(
            select(Case.id, Client.phone_hash)
            .join(Client, Client.id == Case.client_id)
            .where(Case.id.in_(due_ids))
        ).all()
    )
    due_rows = [(case_id, hashes[case_id]) for case_id in due_ids]
    recent_rows = session.exec(
        select(Client.phone_hash, CallAttempt.started_at, CallAttempt.ended_at)
        .join(Case, Case.id == CallAttempt.case_id)
        .join(Client, Client.id == Case.client_id)
        .where(
            CallAttempt.channel == IVR,
            or_(CallAttempt.started_at > now - limits.DAY, CallAttempt.ended_at.is_(None)),
            # A call covering several units has one attempt per case: count the call once.
            or_(CallAttempt.call_group.is_(None), CallAttempt.call_group == CallAttempt.id),
        )
    ).all()
    recent = [limits.RecentCall(h, _aware(s), _aware(e) if e else None) for h, s, e in recent_rows]
    due = [limits.Due(case_id, phone_hash) for case_id, phone_hash in due_rows]
    plan = limits.plan(due, recent, now=now, limits=rules)
    for case_id, free_at in plan.deferred.items():
        session.execute(update(Case).where(Case.id == case_id).values(next_attempt_at=free_at))
    return len(plan.dial)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def dial_within_limits(
    session: Session,
    *,
    provider: Provider,
    rules: limits.Limits,
    limit: int | None = None,
    now: datetime | None = None,
    config: Mapping[str, Any] | None = None,
    **dial: Any,
) -> dialling.DialResult:
    """Dial as many due cases as the limits allow now (at most ``limit``).

    ``dial`` goes to :func:`dialling.dial_due_cases` (vault, webhook base,
    token key, checkpoint). Stale calls are expired even when no line is free.
    """
    now = now or utcnow()
    allowed = calls_allowed(session, now=now, rules=rules, config=config)
    if limit is not None:
        allowed = min(allowed, limit)
    return dialling.dial_due_cases(
        session, provider=provider, limit=allowed, now=now, config=config, **dial
    )
