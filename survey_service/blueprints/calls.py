"""Call-centre agents and supervisors: take the next case, interview, record outcomes."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import case as sql_case
from sqlalchemy import func
from sqlmodel import select

import call_scripts
from survey_service import dispositions as aapor
from survey_service.calls import attempts as calling
from survey_service.calls import held, interviews, joint, queue
from survey_service.calls import settings as calling_settings
from survey_service.privacy import reveal as privacy_reveal
from survey_service.privacy.vault import NAME

from ..db import get_session, transaction
from ..errors import ServiceError, Where
from ..models import (
    DISPOSITIONS,
    CallAttempt,
    Case,
    CaseStatus,
    Client,
    Role,
    SurveyWave,
    Unit,
    User,
    WaveStatus,
)
from ..security import requires_role
from . import agent_holds, agent_page

bp = Blueprint("calls", __name__)


def _open_attempt(session, case: Case) -> CallAttempt:
    return calling.start_attempt(session, case, agent=current_user)


def _calling(session, case: Case) -> calling_settings.CallingSettings:
    """The calling settings of the case's wave, with the app's TIMEZONE as default."""
    return calling_settings.for_case(session, case, current_app.config)


def _local_time(value: str | None, timezone: str) -> datetime | None:
    """A date-time picker's value (local wall time, no offset) in the wave's time zone."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(timezone))
    except ValueError as exc:
        raise ServiceError(
            "预约时间格式无效，请用日期时间选择器选择", where=Where(field="预约时间")
        ) from exc


@bp.errorhandler(agent_holds.WaveClosed)
def wave_closed(error: agent_holds.WaveClosed):
    """Say so in words, with the way back to the workbench (not a bare 409)."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()
    return render_template("calls/wave_closed.html", wave=error.wave), 409


@bp.route("/")
@requires_role(Role.AGENT)
def index():
    """Show the agent's held case, or the button that takes the next one."""
    session = get_session()
    held = queue.held_case(session, current_user)
    waiting = queue.waiting_count(session, config=current_app.config, agent=current_user)
    open_waves = (
        waiting > 0
        or session.exec(
            select(func.count(SurveyWave.id)).where(SurveyWave.status == WaveStatus.OPEN)
        ).one()
    )
    return render_template(
        "calls/index.html",
        held=held,
        waiting=waiting,
        open_waves=open_waves,
        closed=None if held else agent_holds.closed_while_calling(session),
    )


@bp.route("/next", methods=["POST"])
@requires_role(Role.AGENT)
def take_next():
    """Claim the next due case (or return to the one held) and open a call attempt."""
    session = get_session()
    with transaction(session):
        _release_stale_claims(session)
        case = queue.claim_next_case(session, current_user, config=current_app.config)
        if case is not None:
            # A number sampled for several units: one call, one attempt per unit's case,
            # starting at the claim's time (the cases' last_tried_at).
            ids = [case.id] if case.number_group is None else joint.held_ids(session, current_user)
            joint.open_attempts(session, ids, agent=current_user, now=case.claimed_at)
    if case is None:
        flash("当前没有待拨打的样本。", "warning")
        return redirect(url_for("calls.index"))
    return redirect(url_for("calls.interview", case_id=case.id))


# How often take-next gives idle claims back (the worker does it every minute too).
STALE_CLAIMS_EVERY_SECONDS = 30
_STALE_CLAIMS_AT = "calls.stale_claims_released_at"


def _release_stale_claims(session) -> None:
    """Give idle claims back to the queue, at most every 30 s per process."""
    last = current_app.extensions.get(_STALE_CLAIMS_AT)
    if last is not None and time.monotonic() - last < STALE_CLAIMS_EVERY_SECONDS:
        return
    current_app.extensions[_STALE_CLAIMS_AT] = time.monotonic()
    queue.release_stale_claims(session, idle_minutes=current_app.config["CLAIM_TIMEOUT_MINUTES"])


def _history(session, case: Case, timezone: str) -> list[dict]:
    """The case's earlier (closed) attempts, oldest first, as the page lists them."""
    rows = session.exec(
        select(CallAttempt)
        .where(CallAttempt.case_id == case.id, CallAttempt.outcome.is_not(None))
        .order_by(CallAttempt.started_at, CallAttempt.id)
    ).all()
    return [
        {
            "at": agent_page.local_text(row.started_at, timezone),
            "outcome": f"{row.outcome} {DISPOSITIONS[row.outcome][1]}",
            "refusal": {"soft": "软拒", "hard": "硬拒"}.get(row.refusal or ""),
            "appointment": agent_page.local_text(row.appointment_at, timezone),
            "note": row.note,
        }
        for row in rows
    ]


def _answered(state) -> list[tuple[str, str]]:
    """What was answered so far (on the path), as (item title or text, answer label)."""
    shown = []
    for item in call_scripts.expected_items(state.script, state.answers):
        if item.id not in state.answers:
            continue
        value = state.answers[item.id]
        option = item.option(value) if item.is_choice else None
        label = option.label if option else ("（跳过）" if value == call_scripts.SKIPPED else value)
        title = item.title or item.text
        shown.append((call_scripts.fill(title, state.context), label))
    return shown


@bp.route("/case/<int:case_id>")
@requires_role(Role.AGENT)
def interview(case_id: int):
    """One screen per case: who, what, history, the script's current item, the outcomes."""
    session = get_session()
    case = agent_holds.held(session, case_id)
    first = queue.held_case(session, current_user)
    if first.id != case.id:
        # A call covering several units goes through them in order: the one it is at.
        return redirect(url_for("calls.interview", case_id=first.id))
    attempt = joint.open_attempt(session, case, current_user)
    unit_no, units = joint.position(session, case, attempt)
    state = interviews.state(session, case)
    view = None
    path = call_scripts.expected_items(state.script, state.answers)
    position = None
    if state.item is not None:
        view = call_scripts.agent_view(state.script, state.item, state.context)
        position = [item.id for item in path].index(state.item.id) + 1
    client = session.get(Client, case.client_id)
    calling_now = _calling(session, case)
    kind_rules = calling_now.rules_for(client.kind)
    vault = current_app.extensions["phone_vault"]
    started = bool(state.answers) or unit_no > 1  # on the line from the second unit on
    return render_template(
        "calls/interview.html",
        case=case,
        unit=session.get(Unit, case.unit_id),
        client=client,
        name=vault.decrypt_text(client.name, NAME) if client.name else None,
        state=state,
        view=view,
        position=position,
        total=len(path),
        answered=_answered(state),
        history=_history(session, case, calling_now.timezone),
        outcome_groups=agent_page.outcome_groups(started),
        started=started,
        windows=agent_page.windows_text(kind_rules),
        timezone=calling_now.timezone,
        full_number=None,
        unit_no=unit_no,
        units=units,
        call_units=joint.units(session, attempt) if units > 1 else [],
    )


@bp.route("/case/<int:case_id>/number", methods=["POST"])
@requires_role(Role.AGENT)
def reveal_number(case_id: int):
    """Show the full number to dial (written to the audit log)."""
    session = get_session()
    case = agent_holds.held(session, case_id)
    with transaction(session):
        number = privacy_reveal.client_number(
            session,
            current_app.extensions["phone_vault"],
            case.client_id,
            actor=current_user,
            case=case.id,
        )
    return {"case": case.id, "number": number}


@bp.route("/case/<int:case_id>/answer", methods=["POST"])
@requires_role(Role.AGENT)
def answer(case_id: int):
    """Record the answer to the current item."""
    session = get_session()
    case = agent_holds.held(session, case_id)
    item_id = request.form.get("item_id", "")
    value = request.form.get("value")
    with transaction(session):
        attempt = _open_attempt(session, case)
        interpretation, _state = interviews.answer(
            session,
            case,
            attempt,
            item_id,
            value,
            actor=current_user,
            calling=_calling(session, case),
        )
        following = joint.after_unit(
            session, case, attempt, actor=current_user, calling=_calling(session, case)
        )
    if following is not None:
        unit_no, units = joint.position(session, following, attempt)
        unit = session.get(Unit, following.unit_id)
        flash(
            f"第 {unit_no - 1} 个单位已结束：{DISPOSITIONS[attempt.outcome][1]}。"
            f"接下来是第 {unit_no} / {units} 个单位：{unit.name}。",
            "success",
        )
        return redirect(url_for("calls.interview", case_id=following.id))
    if not interpretation.stored:
        flash(interpretation.message or "输入无效。", "error")
        return redirect(url_for("calls.interview", case_id=case.id))
    if case.status == CaseStatus.FINAL:
        flash(f"访问结束：{DISPOSITIONS[case.disposition][1]}。", "success")
        return redirect(url_for("calls.index"))
    if attempt.ended_at is not None:
        # The script ended the call without an interview ("现在不方便"): the
        # calling rules set the next attempt; the case is no longer held.
        flash(
            f"已记录：{DISPOSITIONS[attempt.outcome][1]}，将按拨打规则安排下次拨打。"
            "如受访者约定了时间，请在结束通话前使用“预约回访”。",
            "success",
        )
        return redirect(url_for("calls.index"))
    return redirect(url_for("calls.interview", case_id=case.id))


@bp.route("/case/<int:case_id>/back", methods=["POST"])
@requires_role(Role.AGENT)
def back(case_id: int):
    """Go back one item."""
    session = get_session()
    case = agent_holds.held(session, case_id)
    with transaction(session):
        interviews.go_back(session, case)
    return redirect(url_for("calls.interview", case_id=case.id))


def _finish(
    session,
    case: Case,
    outcome: str | None,
    hung_up: bool = False,
    attempt: CallAttempt | None = None,
    **kwargs,
) -> None:
    """End the call at this unit; the outcome covers every later unit of the call too.

    ``attempt`` is the agent's open attempt of the case if the caller has read it.
    """
    with transaction(session):
        attempt = attempt or _open_attempt(session, case)
        rest = len(joint.later(session, attempt))
        interviews.end_call(
            session,
            case,
            attempt,
            outcome,
            actor=current_user,
            note=request.form.get("note"),
            **kwargs,
        )
        joint.after_unit(
            session,
            case,
            attempt,
            actor=current_user,
            calling=kwargs["calling"],
            hung_up=hung_up,
        )
    if rest:
        flash(f"本次通话涉及的其余 {rest} 个单位已一并记录。", "success")
    if case.status == CaseStatus.FINAL:
        flash(f"已记录：{DISPOSITIONS[case.disposition][1]}。", "success")
        return
    when = agent_page.local_text(case.next_attempt_at, kwargs["calling"].timezone)
    if kwargs.get("appointment_at") is not None:
        flash(f"已预约回访：{when}；届时该样本提前 15 分钟回到您这里。", "success")
    else:
        flash(f"已记录：{DISPOSITIONS[outcome][1]}，下次拨打 {when}。", "success")


@bp.route("/case/<int:case_id>/end", methods=["POST"])
@requires_role(Role.AGENT)
def end(case_id: int):
    """End the call with an outcome (no answer, refusal, hang-up...)."""
    session = get_session()
    case = agent_holds.held(session, case_id, load=held.held_case_with_context)
    calling_now = _calling(session, case)
    posted = request.form.get("outcome") or ""
    if not posted:
        raise ServiceError("请选择本次通话结果", where=Where(field="通话结果"))
    outcome, refusal = agent_page.parse_outcome(posted)
    refusal = refusal or request.form.get("refusal") or None
    current = interviews.state(session, case)
    attempt, earlier = joint.attempts_of(session, case, current_user)
    unit_no, _units = joint.position(session, case, attempt)
    started = bool(current.answers) or unit_no > 1  # on the line from the second unit on
    offered = {agent_page.parse_outcome(v)[0] for v in agent_page.allowed_values(started)}
    if outcome not in offered:
        raise ServiceError(
            "此时不能选择该通话结果" + ("（访问已开始）" if started else "（访问尚未开始）"),
            where=Where(field="通话结果"),
        )
    if outcome is None and not current.answers:
        # A hang-up before this (second or later) unit's first item: nothing is known of it.
        outcome = aapor.OTHER_UNKNOWN
    elif outcome is None and not call_scripts.has_substantive_answer(
        current.script, current.answers
    ):
        # A hang-up after screening only: the interview broke off (the engine's
        # partial/break-off choice needs a substantive answer).
        outcome = aapor.BREAK_OFF
    appointment_at = _local_time(request.form.get("appointment_at"), calling_now.timezone)
    _finish(
        session,
        case,
        outcome,
        hung_up=posted == agent_page.HANG_UP,
        calling=calling_now,
        refusal=refusal if outcome == aapor.REFUSAL else None,
        appointment_at=appointment_at if outcome == aapor.NEVER_AVAILABLE else None,
        current=current,
        attempt=attempt,
        earlier=earlier if attempt is not None else None,
    )
    return redirect(url_for("calls.index"))


@bp.route("/case/<int:case_id>/callback", methods=["POST"])
@requires_role(Role.AGENT)
def callback(case_id: int):
    """Book a callback (2.21 with a time) inside the client kind's day-parts."""
    session = get_session()
    case = agent_holds.held(session, case_id)
    calling_now = _calling(session, case)
    appointment_at = _local_time(request.form.get("appointment_at"), calling_now.timezone)
    if appointment_at is None:
        raise ServiceError("请选择预约回访的日期和时间", where=Where(field="预约时间"))
    client = session.get(Client, case.client_id)
    windows = agent_page.windows_text(calling_now.rules_for(client.kind))
    try:
        _finish(
            session,
            case,
            aapor.NEVER_AVAILABLE,
            calling=calling_now,
            appointment_at=appointment_at,
        )
    except ServiceError as exc:
        if exc.where and exc.where.field == "预约时间":
            kind = client.kind or "未注明"
            raise ServiceError(
                f"{exc.message}；{kind}可预约的时段：{windows}", where=exc.where
            ) from exc
        raise
    return redirect(url_for("calls.index"))


@bp.route("/progress")
@requires_role(Role.SUPERVISOR, Role.ADMIN)
def progress():
    """Progress per unit and per agent."""
    session = get_session()
    final = Case.status == CaseStatus.FINAL
    per_unit = session.exec(
        select(
            Unit.code,
            Unit.name,
            func.count(Case.id),
            func.sum(sql_case((final, 1), else_=0)),
            func.sum(sql_case((Case.disposition == aapor.COMPLETE, 1), else_=0)),
            func.sum(
                sql_case((Case.disposition.in_([aapor.REFUSAL, aapor.BREAK_OFF]), 1), else_=0)
            ),
            func.sum(Case.attempts),
        )
        .join(Unit, Unit.id == Case.unit_id)
        .where(Case.released)
        .group_by(Unit.code, Unit.name)
        .order_by(Unit.code)
    ).all()
    per_agent = session.exec(
        select(
            User.username,
            func.count(CallAttempt.id),
            func.sum(sql_case((CallAttempt.outcome == aapor.COMPLETE, 1), else_=0)),
        )
        .join(User, User.id == CallAttempt.agent_id)
        .group_by(User.username)
        .order_by(User.username)
    ).all()
    return render_template("calls/progress.html", per_unit=per_unit, per_agent=per_agent)
