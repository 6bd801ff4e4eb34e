"""Call-centre agents and supervisors: take the next case, interview, record outcomes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import case as sql_case
from sqlalchemy import func
from sqlmodel import select

from survey_service import audit
from survey_service import dispositions as aapor
from survey_service.calls import attempts as calling
from survey_service.calls import interviews, queue
from survey_service.calls import settings as calling_settings

from ..db import get_session, transaction
from ..errors import ServiceError, Where
from ..models import DISPOSITIONS, CallAttempt, Case, CaseStatus, Client, Role, Unit, User
from ..security import requires_role

bp = Blueprint("calls", __name__)

AGENT_OUTCOMES = (
    aapor.NO_ANSWER,
    aapor.ALWAYS_BUSY,
    aapor.MACHINE_UNKNOWN,
    aapor.RESPONDENT_MACHINE,
    aapor.NEVER_AVAILABLE,
    aapor.REFUSAL,
    aapor.BREAK_OFF,
    aapor.UNABLE,
    aapor.LANGUAGE,
    aapor.FAX_DATA,
    aapor.NON_WORKING,
    aapor.DISCONNECTED,
    aapor.NUMBER_CHANGED,
    aapor.TECHNICAL,
    aapor.OTHER_UNKNOWN,
)


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
        raise ServiceError("预约时间格式无效", where=Where(field="appointment_at")) from exc


@bp.route("/")
@requires_role(Role.AGENT)
def index():
    """Show the agent's held case, or the button that takes the next one."""
    session = get_session()
    held = queue.held_case(session, current_user)
    waiting = queue.waiting_count(session, config=current_app.config)
    return render_template("calls/index.html", held=held, waiting=waiting)


@bp.route("/next", methods=["POST"])
@requires_role(Role.AGENT)
def take_next():
    """Claim the next due case (or return to the one held) and open a call attempt."""
    session = get_session()
    with transaction(session):
        queue.release_stale_claims(
            session, idle_minutes=current_app.config["CLAIM_TIMEOUT_MINUTES"]
        )
        case = queue.claim_next_case(session, current_user, config=current_app.config)
        if case is not None:
            _open_attempt(session, case)
    if case is None:
        flash("当前没有待拨打的样本。", "warning")
        return redirect(url_for("calls.index"))
    return redirect(url_for("calls.interview", case_id=case.id))


@bp.route("/case/<int:case_id>")
@requires_role(Role.AGENT)
def interview(case_id: int):
    """Show the script's current item for the held case, with a masked number."""
    session = get_session()
    case = queue.get_held_case(session, case_id, current_user)
    state = interviews.state(session, case)
    view = None
    if state.item is not None:
        from call_scripts import agent_view

        view = agent_view(state.script, state.item, state.context)
    client = session.get(Client, case.client_id)
    return render_template(
        "calls/interview.html",
        case=case,
        unit=session.get(Unit, case.unit_id),
        client=client,
        state=state,
        view=view,
        outcomes=[(c, DISPOSITIONS[c][1]) for c in AGENT_OUTCOMES],
        full_number=None,
    )


@bp.route("/case/<int:case_id>/number", methods=["POST"])
@requires_role(Role.AGENT)
def reveal_number(case_id: int):
    """Show the full number to dial (written to the audit log)."""
    session = get_session()
    case = queue.get_held_case(session, case_id, current_user)
    client = session.get(Client, case.client_id)
    number = current_app.extensions["phone_vault"].decrypt(client.phone_enc)
    with transaction(session):
        audit.record(
            session,
            user=current_user,
            action="phone.view",
            object_type="client",
            object_id=client.id,
            case=case.id,
        )
    return {"case": case.id, "number": number}


@bp.route("/case/<int:case_id>/answer", methods=["POST"])
@requires_role(Role.AGENT)
def answer(case_id: int):
    """Record the answer to the current item."""
    session = get_session()
    case = queue.get_held_case(session, case_id, current_user)
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
    if not interpretation.stored:
        flash(interpretation.message or "输入无效。", "error")
        return redirect(url_for("calls.interview", case_id=case.id))
    if case.status == CaseStatus.FINAL:
        flash(f"访问结束：{DISPOSITIONS[case.disposition][1]}。", "success")
        return redirect(url_for("calls.index"))
    return redirect(url_for("calls.interview", case_id=case.id))


@bp.route("/case/<int:case_id>/back", methods=["POST"])
@requires_role(Role.AGENT)
def back(case_id: int):
    """Go back one item."""
    session = get_session()
    case = queue.get_held_case(session, case_id, current_user)
    with transaction(session):
        interviews.go_back(session, case)
    return redirect(url_for("calls.interview", case_id=case.id))


@bp.route("/case/<int:case_id>/end", methods=["POST"])
@requires_role(Role.AGENT)
def end(case_id: int):
    """End the call with an outcome (no answer, refusal, callback...)."""
    session = get_session()
    case = queue.get_held_case(session, case_id, current_user)
    outcome = request.form.get("outcome") or None
    calling_now = _calling(session, case)
    refusal = request.form.get("refusal") or None
    appointment_at = _local_time(request.form.get("appointment_at"), calling_now.timezone)
    with transaction(session):
        attempt = _open_attempt(session, case)
        interviews.end_call(
            session,
            case,
            attempt,
            outcome,
            actor=current_user,
            note=request.form.get("note"),
            calling=calling_now,
            refusal=refusal if outcome == aapor.REFUSAL else None,
            appointment_at=appointment_at if outcome == aapor.NEVER_AVAILABLE else None,
        )
    label = DISPOSITIONS[case.disposition][1] if case.disposition else "待再次拨打"
    flash(f"已记录：{label}。", "success")
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
