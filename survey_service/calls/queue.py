"""The call queue: the one rule of which cases are due, and an agent's atomic claim.

:func:`due` is the due-case rule: released, pending, of an open wave, its
next attempt time reached, its client kind's allowed day-parts holding
"now" (the wave's calling rules, :mod:`survey_service.calls.rules`), its
number not on the do-not-call list, and its unit short of its target of
completes (:mod:`survey_service.calls.quotas`). The agent queue, the IVR dialler
and the waiting count on the agent page all filter with it (the IVR adds
its own limits on top: calls per case, no call in progress, no refusal
conversion). A soft refusal's case (``needs_senior``) goes only to a senior
agent (:func:`for_agent`).

On PostgreSQL the candidate row is locked with ``FOR UPDATE SKIP LOCKED``,
so concurrent agents pass over each other's rows; on every backend the
claim itself is a conditional UPDATE that only succeeds while the case is
still pending, so two agents can never hold the same case. A case whose
number was sampled for other units too is claimed with those cases, all or
none (:func:`claim_number`; one call covers them, :mod:`.joint`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, true, update
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, select

from survey_service.calls import quotas
from survey_service.calls.settings import KINDS, CallingSettings
from survey_service.errors import NotFound
from survey_service.models import (
    CallAttempt,
    Case,
    CaseStatus,
    Client,
    DoNotCall,
    SampleDraw,
    SurveyWave,
    User,
    WaveStatus,
    utcnow,
)

# The booking agent may take an appointment this long before its time.
APPOINTMENT_LEAD = timedelta(minutes=15)

# Draws of waves still taking answers: a closed wave's cases are never handed out.
OPEN_DRAWS = (
    select(SampleDraw.id)
    .join(SurveyWave, SurveyWave.id == SampleDraw.wave_id)
    .where(SurveyWave.status == WaveStatus.OPEN)
)
# The case's number is on the do-not-call list (a hard refusal, any wave).
ON_DO_NOT_CALL = exists().where(
    Client.id == Case.client_id, Client.phone_hash == DoNotCall.phone_hash
)

# Made once: a new alias builds a proxy of every column of the table on first use.
_OTHER = aliased(Case)

# The order the IVR dials due cases in: booked times first, fewer attempts, the sample's
# order (the agents' queue has its own, :mod:`survey_service.calls.ordering`).
DUE_ORDER = (
    Case.next_attempt_at.is_(None),
    Case.next_attempt_at,
    Case.attempts,
    Case.replicate,
    Case.id,
)


def _kind_is(kinds: frozenset[str | None]) -> ColumnElement[bool]:
    """Clients of these kinds (None: a kind not given, or not one the rules know)."""
    named = [k for k in kinds if k is not None]
    condition = Client.kind.in_(named)
    if None in kinds:
        known = [k for k in KINDS if k is not None]
        condition = or_(condition, Client.kind.is_(None), Client.kind.not_in(known))
    return condition


def due(
    session: Session,
    now: datetime,
    *,
    wave: SurveyWave | None = None,
    waves: list[SurveyWave] | None = None,
    config: Mapping[str, Any] | None = None,
    quota: ColumnElement[bool] | None = None,
) -> ColumnElement[bool]:
    """The due-case rule as one SQL condition on :class:`Case`.

    Every open wave's cases, or only ``wave``'s (if it is open), or those of
    ``waves`` (the open waves, already loaded), each wave under its own
    calling settings (``config`` gives the app's ``TIMEZONE``).
    ``quota`` is :func:`quotas.not_full` of these waves when the caller has it.
    """
    if wave is not None:
        waves = [wave]
    elif waves is None:
        waves = _open_waves(session)
    per_wave = []
    for each in waves:
        if each.status != WaveStatus.OPEN:
            continue
        kinds = CallingSettings.for_wave(each, config).kinds_open(now)
        if not kinds:
            continue
        draws = select(SampleDraw.id).where(SampleDraw.wave_id == each.id)
        condition = Case.draw_id.in_(draws)
        if set(kinds) != set(KINDS):
            condition = and_(
                condition,
                exists().where(Client.id == Case.client_id, _kind_is(kinds)),
            )
        per_wave.append(condition)
    if not per_wave:
        return false()
    return and_(
        Case.released,
        Case.status == CaseStatus.PENDING,
        or_(*per_wave),
        or_(Case.next_attempt_at.is_(None), Case.next_attempt_at <= now),
        ~ON_DO_NOT_CALL,
        quota
        if quota is not None
        else quotas.not_full(session, [w for w in waves if w.status == WaveStatus.OPEN]),
    )


def for_agent(agent: User | None) -> ColumnElement[bool]:
    """Cases this agent may take: refusal conversions (``needs_senior``) only if senior."""
    if agent is not None and agent.senior:
        return true()
    return ~Case.needs_senior


def own_appointment_soon(agent: User, now: datetime) -> ColumnElement[bool]:
    """Cases the agent booked for the next few minutes: theirs before anyone else's."""
    booked_by_agent = exists().where(
        CallAttempt.case_id == Case.id,
        CallAttempt.agent_id == agent.id,
        CallAttempt.appointment_at == Case.next_attempt_at,
    )
    return and_(
        Case.released,
        Case.status == CaseStatus.PENDING,
        Case.draw_id.in_(OPEN_DRAWS),
        Case.next_attempt_at > now,
        Case.next_attempt_at <= now + APPOINTMENT_LEAD,
        booked_by_agent,
        ~ON_DO_NOT_CALL,
    )


def _open_waves(session: Session) -> list[SurveyWave]:
    return session.exec(
        select(SurveyWave).where(SurveyWave.status == WaveStatus.OPEN).order_by(SurveyWave.id)
    ).all()


def waiting_count(
    session: Session,
    *,
    now: datetime | None = None,
    config: Mapping[str, Any] | None = None,
    agent: User | None = None,
) -> int:
    """How many cases are due now (what the agent page shows as waiting, for ``agent``)."""
    condition = and_(due(session, now or utcnow(), config=config), for_agent(agent))
    return session.exec(select(func.count(Case.id)).where(condition)).one()


def held_case(session: Session, agent: User) -> Case | None:
    """Return the case the agent holds, if any (one case per agent at a time).

    A case of a closed wave is never held (closing releases them; one left over
    from before is ignored), so an agent is never sent back to a frozen case.
    """
    return session.exec(
        select(Case)
        .where(
            Case.claimed_by == agent.id,
            Case.status == CaseStatus.IN_PROGRESS,
            Case.draw_id.in_(OPEN_DRAWS),
        )
        .order_by(Case.id)  # a call covering several units goes through them in this order
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
    session: Session,
    agent: User,
    *,
    now: datetime | None = None,
    config: Mapping[str, Any] | None = None,
) -> Case | None:
    """Give the agent the next due case, or the one it already holds; None if none is due.

    Order: :func:`survey_service.calls.ordering.offer_order` (due
    appointments, the unit furthest from its target, least recently tried,
    seeded ties); the agent's own appointments from 15 minutes before their
    time. Refusal conversions only to senior agents. One agent's concurrent
    requests (two tabs) are serialised on the agent's row, so the second gets
    the case the first claimed. The claim itself is one statement
    (:mod:`survey_service.calls.claiming`); the number's other open cases in
    the wave are claimed with it, all or none (as :func:`claim_number`), the
    case returned is the call's first unit, and a number held by someone
    else is passed over.
    """
    from survey_service.calls import claiming

    return claiming.claim_next_case(session, agent, now=now or utcnow(), config=config)


def _number_group(session: Session, case_id: int) -> int | None:
    return session.exec(select(Case.number_group).where(Case.id == case_id)).first()


def number_cases(session: Session, case_id: int) -> ColumnElement[bool]:
    """The open cases of the wave drawn with the same number as ``case_id`` (it included).

    Same number means the same lookup hash, linked at the draw as
    ``Case.number_group`` (:mod:`survey_service.sample.shared_numbers`); open
    means released and not final. One call covers them all (:func:`claim_number`).
    """
    group = _number_group(session, case_id)
    same = Case.id == case_id if group is None else Case.number_group == group
    return and_(same, Case.released, Case.status != CaseStatus.FINAL)


def claim_number(
    session: Session, case_id: int, *, agent_id: int | None, now: datetime
) -> list[int]:
    """Claim ``case_id`` with every other open case of its number in its wave: all or none.

    Returns the claimed case ids in the order the call goes through them (by
    id), or ``[]`` when any of them is held already (by an agent or an IVR
    call) or, on PostgreSQL, locked by a concurrent claim: then the number is
    left to whoever holds it. ``agent_id`` None is the IVR's claim. The rows
    are locked with ``SKIP LOCKED`` (never waited for), so two claims of one
    number cannot deadlock; SQLite has one writer at a time. A number drawn
    once costs one indexed read more than a lone conditional UPDATE.
    """
    claim = {"status": CaseStatus.IN_PROGRESS, "claimed_by": agent_id, "claimed_at": now}
    group = _number_group(session, case_id)
    if group is None:
        result = session.execute(
            update(Case)
            .where(Case.id == case_id, Case.status == CaseStatus.PENDING)
            .values(claim)
            .execution_options(synchronize_session=False)
        )
        return _claimed(session, [case_id], claim) if result.rowcount == 1 else []
    same = and_(Case.number_group == group, Case.released, Case.status != CaseStatus.FINAL)
    if session.get_bind().dialect.name == "postgresql":
        total = session.exec(select(func.count(Case.id)).where(same)).one()
        rows = session.exec(
            select(Case.id, Case.status).where(same).with_for_update(of=Case, skip_locked=True)
        ).all()
        if len(rows) != total:
            return []
    else:
        rows = session.exec(select(Case.id, Case.status).where(same)).all()
    ids = sorted(case for case, _status in rows)
    if case_id not in ids or any(status != CaseStatus.PENDING for _case, status in rows):
        return []
    # One statement, all or none: no row is claimed while any of them was taken meanwhile.
    taken = exists().where(_OTHER.id.in_(ids), _OTHER.status != CaseStatus.PENDING)
    result = session.execute(
        update(Case)
        .where(Case.id.in_(ids), ~taken)
        .values(claim)
        .execution_options(synchronize_session=False)
    )
    return _claimed(session, ids, claim) if result.rowcount == len(ids) else []


def _claimed(session: Session, ids: list[int], claim: dict) -> list[int]:
    """Give the claimed cases the session holds the claim as stored; return ``ids``.

    The UPDATEs above do not synchronise the session (that would scan every
    object in it, per claim: quadratic over a dialling round); only these
    rows changed, so they are set here, without another statement.
    """
    for case_id in ids:
        case = session.identity_map.get(identity_key(Case, case_id))
        if case is not None:
            for name, value in claim.items():
                set_committed_value(case, name, value)
    return ids


def get_held_case(session: Session, case_id: int, agent: User) -> Case:
    """Load a case the agent holds.

    :raise NotFound: if the case does not exist or the agent does not hold it.
    """
    case = session.get(Case, case_id)
    if case is None or case.claimed_by != agent.id or case.status != CaseStatus.IN_PROGRESS:
        raise NotFound("该样本不存在或不在您名下")
    return case
