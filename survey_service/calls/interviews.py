"""Interviews: walk the wave's script for a case and store answers idempotently.

The meaning of every input comes from :mod:`call_scripts`; this module only
keeps the answers (one row per case and item, under the script's id and
version) and turns the engine's status into the case's outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, select

import call_scripts
from call_scripts import Interpretation, Item, Script
from survey_service.calls import attempts as calling
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
)
from survey_service.setup.waves import require_open, script_for_wave

# What a finished engine status means as an AAPOR outcome of the attempt.
STATUS_OUTCOME = {
    call_scripts.COMPLETE: "1.1",
    call_scripts.SCREENED_OUT: "4.70",
    call_scripts.DECLINED: "2.11",
}
# A declined consent is a refusal only with this option code; any other
# declining option ("现在不方便") books a new call (temporary 2.21).
REFUSAL_CODE = "refuse"
APPOINTMENT_OUTCOME = "2.21"


@dataclass(frozen=True)
class InterviewState:
    script: Script
    answers: dict[str, str]
    item: Item | None
    status: str
    context: dict[str, Any]


def _answers(session: Session, case_id: int) -> dict[str, str]:
    rows = session.exec(select(Answer.item_id, Answer.value).where(Answer.case_id == case_id))
    return dict(rows.all())


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


def state(session: Session, case: Case, channel: str = call_scripts.AGENT) -> InterviewState:
    """Where the case's interview stands: answers, next item, status.

    :raise Conflict: if the wave's results are closed (a late answer is refused).
    """
    wave = _wave_of(session, case)
    require_open(wave)
    script = script_for_wave(wave)
    answers = call_scripts.prune(script, _answers(session, case.id), channel)
    return InterviewState(
        script=script,
        answers=answers,
        item=call_scripts.next_item(script, answers, channel),
        status=call_scripts.status(script, answers, channel),
        context=case_context(session, case),
    )


def _store(
    session: Session,
    case: Case,
    script: Script,
    item_id: str,
    value: str,
    attempt: CallAttempt | None,
) -> None:
    existing = session.exec(
        select(Answer).where(Answer.case_id == case.id, Answer.item_id == item_id)
    ).first()
    if existing is not None:
        if existing.value == value:
            return  # the same answer again (a resent form or webhook): nothing to do
        existing.value = value
        existing.attempt_id = attempt.id if attempt else existing.attempt_id
        session.add(existing)
        return
    session.add(
        Answer(
            case_id=case.id,
            item_id=item_id,
            value=value,
            script_id=script.id,
            script_version=script.version,
            attempt_id=attempt.id if attempt else None,
        )
    )


def _drop_off_path(session: Session, case: Case, script: Script, channel: str) -> None:
    answers = _answers(session, case.id)
    kept = call_scripts.prune(script, answers, channel)
    gone = set(answers) - set(kept)
    if gone:
        session.execute(delete(Answer).where(Answer.case_id == case.id, Answer.item_id.in_(gone)))


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
) -> tuple[Interpretation, InterviewState]:
    """Interpret ``raw`` for ``item_id`` and store it; finish the case when the script ends.

    Answering the same item again with the same value changes nothing.

    :raise Conflict: if the case is final or the item is not the one due.
    """
    if case.status == CaseStatus.FINAL:
        raise Conflict("该样本已结束，不能再记录回答")
    current = state(session, case, channel)
    if current.item is None or current.item.id != item_id:
        if current.answers.get(item_id) is not None:
            # A resent answer to an item already passed: idempotent when unchanged.
            interpretation = call_scripts.interpret(
                current.script, item_id, raw, channel, attempt=ivr_try
            )
            if interpretation.stored and interpretation.value == current.answers[item_id]:
                return interpretation, current
        raise Conflict(f"当前应回答的题目不是 {item_id}", where=Where(field="item"))
    interpretation = call_scripts.interpret(current.script, item_id, raw, channel, attempt=ivr_try)
    if not interpretation.stored:
        return interpretation, current
    _store(session, case, current.script, item_id, interpretation.value, attempt)
    session.flush()
    new = state(session, case, channel)
    outcome = STATUS_OUTCOME.get(new.status) if new.item is None else None
    if new.status == call_scripts.DECLINED and interpretation.value != REFUSAL_CODE:
        # "Not now": no refusal. Forget the consent answer and call again later.
        session.execute(delete(Answer).where(Answer.case_id == case.id))
        outcome = APPOINTMENT_OUTCOME
    if outcome is not None:
        calling.record_outcome(session, case, attempt, outcome, actor=actor)
    return interpretation, new


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
) -> Case:
    """End a call that did not finish the script, with the agent's outcome.

    Without an outcome, a started interview ends as a partial (1.2) when the
    engine says enough was answered, else as a break-off (2.12).
    """
    current = state(session, case)
    if outcome is None:
        if current.status == call_scripts.PARTIAL:
            outcome = "1.2"
        elif call_scripts.has_substantive_answer(current.script, current.answers):
            outcome = "2.12"
        else:
            raise ServiceError("请选择本次通话结果", where=Where(field="outcome"))
    return calling.record_outcome(session, case, attempt, outcome, actor=actor, note=note)
