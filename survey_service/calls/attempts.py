"""Call attempts and dispositions: from each attempt's outcome to the case's final one.

Rules (queXS, BRFSS; AAPOR 2016): a final outcome ends the case and beats
later calls; eligibility once learned is never lost; after a no-answer,
busy or similar temporary outcome the case is redialled after the wave's
``redial_gap_minutes``; at the wave's ``max_attempts`` (both in
:mod:`survey_service.calls.settings`) a case that was ever eligible ends
as an eligible non-interview (2.21), otherwise with its last unknown-
eligibility outcome.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from survey_service import audit
from survey_service.calls import settings as calling_settings
from survey_service.calls.settings import CallingSettings
from survey_service.dispositions import BREAK_OFF, NEVER_AVAILABLE, PARTIAL
from survey_service.errors import Conflict, ServiceError, Where
from survey_service.models import (
    DISPOSITIONS,
    FINAL_ON_FIRST,
    CallAttempt,
    Case,
    CaseStatus,
    User,
    utcnow,
)

ELIGIBLE_GROUPS = {"I", "P", "R", "NC", "O"}
FINAL_OUTCOMES = FINAL_ON_FIRST | {PARTIAL, BREAK_OFF}


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
    session.flush()
    return attempt


def record_outcome(
    session: Session,
    case: Case,
    attempt: CallAttempt,
    outcome: str,
    *,
    actor: User | None,
    note: str | None = None,
    now: datetime | None = None,
    calling: CallingSettings | None = None,
) -> Case:
    """Close ``attempt`` with ``outcome`` and move the case on (release, redial or final).

    ``calling`` are the wave's calling settings (loaded from the case's wave
    when not given).

    :raise ServiceError: if ``outcome`` is not an AAPOR code this service knows.
    :raise Conflict: if the case is already final or the attempt already closed.
    """
    if outcome not in DISPOSITIONS:
        raise ServiceError(f"未知的结果代码 {outcome!r}", where=Where(field="outcome"))
    if case.status == CaseStatus.FINAL:
        raise Conflict("该样本已有最终结果")
    if attempt.ended_at is not None:
        raise Conflict("该次拨打已结束")
    now = now or utcnow()
    calling = calling or calling_settings.for_case(session, case)
    attempt.outcome = outcome
    attempt.ended_at = now
    attempt.note = (note or "").strip() or None
    session.add(attempt)
    case.attempts += 1
    group = DISPOSITIONS[outcome][0]
    if group in ELIGIBLE_GROUPS:
        case.ever_eligible = True
    final = None
    if outcome in FINAL_OUTCOMES:
        final = outcome
    elif case.attempts >= calling.max_attempts:
        final = outcome if group in ELIGIBLE_GROUPS or not case.ever_eligible else NEVER_AVAILABLE
    case.claimed_by = None
    case.claimed_at = None
    if final is not None:
        case.status = CaseStatus.FINAL
        case.disposition = final
        case.finalized_at = now
        case.next_attempt_at = None
    else:
        case.status = CaseStatus.PENDING
        case.next_attempt_at = now + timedelta(minutes=calling.redial_gap_minutes)
    session.add(case)
    audit.record(
        session,
        user=actor,
        action="case.outcome",
        object_type="case",
        object_id=case.id,
        outcome=outcome,
        final=final,
    )
    return case
