"""An agent's claim of the next due case, in as few statements as it takes.

The due rule is :func:`survey_service.calls.queue.due`, the order
:func:`survey_service.calls.ordering.offer_order`; this module only turns
them into the claim (``queue.claim_next_case`` calls it):

1. on PostgreSQL, lock the agent's row (``SELECT ... FOR UPDATE``), so that
   one agent's two tabs claim one after the other;
2. the open waves with their draws, in one query;
3. the units at their target (:func:`survey_service.calls.quotas.not_full`)
   and the units' completes (for the order's gap to target);
4. ``UPDATE survey_case ... WHERE id = (SELECT ... LIMIT 1) AND the agent
   holds no case RETURNING``: the claim. On PostgreSQL the inner SELECT
   locks its row with ``FOR UPDATE SKIP LOCKED`` (concurrent agents pass
   over each other's rows; a row changed meanwhile is re-checked against
   the due rule) among the first :data:`CANDIDATES` by the order, so that
   PostgreSQL sorts keeping only those (under the lock every due case would
   be sorted); should all of them be locked, the claim looks at every due
   case. SQLite runs one writer at a time;
5. only when nothing was claimed: the case the agent already holds.

The claim is the case's try: ``last_tried_at`` is the claim's time, which
the attempt opened next starts at.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from survey_service.calls import ordering, queue, quotas
from survey_service.models import Case, CaseStatus, SampleDraw, SurveyWave, User, WaveStatus

# How many of the first due cases a PostgreSQL claim looks at before locking one: more
# than the claims that can be in flight at once (gunicorn workers x threads).
CANDIDATES = 64


def claim_next_case(
    session: Session, agent: User, *, now: datetime, config: Mapping[str, Any] | None = None
) -> Case | None:
    """See :func:`survey_service.calls.queue.claim_next_case`."""
    if session.get_bind().dialect.name == "postgresql":
        # A statement of its own: read committed gives the next statements a snapshot
        # taken after the lock, so a second tab sees the case the first one claimed.
        session.exec(select(User.id).where(User.id == agent.id).with_for_update()).one()
    waves, draws = _open_waves_and_draws(session)
    quota = quotas.not_full(session, waves)
    condition = and_(
        or_(
            queue.due(session, now, waves=waves, config=config, quota=quota),
            queue.own_appointment_soon(agent, now),
        ),
        quota,
        queue.for_agent(agent),
    )
    order = ordering.offer_order(session, waves, draws=draws)
    claimed = _claim(session, agent, condition, order, now)
    if claimed is not None:
        return claimed
    return queue.held_case(session, agent)


def _open_waves_and_draws(session: Session) -> tuple[list[SurveyWave], list[SampleDraw]]:
    rows = session.exec(
        select(SurveyWave, SampleDraw)
        .outerjoin(SampleDraw, SampleDraw.wave_id == SurveyWave.id)
        .where(SurveyWave.status == WaveStatus.OPEN)
        .order_by(SurveyWave.id, SampleDraw.id)
    ).all()
    waves = list({wave.id: wave for wave, _draw in rows}.values())
    return waves, [draw for _wave, draw in rows if draw is not None]


def _claim(session: Session, agent: User, condition, order, now: datetime) -> Case | None:
    """Claim the first case by ``order`` that meets ``condition``: one UPDATE (see above)."""
    # correlate(None): the inner SELECTs read survey_case itself, not the UPDATE's row.
    candidate = select(Case.id).where(condition).order_by(*order).limit(1).correlate(None)
    tries = [candidate]
    if session.get_bind().dialect.name == "postgresql":
        first = select(Case.id).where(condition).order_by(*order).limit(CANDIDATES)
        among_first = candidate.where(Case.id.in_(first.correlate(None).scalar_subquery()))
        tries = [query.with_for_update(skip_locked=True) for query in (among_first, candidate)]
    held = aliased(Case)
    holds_one = exists().where(held.claimed_by == agent.id, held.status == CaseStatus.IN_PROGRESS)
    for query in tries:
        claimed = session.execute(
            update(Case)
            .where(
                Case.id == query.scalar_subquery(),
                Case.status == CaseStatus.PENDING,
                ~holds_one,  # one case per agent: the held one is returned instead
            )
            .values(
                status=CaseStatus.IN_PROGRESS,
                claimed_by=agent.id,
                claimed_at=now,
                last_tried_at=now,
            )
            .returning(Case)
            .execution_options(synchronize_session=False, populate_existing=True)
        ).scalar_one_or_none()
        if claimed is not None:
            return claimed
    return None
