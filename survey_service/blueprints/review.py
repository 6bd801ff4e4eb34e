"""The office (区治庸办): review submitted lists with the padding signals."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlmodel import select

from survey_service.lists import review
from survey_service.lists.importing import get_list_for
from survey_service.setup.waves import current_wave

from ..db import get_session, transaction
from ..forms import ReviewForm
from ..models import LIST_STATUS_LABELS, ClientList, ListStatus, Role, Unit
from ..security import requires_role

bp = Blueprint("review", __name__)


@bp.route("/")
@requires_role(Role.REVIEWER, Role.ADMIN)
def index():
    """List the lists waiting for review, and every unit's latest status."""
    session = get_session()
    wave = current_wave(session)
    status = request.args.get("status", ListStatus.SUBMITTED)
    query = (
        select(ClientList, Unit)
        .join(Unit, Unit.id == ClientList.unit_id)
        .where(ClientList.wave_id == wave.id)
        .order_by(Unit.code, ClientList.version.desc())
    )
    if status in set(ListStatus):
        query = query.where(ClientList.status == status)
    rows = session.exec(query.limit(1000)).all()
    return render_template(
        "review/index.html", wave=wave, rows=rows, status=status, labels=LIST_STATUS_LABELS
    )


@bp.route("/lists/<int:list_id>")
@requires_role(Role.REVIEWER, Role.ADMIN)
def detail(list_id: int):
    """Show a list with its signals and the approve/reject form."""
    session = get_session()
    client_list = get_list_for(session, list_id, current_user)
    return render_template(
        "review/detail.html",
        client_list=client_list,
        unit=session.get(Unit, client_list.unit_id),
        signals=review.list_signals(session, client_list),
        form=ReviewForm(),
        labels=LIST_STATUS_LABELS,
    )


@bp.route("/lists/<int:list_id>/decision", methods=["POST"])
@requires_role(Role.REVIEWER, Role.ADMIN)
def decide(list_id: int):
    """Approve or reject a submitted list."""
    session = get_session()
    client_list = get_list_for(session, list_id, current_user)
    form = ReviewForm()
    decision = request.form.get("decision")
    if not form.validate_on_submit() or decision not in ("approve", "reject"):
        flash("请求无效。", "error")
        return redirect(url_for("review.detail", list_id=list_id))
    with transaction(session):
        if decision == "approve":
            review.approve_list(
                session=session, client_list=client_list, reviewer=current_user, note=form.note.data
            )
        else:
            review.reject_list(
                session=session,
                client_list=client_list,
                reviewer=current_user,
                note=form.note.data or "",
            )
    flash("已通过。" if decision == "approve" else "已退回。", "success")
    return redirect(url_for("review.index"))
