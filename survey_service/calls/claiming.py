"""An agent's claim of the next due case, in as few statements as it takes.

The due rule is :func:`survey_service.calls.queue.due`, the order
:func:`survey_service.calls.ordering.offer_order`; this module only turns
them into the claim (``queue.claim_next_case`` calls it):

1. and 2. the open waves with their draws, in one query, which on PostgreSQL
   also locks the agent's row (``FOR UPDATE OF user_account``), so that one
   agent's two tabs claim one after the other;
3. the units' completes, for the order's gap to target and the units at
   their target (:func:`survey_service.calls.quotas.not_full_of`), in one
   query;
4. ``UPDATE survey_case ... WHERE id = (SELECT ... LIMIT 1) AND the agent
   holds no case RETURNING``: the claim. On PostgreSQL the inner SELECT
   locks its row with ``FOR UPDATE SKIP LOCKED`` (concurrent agents pass
   over each other's rows; a row changed meanwhile is re-checked against
   the due rule) among the first :data:`CANDIDATES` by the order, so that
   PostgreSQL sorts keeping only those (under the lock every due case would
   be sorted); should all of them be locked, the claim looks at every due
   case. SQLite runs one writer at a time;
5. a number sampled for several units is one call (:mod:`.joint`): no case
   is offered whose number has a case held, and the claimed case's other open
   cases of its number are claimed next, all or none; PostgreSQL takes a
   savepoint before step 4 to undo a claim whose number a concurrent claim
   took part of (:func:`_claim`);
6. only when nothing was claimed: the case the agent already holds.

The claim is the case's try: ``last_tried_at`` is the claim's time, which
the attempt opened next starts at.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, text, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from survey_service.calls import ordering, queue, quotas
from survey_service.models import Case, CaseStatus, SampleDraw, SurveyWave, User, WaveStatus

# How many of the first due cases a PostgreSQL claim looks at before locking one: more
# than the claims that can be in flight at once (gunicorn workers x threads).
CANDIDATES = 64
# How many candidates a claim tries when a concurrent claim took part of their number.
TRIES = 20
SAVEPOINT = "claim_number"

# Aliases made once: a new alias builds a proxy of each of the table's columns on first
# use, which cost more than the rest of the claim's statement building together.
_SIBLING = aliased(Case)
_HELD = aliased(Case)
_OTHER = aliased(Case)
# A candidate whose number has a case held by anyone (an agent or an IVR call).
_HELD_SIBLING = exists().where(
    _SIBLING.number_group == Case.number_group,
    _SIBLING.released,
    _SIBLING.status == CaseStatus.IN_PROGRESS,
)


def claim_next_case(
    session: Session, agent: User, *, now: datetime, config: Mapping[str, Any] | None = None
) -> Case | None:
    """See :func:`survey_service.calls.queue.claim_next_case`."""
    postgres = session.get_bind().dialect.name == "postgresql"
    waves, draws = _open_waves_and_draws(session, lock=agent.id if postgres else None)
    gaps = ordering.deficits(session, draws)
    quota = quotas.not_full_of(gaps)
    condition = and_(
        or_(
            queue.due(session, now, waves=waves, config=config, quota=quota),
            queue.own_appointment_soon(agent, now),
        ),
        quota,
        queue.for_agent(agent),
    )
    order = ordering.offer_order(session, waves, draws=draws, gaps=gaps)
    claimed = _claim(session, agent, condition, order, now)
    if claimed is not None:
        return claimed
    return queue.held_case(session, agent)


def _open_waves_and_draws(
    session: Session, *, lock: int | None = None
) -> tuple[list[SurveyWave], list[SampleDraw]]:
    """The open waves and their draws; ``lock``: the agent whose row the query locks.

    The lock (step 1 above) rides on this query: read committed gives the next
    statements, the claim among them, a snapshot taken after it, so a second
    tab sees the case the first one claimed. With no open wave nothing is
    locked, and nothing can be claimed either.
    """
    query = select(SurveyWave, SampleDraw)
    if lock is not None:
        query = (
            select(SurveyWave, SampleDraw, User.id)
            .select_from(User)
            .join(SurveyWave, SurveyWave.status == WaveStatus.OPEN)
            .where(User.id == lock)
            .with_for_update(of=User)
        )
    rows = session.exec(
        query.outerjoin(SampleDraw, SampleDraw.wave_id == SurveyWave.id)
        .where(SurveyWave.status == WaveStatus.OPEN)
        .order_by(SurveyWave.id, SampleDraw.id)
    ).all()
    waves = list({row[0].id: row[0] for row in rows}.values())
    return waves, [row[1] for row in rows if row[1] is not None]


def _claim(session: Session, agent: User, condition, order, now: datetime) -> Case | None:
    """Claim the first case by ``order`` that meets ``condition``, with its number's other cases.

    A number sampled for several units is one call (:mod:`survey_service.calls.joint`):
    a candidate whose number has a case held by anyone (an agent or an IVR
    call) is not offered, and the claimed case's other open cases of its number
    are claimed next, all or none (:func:`_claim_siblings`). Should one of them
    have been taken meanwhile (PostgreSQL: a concurrent claim's lock), the
    claim is rolled back to a savepoint taken before it and the next
    candidate, its number passed over, is tried. Returns the call's first
    unit (the lowest case id).
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        # Never released: the request's commit ends it (one statement, not two a claim).
        session.execute(text(f"SAVEPOINT {SAVEPOINT}"))
    condition = and_(condition, ~_HELD_SIBLING)
    passed: list[int] = []  # numbers a concurrent claim took part of
    for _ in range(TRIES):
        offered = condition
        if passed:
            offered = and_(
                condition, or_(Case.number_group.is_(None), Case.number_group.not_in(passed))
            )
        claimed = _claim_one(session, agent, offered, order, now)
        if claimed is None or claimed.number_group is None:
            return claimed
        call = _claim_siblings(session, claimed, agent_id=agent.id, now=now)
        if call is not None:
            return call[0]
        session.expire(claimed)
        if postgres:
            session.execute(text(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}"))
        else:  # cannot happen (one writer at a time); give the case back all the same
            session.execute(
                update(Case)
                .where(Case.id == claimed.id)
                .values(status=CaseStatus.PENDING, claimed_by=None, claimed_at=None)
            )
        passed.append(claimed.number_group)
    return None


def _claim_one(session: Session, agent: User, condition, order, now: datetime) -> Case | None:
    """Claim the first case by ``order`` that meets ``condition``: one UPDATE (see above)."""
    # correlate(None): the inner SELECTs read survey_case itself, not the UPDATE's row.
    candidate = select(Case.id).where(condition).order_by(*order).limit(1).correlate(None)
    tries = [candidate]
    if session.get_bind().dialect.name == "postgresql":
        first = select(Case.id).where(condition).order_by(*order).limit(CANDIDATES)
        among_first = candidate.where(Case.id.in_(first.correlate(None).scalar_subquery()))
        tries = [query.with_for_update(skip_locked=True) for query in (among_first, candidate)]
    holds_one = exists().where(_HELD.claimed_by == agent.id, _HELD.status == CaseStatus.IN_PROGRESS)
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


def _claim_siblings(
    session: Session, case: Case, *, agent_id: int, now: datetime
) -> list[Case] | None:
    """Claim the other open cases of ``case``'s number, as :func:`queue.claim_number` does.

    Returns the call's cases by id (``case`` among them), or None when any of
    them is held or, on PostgreSQL, locked by a concurrent claim (never waited
    for: ``SKIP LOCKED``, so two claims of one number cannot deadlock).
    """
    same = and_(
        Case.number_group == case.number_group,
        Case.id != case.id,
        Case.released,
        Case.status != CaseStatus.FINAL,
    )
    rows_query = select(Case.id, Case.status).where(same)
    if session.get_bind().dialect.name == "postgresql":
        total = session.exec(select(func.count(Case.id)).where(same)).one()
        rows = session.exec(rows_query.with_for_update(of=Case, skip_locked=True)).all()
        if len(rows) != total:
            return None
    else:
        rows = session.exec(rows_query).all()
    if any(status != CaseStatus.PENDING for _id, status in rows):
        return None
    ids = [case_id for case_id, _status in rows]
    others: list[Case] = []
    if ids:
        # One statement, all or none: no row is claimed while any of them was taken meanwhile.
        taken = exists().where(_OTHER.id.in_(ids), _OTHER.status != CaseStatus.PENDING)
        others = list(
            session.execute(
                update(Case)
                .where(Case.id.in_(ids), ~taken)
                .values(
                    status=CaseStatus.IN_PROGRESS,
                    claimed_by=agent_id,
                    claimed_at=now,
                    last_tried_at=now,
                )
                .returning(Case)
                .execution_options(synchronize_session=False, populate_existing=True)
            ).scalars()
        )
        if len(others) != len(ids):
            for each in others:
                session.expire(each)
            return None
    return sorted([case, *others], key=lambda each: each.id)
