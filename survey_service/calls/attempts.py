"""Call attempts and dispositions: from each attempt's outcome to the case's next step.

The rules themselves are :mod:`survey_service.calls.rules` (pure): this
module feeds them the case's attempts and applies the plan they return: a
final disposition, or the next attempt's time; the senior-agent flag after
a soft refusal; the number on the do-not-call list after a hard one.
Eligibility once learned is kept on the case (``ever_eligible``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import exists
from sqlmodel import Session, select

from survey_service import audit
from survey_service.calls import rules
from survey_service.calls import settings as calling_settings
from survey_service.calls.settings import Calling
from survey_service.dispositions import REFUSAL
from survey_service.errors import Conflict, ServiceError, Where
from survey_service.models import (
    DISPOSITIONS,
    CallAttempt,
    Case,
    CaseStatus,
    Client,
    DoNotCall,
    User,
    utcnow,
)


def start_attempt(
    session: Session,
    case: Case,
    *,
    agent: User | None,
    channel: str = "agent",
    now: datetime | None = None,
) -> CallAttempt:
    """Open a call attempt on a case (or return the agent's open one)."""
    if case.status == CaseStatus.FINAL:
        raise Conflict("该样本已有最终结果，不能再拨打")
    # Only this channel's and this agent's open attempt: an IVR call in progress
    # (or another agent's) is never handed over.
    owner = CallAttempt.agent_id == agent.id if agent else CallAttempt.agent_id.is_(None)
    open_attempt = session.exec(
        select(CallAttempt).where(
            CallAttempt.case_id == case.id,
            CallAttempt.ended_at.is_(None),
            CallAttempt.channel == channel,
            owner,
        )
    ).first()
    if open_attempt is not None:
        return open_attempt
    attempt = CallAttempt(
        case_id=case.id,
        agent_id=agent.id if agent else None,
        channel=channel,
        started_at=now or utcnow(),
    )
    session.add(attempt)
    if case.last_tried_at is None or case.last_tried_at < attempt.started_at:
        case.last_tried_at = attempt.started_at  # the queue's "least recently tried"
        session.add(case)
    session.flush()
    return attempt


def _history(
    session: Session,
    case: Case,
    current: rules.Attempt,
    attempt_id,
    earlier: list[CallAttempt] | None = None,
) -> list:
    """The case's closed attempts and the current one, as the rules see them, oldest first.

    ``earlier``: the case's attempts as the caller read them this request (any state).
    """
    if earlier is not None:
        rows = [row for row in earlier if row.outcome is not None and row.id != attempt_id]
    else:
        rows = session.exec(
            select(CallAttempt).where(
                CallAttempt.case_id == case.id,
                CallAttempt.outcome.is_not(None),
                CallAttempt.id != attempt_id,
            )
        ).all()
    dated = [
        (
            (row.started_at, row.id),
            rules.Attempt(row.started_at, row.outcome, row.refusal, row.appointment_at),
        )
        for row in rows
    ]
    dated.append(((current.at, attempt_id), current))
    return [attempt for _key, attempt in sorted(dated, key=lambda pair: pair[0])]


def put_on_do_not_call(session: Session, client: Client, *, case: Case, reason: str) -> None:
    """Put the client's number (its lookup hash) on the do-not-call list, once."""
    listed = session.exec(select(exists().where(DoNotCall.phone_hash == client.phone_hash))).one()
    if not listed:
        session.add(DoNotCall(phone_hash=client.phone_hash, case_id=case.id, reason=reason))


def record_outcome(
    session: Session,
    case: Case,
    attempt: CallAttempt,
    outcome: str,
    *,
    actor: User | None,
    note: str | None = None,
    now: datetime | None = None,
    calling: Calling = None,
    refusal: str | None = None,
    appointment_at: datetime | None = None,
    earlier: list[CallAttempt] | None = None,
) -> Case:
    """Close ``attempt`` with ``outcome`` and move the case on by the calling rules.

    ``refusal`` is ``"soft"`` or ``"hard"`` for a 2.11 (unspecified: hard);
    ``appointment_at`` the booked time of a 2.21. ``calling`` are the wave's
    calling settings, or a function that builds them (loaded from the case's wave when
    not given).
    ``earlier``: every attempt of the case, if the caller has just read them
    (:func:`survey_service.calls.joint.attempts_of`), so they are not read again.

    :raise ServiceError: if ``outcome`` is not an AAPOR code this service knows,
        or the rules refuse the attempt (an appointment outside the day-parts).
    :raise Conflict: if the case is already final or the attempt already closed.
    """
    if outcome not in DISPOSITIONS:
        raise ServiceError(f"未知的结果代码 {outcome!r}", where=Where(field="通话结果"))
    if case.status == CaseStatus.FINAL:
        raise Conflict("该样本已有最终结果")
    if attempt.ended_at is not None:
        raise Conflict("该次拨打已结束")
    now = now or utcnow()
    calling = calling_settings.settle(calling) or calling_settings.for_case(session, case)
    client = session.get(Client, case.client_id)
    if outcome == REFUSAL:
        refusal = refusal or rules.HARD
    current = rules.Attempt(attempt.started_at, outcome, refusal, appointment_at)
    try:
        plan = rules.plan(
            _history(session, case, current, attempt.id, earlier),
            calling.rules_for(client.kind),
            now=now,
        )
    except rules.RuleError as exc:
        field = "预约时间" if appointment_at is not None else "通话结果"
        raise ServiceError(exc.message, where=Where(field=field)) from exc
    attempt.outcome = outcome
    attempt.refusal = refusal if outcome == REFUSAL else None
    attempt.appointment_at = appointment_at
    attempt.ended_at = now
    attempt.note = (note or "").strip() or None
    session.add(attempt)
    case.attempts += 1
    if DISPOSITIONS[outcome][0] in rules.ELIGIBLE_GROUPS:
        case.ever_eligible = True
    case.claimed_by = None
    case.claimed_at = None
    case.needs_senior = plan.needs_senior
    case.booked_at = None
    if plan.final is not None:
        case.status = CaseStatus.FINAL
        case.disposition = plan.final
        case.finalized_at = now
        case.next_attempt_at = None
    else:
        case.status = CaseStatus.PENDING
        case.next_attempt_at = plan.next_at.astimezone(UTC)
        if appointment_at is not None:
            case.booked_at = case.next_attempt_at  # the queue offers it first from then on
    if plan.do_not_call:
        put_on_do_not_call(session, client, case=case, reason=outcome)
    session.add(case)
    audit.record(
        session,
        user=actor,
        action="case.outcome",
        object_type="case",
        object_id=case.id,
        outcome=outcome,
        final=plan.final,
    )
    return case
