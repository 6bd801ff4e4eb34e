"""The call queue: the one rule of which cases are due, and an agent's atomic claim.

:func:`due` is the due-case rule: released, pending, of an open wave, and
its next attempt time reached. The agent queue, the IVR dialler and the
waiting count on the agent page all filter with it (the IVR adds its own
limits on top: calls per case, no call in progress, the calling windows).

On PostgreSQL the candidate row is locked with ``FOR UPDATE SKIP LOCKED``,
so concurrent agents pass over each other's rows; on every backend the
claim itself is a conditional UPDATE that only succeeds while the case is
still pending, so two agents can never hold the same case.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, update
from sqlmodel import Session, select

from survey_service.errors import NotFound
from survey_service.models import Case, CaseStatus, SampleDraw, SurveyWave, User, WaveStatus, utcnow

# Draws of waves still taking answers: a closed wave's cases are never handed out.
OPEN_DRAWS = (
    select(SampleDraw.id)
    .join(SurveyWave, SurveyWave.id == SampleDraw.wave_id)
    .where(SurveyWave.status == WaveStatus.OPEN)
)

# The order due cases are offered in: booked times first, fewer attempts, the sample's order.
DUE_ORDER = (
    Case.next_attempt_at.is_(None),
    Case.next_attempt_at,
    Case.attempts,
    Case.replicate,
    Case.id,
)


def due(now: datetime, *, draws=OPEN_DRAWS) -> ColumnElement[bool]:
    """The due-case rule as one SQL condition on :class:`Case`.

    ``draws`` narrows it to the draws of some open waves (a subquery of draw
    ids); by default every open wave's draws.
    """
    return and_(
        Case.released,
        Case.status == CaseStatus.PENDING,
        Case.draw_id.in_(draws),
        or_(Case.next_attempt_at.is_(None), Case.next_attempt_at <= now),
    )


def waiting_count(session: Session, *, now: datetime | None = None) -> int:
    """How many cases are due now (what the agent page shows as waiting)."""
    return session.exec(select(func.count(Case.id)).where(due(now or utcnow()))).one()


def held_case(session: Session, agent: User) -> Case | None:
    """Return the case the agent holds, if any (one case per agent at a time)."""
    return session.exec(
        select(Case).where(Case.claimed_by == agent.id, Case.status == CaseStatus.IN_PROGRESS)
    ).first()


def release_stale_claims(
    session: Session, *, idle_minutes: int, now: datetime | None = None
) -> int:
    """Put cases back in the queue whose agent has been idle too long; return how many."""
    now = now or utcnow()
    result = session.execute(
        update(Case)
        .where(
            Case.status == CaseStatus.IN_PROGRESS,
            Case.claimed_at < now - timedelta(minutes=idle_minutes),
            Case.draw_id.in_(OPEN_DRAWS),  # a closed wave's cases are frozen
        )
        .values(status=CaseStatus.PENDING, claimed_by=None, claimed_at=None)
    )
    return result.rowcount or 0


def claim_next_case(
    session: Session, agent: User, *, now: datetime | None = None, tries: int = 20
) -> Case | None:
    """Give the agent the next due case, or the one it already holds; None if none is due.

    Order: booked callbacks that are due first, then cases with fewer
    attempts, then the sample's order.
    """
    held = held_case(session, agent)
    if held is not None:
        return held
    now = now or utcnow()
    postgres = session.get_bind().dialect.name == "postgresql"
    for _ in range(tries):
        query = select(Case.id).where(due(now)).order_by(*DUE_ORDER).limit(1)
        if postgres:
            query = query.with_for_update(skip_locked=True)
        candidate = session.exec(query).first()
        if candidate is None:
            return None
        result = session.execute(
            update(Case)
            .where(Case.id == candidate, Case.status == CaseStatus.PENDING)
            .values(status=CaseStatus.IN_PROGRESS, claimed_by=agent.id, claimed_at=now)
        )
        if result.rowcount == 1:
            case = session.get(Case, candidate)
            session.refresh(case)
            return case
    return None


def get_held_case(session: Session, case_id: int, agent: User) -> Case:
    """Load a case the agent holds.

    :raise NotFound: if the case does not exist or the agent does not hold it.
    """
    case = session.get(Case, case_id)
    if case is None or case.claimed_by != agent.id or case.status != CaseStatus.IN_PROGRESS:
        raise NotFound("该样本不存在或不在您名下")
    return case
