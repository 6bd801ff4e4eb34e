"""The office (区治庸办): review submitted lists with the padding signals."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, or_
from sqlmodel import select

from survey_service.lazy import lazy_module
from survey_service.setup.waves import current_wave

from ..db import get_session, transaction
from ..errors import NotFound, ServiceError
from ..forms import ReviewForm
from ..models import LIST_STATUS_LABELS, ClientList, ListStatus, Role, Unit
from ..security import requires_role

# Stages behind the pages, loaded by the first request that needs one (survey_service.lazy).
review = lazy_module("survey_service.lists.review")
list_import = lazy_module("survey_service.lists.importing")
signal_rows = lazy_module("survey_service.lists.signal_rows")

bp = Blueprint("review", __name__)


PAGE_SIZE = 50
ALL = "all"


@bp.route("/")
@requires_role(Role.REVIEWER, Role.ADMIN)
def index():
    """The wave's lists by status (or 全部), searchable by unit code or name, paged."""
    session = get_session()
    wave = current_wave(session)
    status = request.args.get("status", ListStatus.SUBMITTED)
    search = (request.args.get("q") or "").strip()
    page = max(request.args.get("page", 1, type=int), 1)
    query = (
        select(ClientList, Unit)
        .join(Unit, Unit.id == ClientList.unit_id)
        .where(ClientList.wave_id == wave.id)
    )
    if status in set(ListStatus):
        query = query.where(ClientList.status == status)
    else:
        status = ALL
    if search:
        pattern = "%" + search.replace("%", r"\%").replace("_", r"\_") + "%"
        query = query.where(
            or_(Unit.code.ilike(pattern, escape="\\"), Unit.name.ilike(pattern, escape="\\"))
        )
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(page, pages)
    rows = session.exec(
        query.order_by(Unit.code, ClientList.version.desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    return render_template(
        "review/index.html",
        wave=wave,
        rows=rows,
        status=status,
        labels=LIST_STATUS_LABELS,
        search=search,
        page=page,
        pages=pages,
        total=total,
        all_status=ALL,
    )


def _detail(client_list: ClientList, form: ReviewForm, note_error: str | None = None):
    session = get_session()
    return render_template(
        "review/detail.html",
        client_list=client_list,
        unit=session.get(Unit, client_list.unit_id),
        signals=review.list_signals(session, client_list),
        form=form,
        labels=LIST_STATUS_LABELS,
        note_error=note_error,
    )


@bp.route("/lists/<int:list_id>")
@requires_role(Role.REVIEWER, Role.ADMIN)
def detail(list_id: int):
    """Show a list with its signals and the approve/reject form."""
    client_list = list_import.get_list_for(get_session(), list_id, current_user)
    return _detail(client_list, ReviewForm())


@bp.route("/lists/<int:list_id>/decision", methods=["POST"])
@requires_role(Role.REVIEWER, Role.ADMIN)
def decide(list_id: int):
    """Approve or reject a submitted list; a reason missing or refused shows on the form."""
    session = get_session()
    client_list = list_import.get_list_for(session, list_id, current_user)
    form = ReviewForm()
    decision = request.form.get("decision")
    if not form.validate_on_submit() or decision not in ("approve", "reject"):
        flash("请求无效。", "error")
        return redirect(url_for("review.detail", list_id=list_id))
    note = (form.note.data or "").strip()
    if decision == "reject" and not note:
        return _detail(client_list, form, "退回名单时必须填写理由，单位将看到这条意见。"), 400
    try:
        with transaction(session):
            if decision == "approve":
                review.approve_list(
                    session=session, client_list=client_list, reviewer=current_user, note=note
                )
            else:
                review.reject_list(
                    session=session, client_list=client_list, reviewer=current_user, note=note
                )
    except ServiceError as exc:
        session.refresh(client_list)
        return _detail(client_list, form, exc.message), exc.status_code
    flash("已通过。" if decision == "approve" else "已退回。", "success")
    return redirect(url_for("review.index"))


@bp.route("/lists/<int:list_id>/signals/<signal>")
@requires_role(Role.REVIEWER, Role.ADMIN)
def signal(list_id: int, signal: str):
    """The rows behind one padding signal: masked numbers and names, which other unit."""
    if signal not in signal_rows.SIGNALS:
        raise NotFound("没有这项预警信号")
    session = get_session()
    client_list = list_import.get_list_for(session, list_id, current_user)
    rows = signal_rows.signal_rows(
        session, client_list, current_app.extensions["phone_vault"], signal
    )
    response = make_response(
        render_template(
            "review/signal.html",
            client_list=client_list,
            unit=session.get(Unit, client_list.unit_id),
            signal=signal,
            title=signal_rows.SIGNALS[signal],
            rows=rows,
            limit=signal_rows.MAX_ROWS,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response
