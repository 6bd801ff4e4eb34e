"""One call for a number sampled for several units: each unit in turn, one attempt per case.

The same person may be in the samples of two units (served by both). The
queue claims all of the wave's open cases of that number together
(:func:`survey_service.calls.queue.claim_number`), so no other agent or IVR
call holds any of them, and the call gets **one attempt per case**, linked
by ``CallAttempt.call_group`` (the id of the call's first attempt); a
unit's attempt starts when the call reaches that unit. Each
case keeps its own attempts, answers and AAPOR disposition, and the calling
rules (:mod:`survey_service.calls.rules`) move each case on from its own
history: a joint call counts as one attempt of every case it covers.

The script runs once per unit, in case-id order. How a unit's part of the
call ends decides the rest:

- a complete (1.1) or a screen-out (4.70): the call goes on to the next unit;
- any other outcome (no answer, busy, refusal, wrong number, a callback
  booked, "not now", a technical problem) ends the call, and the same outcome
  (with the same refusal kind or appointment) is recorded for every unit not
  yet reached: so an outcome before the first unit's interview applies to
  every case the call covers;
- a hang-up: the unit being interviewed gets what its answers make it
  (1.2 partial or 2.12 break-off), every later unit the answered-call rule on
  its own answers (nothing answered: 3.90, temporary, called again by the
  rules); the units completed earlier keep their interviews.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, select

import call_scripts
from survey_service import dispositions as aapor
from survey_service.calls import attempts as calling_attempts
from survey_service.calls import interviews
from survey_service.calls import ivr as ivr_calls
from survey_service.calls.settings import Calling
from survey_service.models import Answer, CallAttempt, Case, CaseStatus, Unit, User, utcnow

# A unit's part of the call that ends with one of these lets the call go on to the next unit.
CONTINUES = (aapor.COMPLETE, aapor.SCREENED_OUT)


def open_attempts(
    session: Session,
    case_ids: list[int],
    *,
    agent: User | None,
    channel: str = call_scripts.AGENT,
    now: datetime | None = None,
) -> list[CallAttempt]:
    """Open (or find the open) attempt of each claimed case and link them as one call."""
    attempts = [
        calling_attempts.start_attempt(
            session, session.get(Case, case_id), agent=agent, channel=channel, now=now
        )
        for case_id in sorted(case_ids)
    ]
    if len(attempts) > 1:
        for attempt in attempts:
            attempt.call_group = attempts[0].id
            session.add(attempt)
        session.flush()
    return attempts


def held_ids(session: Session, agent: User) -> list[int]:
    """The cases the agent holds, in the order the call goes through them."""
    return list(
        session.exec(
            select(Case.id)
            .where(Case.claimed_by == agent.id, Case.status == CaseStatus.IN_PROGRESS)
            .order_by(Case.id)
        ).all()
    )


def members(session: Session, attempt: CallAttempt) -> list[tuple[Case, CallAttempt]]:
    """Every (case, attempt) of the call ``attempt`` belongs to, in the call's order."""
    if attempt.call_group is None:
        return [(session.get(Case, attempt.case_id), attempt)]
    rows = session.exec(
        select(CallAttempt)
        .where(CallAttempt.call_group == attempt.call_group)
        .order_by(CallAttempt.case_id)
    ).all()
    return [(session.get(Case, row.case_id), row) for row in rows]


def open_attempt(session: Session, case: Case, agent: User) -> CallAttempt | None:
    """The agent's open attempt of ``case``, if any (nothing is created)."""
    return session.exec(
        select(CallAttempt).where(
            CallAttempt.case_id == case.id,
            CallAttempt.agent_id == agent.id,
            CallAttempt.ended_at.is_(None),
        )
    ).first()


def attempts_of(
    session: Session, case: Case, agent: User
) -> tuple[CallAttempt | None, list[CallAttempt]]:
    """The agent's open attempt of ``case`` (as :func:`open_attempt`) and every attempt of
    the case, in one query: recording an outcome reads both (the calling rules go by the
    case's earlier attempts)."""
    rows = session.exec(
        select(CallAttempt).where(CallAttempt.case_id == case.id).order_by(CallAttempt.id)
    ).all()
    mine = (row for row in rows if row.agent_id == agent.id and row.ended_at is None)
    return next(mine, None), list(rows)


def position(session: Session, case: Case, attempt: CallAttempt | None) -> tuple[int, int]:
    """``(k, n)``: the case is the k-th of the n units this call covers (1, 1 alone)."""
    if attempt is None:
        return 1, 1
    ids = [member.id for member, _attempt in members(session, attempt)]
    return ids.index(case.id) + 1, len(ids)


def units(session: Session, attempt: CallAttempt | None) -> list[tuple[str, str | None]]:
    """The call's units in order as (unit name, disposition so far or None)."""
    if attempt is None:
        return []
    shown = []
    for case, _attempt in members(session, attempt):
        unit = session.get(Unit, case.unit_id)
        shown.append((unit.name, case.disposition if case.status == CaseStatus.FINAL else None))
    return shown


def _still_open(case: Case, attempt: CallAttempt) -> bool:
    return attempt.ended_at is None and case.status != CaseStatus.FINAL


def later(session: Session, attempt: CallAttempt) -> list[tuple[Case, CallAttempt]]:
    """The call's units after ``attempt``'s whose attempt is still open, in order."""
    group = members(session, attempt)
    index = [row.id for _case, row in group].index(attempt.id)
    return [(case, row) for case, row in group[index + 1 :] if _still_open(case, row)]


def current(session: Session, attempt: CallAttempt) -> tuple[Case, CallAttempt] | None:
    """The unit the call is at now: the first one whose attempt is open; None when all ended."""
    for case, row in members(session, attempt):
        if _still_open(case, row):
            return case, row
    return None


def hung_up_outcome(session: Session, case: Case, channel: str) -> str:
    """The outcome of a unit the respondent hung up on, from its own answers.

    1.2 partial or 2.12 break-off when the engine says so; consent/screening
    only: 2.21 (answers dropped, the next call starts with the introduction);
    nothing: 3.90. The same rule as an answered IVR call's (:mod:`.ivr`).
    """
    state = interviews.state(session, case, channel)
    if state.status == call_scripts.PARTIAL:
        return aapor.PARTIAL
    if call_scripts.has_substantive_answer(state.script, state.answers):
        return aapor.BREAK_OFF
    session.execute(delete(Answer).where(Answer.case_id == case.id))
    return aapor.NEVER_AVAILABLE if state.answers else aapor.OTHER_UNKNOWN


def after_unit(
    session: Session,
    case: Case,
    attempt: CallAttempt,
    *,
    actor: User | None,
    calling: Calling = None,
    hung_up: bool = False,
    channel: str = call_scripts.AGENT,
) -> Case | None:
    """After ``case``'s part of the call ended: the next unit's case, or None (the call is over).

    A complete or a screen-out goes on to the next unit still open. Any other
    ending is recorded for every later unit too (the same outcome, refusal
    kind and appointment; after a hang-up each unit's :func:`hung_up_outcome`).
    """
    if attempt.ended_at is None:
        return None
    rest = later(session, attempt)
    if not rest:
        return None
    if attempt.outcome in CONTINUES and not hung_up:
        # The call goes on: the rest is not idle (the idle-claim release counts from here).
        moment = utcnow()
        for other, _row in rest:
            if other.status == CaseStatus.IN_PROGRESS:
                other.claimed_at = moment
                session.add(other)
        # The next unit's interview starts now: its attempt's length is its own (paradata,
        # the quality review's short-interview flag), not the earlier units' too.
        rest[0][1].started_at = moment
        session.add(rest[0][1])
        return rest[0][0]
    for other, row in rest:
        outcome = hung_up_outcome(session, other, channel) if hung_up else attempt.outcome
        same = outcome == attempt.outcome
        calling_attempts.record_outcome(
            session,
            other,
            row,
            outcome,
            actor=actor,
            note=attempt.note,
            calling=calling,
            refusal=attempt.refusal if same else None,
            appointment_at=attempt.appointment_at if same else None,
        )
    return None


def unit_notice(session: Session, case: Case, attempt: CallAttempt) -> str | None:
    """What the IVR says before a unit's first item in a call covering several units."""
    k, n = position(session, case, attempt)
    if n == 1:
        return None
    if k == 1:
        return f"本次回访涉及{n}个单位，先请您评价第1个单位：{{unit_name}}。"
    return f"下面请您评价第{k}个单位（共{n}个）：{{unit_name}}。"


def key_press(
    session: Session,
    attempt: CallAttempt,
    item_id: str,
    digits: str | None,
    *,
    try_no: int = 0,
    calling: Calling = None,
) -> interviews.IvrTurn:
    """:func:`interviews.key_press` for the unit the call ``attempt`` starts is at.

    When that unit's script ends in a complete or a screen-out the turn reads
    the next unit's first item, the unit named; any other end closes the
    rest of the call (:func:`after_unit`).
    """
    at = current(session, attempt)
    if at is None:
        case = session.get(Case, attempt.case_id)
        return interviews.key_press(
            session, case, attempt, item_id, digits, try_no=try_no, calling=calling
        )
    case, row = at
    if resent_to_previous_unit(session, case, row, item_id, digits):
        # The previous unit's last key again (a resent webhook): the same reply as then.
        return interviews.IvrTurn(
            interviews.state(session, case, call_scripts.IVR),
            notice=unit_notice(session, case, row),
        )
    turn = interviews.key_press(session, case, row, item_id, digits, try_no=try_no, calling=calling)
    if turn.over or row.ended_at is None:
        return turn
    following = after_unit(
        session, case, row, actor=None, calling=calling, channel=call_scripts.IVR
    )
    if following is None:
        return turn
    return interviews.IvrTurn(
        interviews.state(session, following, call_scripts.IVR),
        notice=unit_notice(session, following, row),
    )


def resent_to_previous_unit(
    session: Session, case: Case, attempt: CallAttempt, item_id: str, digits: str | None
) -> bool:
    """Whether a key press for ``item_id`` repeats the one that ended the previous unit.

    Only while the current unit has no answer yet (the reply to that press
    was this unit's first item), and only with the value stored for it then.
    """
    group = members(session, attempt)
    index = [member.id for member, _row in group].index(case.id)
    if index == 0:
        return False
    now = interviews.state(session, case, call_scripts.IVR)
    if now.answers or (now.item is not None and now.item.id == item_id):
        return False
    previous = group[index - 1][0]
    stored = session.exec(
        select(Answer.value).where(Answer.case_id == previous.id, Answer.item_id == item_id)
    ).first()
    if stored is None:
        return False
    try:
        interpretation = call_scripts.interpret(now.script, item_id, digits, call_scripts.IVR)
    except call_scripts.ScriptUsageError:
        return False
    return interpretation.stored and interpretation.value == stored


def record_call_end(
    session: Session,
    attempt: CallAttempt,
    end_status: str,
    *,
    now: datetime | None = None,
    note: str | None = None,
    calling: Calling = None,
) -> str | None:
    """:func:`ivr.record_call_end` for every unit of the call still open, in order.

    An unanswered call gives every unit the same outcome; an answered one
    gives each unit what its own answers make it (the unit being interviewed
    a partial or break-off, later ones 3.90). Returns the first outcome
    recorded (None if none was).
    """
    first = None
    for case, row in members(session, attempt):
        outcome = ivr_calls.record_call_end(
            session, case, row, end_status, now=now, note=note, calling=calling
        )
        first = first or outcome
    return first
