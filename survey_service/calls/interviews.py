"""Interviews: walk the wave's script for a case and store answers idempotently.

The meaning of every input comes from :mod:`call_scripts`; this module only
keeps the answers (one row per case and item, under the script's id and
version) and turns the engine's status into the case's outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlmodel import Session

import call_scripts
from call_scripts import Interpretation, Item, Script
from survey_service import dispositions as aapor
from survey_service.calls import attempts as calling_attempts
from survey_service.calls.settings import Calling, CallingSettings, settle
from survey_service.errors import Conflict, ServiceError, Where
from survey_service.models import (
    Answer,
    CallAttempt,
    Case,
    CaseStatus,
    Client,
    SampleDraw,
    SurveyWave,
    Unit,
    User,
    utcnow,
)
from survey_service.setup.waves import require_open, script_for_wave

# What a finished engine status means as an AAPOR outcome of the attempt.
STATUS_OUTCOME = {
    call_scripts.COMPLETE: aapor.COMPLETE,
    call_scripts.SCREENED_OUT: aapor.SCREENED_OUT,
    call_scripts.DECLINED: aapor.REFUSAL,
}
# A declined consent is a refusal only with this option code; any other
# declining option ("现在不方便") books a new call (temporary 2.21).
REFUSAL_CODE = "refuse"
APPOINTMENT_OUTCOME = aapor.NEVER_AVAILABLE


@dataclass(frozen=True)
class InterviewState:
    script: Script
    answers: dict[str, str]
    item: Item | None
    status: str
    context: dict[str, Any]


@dataclass(frozen=True)
class _Loaded:
    """What an interview step reads from the database, once: wave, script, answers, context."""

    wave: SurveyWave
    script: Script
    answers: dict[str, str]  # pruned to the channel's path
    context: dict[str, Any]
    stored: dict[str, str]  # every stored answer, on the path or not


@dataclass(frozen=True)
class IvrTurn:
    """What the IVR says after a key press: the state, the try number, a notice.

    ``over`` means the call is over for the interview (its attempt was
    closed or the case is final): the reply is the closing words.
    """

    state: InterviewState
    try_no: int = 0
    notice: str | None = None
    over: bool = False


# On the table, built once: no ORM compile or loading per request (an IVR key press reads
# and stores one case's answers on every webhook).
_ANSWER = Answer.__table__
_ANSWERS = select(_ANSWER.c.item_id, _ANSWER.c.value).where(
    _ANSWER.c.case_id == bindparam("case_id")
)
_INSERT_ANSWER = insert(_ANSWER)


def _answers(session: Session, case_id: int) -> dict[str, str]:
    session.flush()  # what an ORM query would flush first (nothing, mostly)
    return dict(session.execute(_ANSWERS, {"case_id": case_id}).all())


def case_context(session: Session, case: Case) -> dict[str, Any]:
    """Placeholders of the script for this case: unit name, service, date."""
    unit = session.get(Unit, case.unit_id)
    client = session.get(Client, case.client_id)
    return {
        "unit_name": unit.name,
        "service": client.service or "相关事项",
        "service_date": client.service_date or "今年",
    }


def _wave_of(session: Session, case: Case) -> SurveyWave:
    draw = session.get(SampleDraw, case.draw_id)
    return session.get(SurveyWave, draw.wave_id)


def closing_words(session: Session, case: Case) -> tuple[Script, dict[str, Any]]:
    """The script and placeholders to say goodbye with, whatever the wave's state.

    A call still live when its wave was closed hears the closing words and is
    hung up; nothing is stored.
    """
    return script_for_wave(_wave_of(session, case)), case_context(session, case)


def _load(session: Session, case: Case, channel: str) -> _Loaded:
    wave = _wave_of(session, case)
    require_open(wave)
    script = script_for_wave(wave)
    stored = _answers(session, case.id)
    return _Loaded(
        wave=wave,
        script=script,
        answers=call_scripts.prune(script, stored, channel),
        context=case_context(session, case),
        stored=stored,
    )


def _evaluate(loaded: _Loaded, answers: dict[str, str], channel: str) -> InterviewState:
    """The engine's view of ``answers`` (pruned): next item and status. No database."""
    return InterviewState(
        script=loaded.script,
        answers=answers,
        item=call_scripts.next_item(loaded.script, answers, channel),
        status=call_scripts.status(loaded.script, answers, channel),
        context=loaded.context,
    )


def state(session: Session, case: Case, channel: str = call_scripts.AGENT) -> InterviewState:
    """Where the case's interview stands: answers, next item, status.

    :raise Conflict: if the wave's results are closed (a late answer is refused).
    """
    loaded = _load(session, case, channel)
    return _evaluate(loaded, loaded.answers, channel)


def _store(
    session: Session,
    case: Case,
    script: Script,
    item_id: str,
    value: str,
    attempt: CallAttempt | None,
    stored: dict[str, str],
) -> None:
    """Keep ``value`` for ``item_id``; ``stored`` are the case's answers as loaded."""
    if item_id in stored:
        if stored[item_id] == value:
            return  # the same answer again (a resent form or webhook): nothing to do
        changes: dict[str, Any] = {"value": value}
        if attempt is not None:
            changes["attempt_id"] = attempt.id
        session.execute(
            update(Answer)
            .where(Answer.case_id == case.id, Answer.item_id == item_id)
            .values(**changes)
        )
        return
    session.execute(
        _INSERT_ANSWER,
        {
            "case_id": case.id,
            "item_id": item_id,
            "value": value,
            "script_id": script.id,
            "script_version": script.version,
            "attempt_id": attempt.id if attempt else None,
            "answered_at": utcnow(),
        },
    )


def _drop_off_path(session: Session, case: Case, script: Script, channel: str) -> None:
    answers = _answers(session, case.id)
    kept = call_scripts.prune(script, answers, channel)
    gone = set(answers) - set(kept)
    if gone:
        session.execute(delete(Answer).where(Answer.case_id == case.id, Answer.item_id.in_(gone)))


def _answer(
    session: Session,
    case: Case,
    attempt: CallAttempt,
    loaded: _Loaded,
    item_id: str,
    raw: str | None,
    *,
    channel: str,
    actor: User | None,
    ivr_try: int,
    calling: Calling,
) -> tuple[Interpretation, InterviewState]:
    """:func:`answer` on what was loaded once; the engine's status is computed once."""
    due = call_scripts.next_item(loaded.script, loaded.answers, channel)
    if due is None or due.id != item_id:
        if loaded.answers.get(item_id) is not None:
            # A resent answer to an item already passed: idempotent when unchanged.
            interpretation = call_scripts.interpret(
                loaded.script, item_id, raw, channel, attempt=ivr_try
            )
            if interpretation.stored and interpretation.value == loaded.answers[item_id]:
                return interpretation, _evaluate(loaded, loaded.answers, channel)
        raise Conflict(
            "当前应回答的不是这道题（可能已在另一窗口作答），请刷新页面", where=Where(field="题目")
        )
    interpretation = call_scripts.interpret(loaded.script, item_id, raw, channel, attempt=ivr_try)
    if not interpretation.stored:
        return interpretation, _evaluate(loaded, loaded.answers, channel)
    _store(session, case, loaded.script, item_id, interpretation.value, attempt, loaded.stored)
    session.flush()
    answers = call_scripts.prune(
        loaded.script, {**loaded.stored, item_id: interpretation.value}, channel
    )
    new = _evaluate(loaded, answers, channel)
    outcome = STATUS_OUTCOME.get(new.status) if new.item is None else None
    if new.status == call_scripts.DECLINED and interpretation.value != REFUSAL_CODE:
        # "Not now": no refusal. Forget the consent answer and call again later.
        session.execute(delete(Answer).where(Answer.case_id == case.id))
        outcome = APPOINTMENT_OUTCOME
    if outcome is not None:
        calling = settle(calling) or CallingSettings.for_wave(loaded.wave)
        calling_attempts.record_outcome(
            session, case, attempt, outcome, actor=actor, calling=calling
        )
    return interpretation, new


def answer(
    session: Session,
    case: Case,
    attempt: CallAttempt,
    item_id: str,
    raw: str | None,
    *,
    channel: str = call_scripts.AGENT,
    actor: User | None = None,
    ivr_try: int = 0,
    calling: Calling = None,
) -> tuple[Interpretation, InterviewState]:
    """Interpret ``raw`` for ``item_id`` and store it; finish the case when the script ends.

    Answering the same item again with the same value changes nothing.
    ``calling`` are the wave's calling settings (default: the wave's, with
    the default time zone).

    :raise Conflict: if the case is final or the item is not the one due.
    """
    if case.status == CaseStatus.FINAL:
        raise Conflict("该样本已结束，不能再记录回答")
    loaded = _load(session, case, channel)
    return _answer(
        session,
        case,
        attempt,
        loaded,
        item_id,
        raw,
        channel=channel,
        actor=actor,
        ivr_try=ivr_try,
        calling=calling,
    )


def key_press(
    session: Session,
    case: Case,
    attempt: CallAttempt,
    item_id: str,
    digits: str | None,
    *,
    try_no: int = 0,
    calling: Calling = None,
) -> IvrTurn:
    """One IVR key press for ``item_id``: store it and say what comes next.

    After the call was closed (or the case is final) the turn is ``over``.
    A press for an item that is not due (an old or resent request) stores
    nothing and reads the due item afresh. An input to repeat reads the item
    again; an invalid one reads it again with the engine's notice and the
    next try number (past the script's retries the reply says goodbye).
    """
    channel = call_scripts.IVR
    loaded = _load(session, case, channel)
    if attempt.ended_at is not None or case.status == CaseStatus.FINAL:
        return IvrTurn(_evaluate(loaded, loaded.answers, channel), over=True)
    try:
        interpretation, new = _answer(
            session,
            case,
            attempt,
            loaded,
            item_id,
            digits,
            channel=channel,
            actor=None,
            ivr_try=try_no,
            calling=calling,
        )
    except (Conflict, call_scripts.ScriptUsageError):
        return IvrTurn(_evaluate(loaded, loaded.answers, channel))
    if interpretation.action == "repeat":
        return IvrTurn(new, try_no)
    if interpretation.action == "invalid":
        return IvrTurn(new, try_no + 1, interpretation.message)
    return IvrTurn(new)


def go_back(session: Session, case: Case, *, channel: str = call_scripts.AGENT) -> InterviewState:
    """Undo the last answer (agent page only), dropping answers no longer on the path.

    :raise Conflict: if nothing has been answered yet.
    """
    current = state(session, case, channel)
    try:
        item_id, _rest = call_scripts.back(current.script, current.answers)
    except call_scripts.ScriptUsageError as exc:
        raise Conflict("还没有回答任何题目") from exc
    session.execute(delete(Answer).where(Answer.case_id == case.id, Answer.item_id == item_id))
    session.flush()
    _drop_off_path(session, case, current.script, channel)
    session.flush()
    return state(session, case, channel)


def end_call(
    session: Session,
    case: Case,
    attempt: CallAttempt,
    outcome: str | None,
    *,
    actor: User | None,
    note: str | None = None,
    calling: CallingSettings | None = None,
    refusal: str | None = None,
    appointment_at=None,
    current: InterviewState | None = None,
    earlier: list[CallAttempt] | None = None,
) -> Case:
    """End a call that did not finish the script, with the agent's outcome.

    ``refusal`` (soft/hard) goes with a 2.11, ``appointment_at`` with a 2.21
    (see :func:`survey_service.calls.attempts.record_outcome`); ``current``
    the interview's :func:`state` if the caller has just read it, ``earlier``
    the case's attempts likewise.

    Without an outcome, a started interview ends as a partial (1.2) when the
    engine says enough was answered, else as a break-off (2.12).
    """
    current = current or state(session, case)
    if outcome is None:
        if current.status == call_scripts.PARTIAL:
            outcome = aapor.PARTIAL
        elif call_scripts.has_substantive_answer(current.script, current.answers):
            outcome = aapor.BREAK_OFF
        else:
            raise ServiceError("请选择本次通话结果", where=Where(field="通话结果"))
    return calling_attempts.record_outcome(
        session,
        case,
        attempt,
        outcome,
        actor=actor,
        note=note,
        calling=calling,
        refusal=refusal,
        appointment_at=appointment_at,
        earlier=earlier,
    )
