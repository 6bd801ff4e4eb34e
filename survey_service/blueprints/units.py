"""Unit staff: upload the unit's client list, see row errors, submit for review."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func
from sqlmodel import select

from survey_service.lazy import lazy_module
from survey_service.lists import drafts
from survey_service.lists.parsing import FIELD_LABELS, REASONS
from survey_service.models.evaluation import PROBLEM_STATUS_LABELS
from survey_service.privacy import reveal as privacy_reveal
from survey_service.results.render import csvfile as reports
from survey_service.setup.waves import current_wave

from ..db import get_session, transaction
from ..errors import ServiceError
from ..forms import StaffUploadForm, UploadForm
from ..models import (
    LIST_STATUS_LABELS,
    ClientList,
    ListRowIssue,
    Role,
    StaffNumber,
    Unit,
    WaveStatus,
)
from ..security import requires_role
from .results_cache import results_cache

# Stages behind the pages, loaded by the first request that needs one (survey_service.lazy).
list_import = lazy_module("survey_service.lists.importing")
list_preview = lazy_module("survey_service.lists.preview")
progress = lazy_module("survey_service.lists.progress")
rectification = lazy_module("survey_service.evaluation.rectification")
unit_report = lazy_module("survey_service.results.unit_report")

bp = Blueprint("units", __name__)

ISSUES_PER_PAGE = 500
# The columns a unit's list may hold, as the template names them, with one example row.
TEMPLATE_HEADER = ("姓名", "联系电话", "办理事项", "办理时间", "类型")
TEMPLATE_EXAMPLE = ("张三", "13800138000", "户籍办理", "2017-05-12", "群众")


@bp.route("/")
@requires_role(Role.UNIT)
def index():
    """Show the unit's list versions in the open wave and the upload forms."""
    session = get_session()
    unit = session.get(Unit, current_user.unit_id)
    wave = current_wave(session)
    lists = session.exec(
        select(ClientList)
        .where(ClientList.unit_id == unit.id, ClientList.wave_id == wave.id)
        .order_by(ClientList.version.desc())
    ).all()
    staff_count = session.exec(
        select(func.count(StaffNumber.id)).where(
            StaffNumber.unit_id == unit.id, StaffNumber.wave_id == wave.id
        )
    ).one()
    return render_template(
        "units/index.html",
        unit=unit,
        wave=wave,
        lists=lists,
        form=UploadForm(),
        staff_form=StaffUploadForm(),
        staff_count=staff_count,
        labels=LIST_STATUS_LABELS,
        freeze=drafts.list_freeze(session, unit, wave),
        progress_token=secrets.token_urlsafe(16),
    )


@bp.route("/lists/template.csv")
@requires_role(Role.UNIT)
def list_template():
    """A CSV to fill in: the header the import reads best, and one example row."""
    body = reports.csv_bytes(TEMPLATE_HEADER, [TEMPLATE_EXAMPLE])
    return Response(
        body,
        content_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": "attachment; filename=list-template.csv; "
            f"filename*=UTF-8''{quote('服务对象名单模板.csv')}"
        },
    )


@bp.route("/lists/<int:list_id>/delete", methods=["POST"])
@requires_role(Role.UNIT)
def delete(list_id: int):
    """Delete a draft version of the unit's list (audited); other versions stay."""
    session = get_session()
    client_list = list_import.get_list_for(session, list_id, current_user)
    with transaction(session):
        version = drafts.delete_draft(session=session, client_list=client_list, actor=current_user)
    flash(f"已删除第 {version} 版草稿。", "success")
    return redirect(url_for("units.index"))


def _options(form) -> list_import.ImportOptions:
    column_map = {}
    for field in ("phone", "name", "service", "date", "kind"):
        form_field = getattr(form, f"{field}_column", None)
        value = (form_field.data or "").strip() if form_field is not None else ""
        if value:
            column_map[field] = int(value) if value.isdigit() else value
    return list_import.import_options(
        current_app.config, sheet=form.sheet.data or None, column_map=column_map or None
    )


def _to(url: str):
    """Redirect; the page's script (an XHR upload) gets the address as JSON instead,
    so that the flashed message waits for the page it then opens."""
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return jsonify(redirect=url)
    return redirect(url)


@bp.route("/lists", methods=["POST"])
@requires_role(Role.UNIT)
def upload():
    """Store an uploaded file as the unit's next list version."""
    form = UploadForm()
    if not form.validate_on_submit():
        flash("请选择要上传的名单文件。", "error")
        return _to(url_for("units.index"))
    session = get_session()
    unit = session.get(Unit, current_user.unit_id)
    upload_file = form.file.data
    vault = current_app.extensions["phone_vault"]
    tracker = progress.Progress(vault.temp_dir, current_user.id, request.form.get("progress_token"))
    try:
        tracker.rows_checked(0)
        with transaction(session):
            client_list = list_import.import_client_list(
                session=session,
                unit=unit,
                wave=current_wave(session),
                content=upload_file.stream,
                filename=upload_file.filename or "upload",
                vault=vault,
                options=_options(form),
                actor=current_user,
                progress=tracker.rows_checked,
            )
    except ServiceError as exc:
        flash(f"文件未导入：{exc}", "error")
        return _to(url_for("units.index"))
    finally:
        tracker.remove()
    sheet = client_list.signals.get("sheet")
    flash(
        f"已导入第 {client_list.version} 版{f'（工作表“{sheet}”）' if sheet else ''}："
        f"有效 {client_list.n_accepted} 行，"
        f"问题 {client_list.n_rejected} 行，跳过 {client_list.n_skipped} 行。",
        "success",
    )
    return _to(url_for("units.detail", list_id=client_list.id))


@bp.route("/lists/progress/<token>")
@requires_role(Role.UNIT)
def upload_progress(token: str):
    """How far the user's upload with this token has got (rows checked), for its page."""
    vault = current_app.extensions["phone_vault"]
    response = jsonify(progress.read(vault.temp_dir, current_user.id, token))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/lists/preview", methods=["POST"])
@requires_role(Role.UNIT)
def preview():
    """The columns the import would read from the start of a file, first rows masked."""
    form = UploadForm()
    if not form.validate_on_submit():
        return jsonify(error="请选择要上传的名单文件。"), 400
    upload_file = form.file.data
    content = upload_file.stream.read(list_preview.MAX_BYTES + 1)
    if len(content) > list_preview.MAX_BYTES:
        return jsonify(skipped="文件较大，不预览，导入时检查。")
    response = jsonify(
        list_preview.preview(
            content,
            filename=upload_file.filename or "upload",
            options=_options(form),
            partial=request.form.get("partial") == "1",
            temp_dir=current_app.extensions["phone_vault"].temp_dir,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/staff", methods=["POST"])
@requires_role(Role.UNIT)
def staff_upload():
    """Replace the unit's staff phone list (kept as keyed hashes only)."""
    form = StaffUploadForm()
    if not form.validate_on_submit():
        flash("请选择工作人员名单文件。", "error")
        return redirect(url_for("units.index"))
    session = get_session()
    unit = session.get(Unit, current_user.unit_id)
    try:
        with transaction(session):
            count = list_import.import_staff_numbers(
                session=session,
                unit=unit,
                wave=current_wave(session),
                content=form.file.data.stream,
                filename=form.file.data.filename or "staff",
                vault=current_app.extensions["phone_vault"],
                options=_options(form),
                actor=current_user,
            )
    except ServiceError as exc:
        flash(f"工作人员名单未导入：{exc}", "error")
    else:
        flash(f"已保存工作人员号码 {count} 个。", "success")
    return redirect(url_for("units.index"))


@bp.route("/results")
@requires_role(Role.UNIT)
def results():
    """The unit's own published aggregates (nothing before the office publishes)."""
    session = get_session()
    wave = current_wave(session)
    unit = session.get(Unit, current_user.unit_id)
    if wave.status != WaveStatus.PUBLISHED:
        return render_template("units/not_published.html", wave=wave, unit=unit)
    data = results_cache().data(session, wave)  # published: the frozen figures, loaded once
    page = unit_report.unit_report(session, wave, unit.code, for_unit=True, data=data)
    return render_template(
        "units/results.html",
        wave=wave,
        page=page,
        problems=rectification.problems_for(session, wave, unit.code),
        status_labels=PROBLEM_STATUS_LABELS,
    )


@bp.route("/lists/<int:list_id>")
@requires_role(Role.UNIT, Role.REVIEWER, Role.ADMIN)
def detail(list_id: int):
    """Show one list version: counts, status, review note and the rejected rows (masked)."""
    return _detail(list_id, reveal=False)


@bp.route("/lists/<int:list_id>/reveal", methods=["POST"])
@requires_role(Role.UNIT, Role.REVIEWER)
def reveal(list_id: int):
    """The same page with the rejected rows' full values (written to the audit log)."""
    return _detail(list_id, reveal=True)


def _detail(list_id: int, *, reveal: bool):
    session = get_session()
    client_list = list_import.get_list_for(session, list_id, current_user)
    total = session.exec(
        select(func.count(ListRowIssue.id)).where(ListRowIssue.list_id == client_list.id)
    ).one()
    pages = max(1, -(-total // ISSUES_PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    with transaction(session):
        issues = privacy_reveal.rejected_rows(
            session,
            client_list,
            current_app.extensions["phone_vault"],
            limit=ISSUES_PER_PAGE,
            offset=(page - 1) * ISSUES_PER_PAGE,
            reveal_for=current_user if reveal else None,
        )
    response = make_response(
        render_template(
            "units/detail.html",
            client_list=client_list,
            issues=issues,
            revealed=reveal,
            total=total,
            page=page,
            pages=pages,
            first=(page - 1) * ISSUES_PER_PAGE + 1,
            may_reveal=privacy_reveal.may_reveal(current_user, client_list),
            reasons=REASONS,
            labels=LIST_STATUS_LABELS,
            unit=session.get(Unit, client_list.unit_id),
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/lists/<int:list_id>/errors.csv")
@requires_role(Role.UNIT, Role.REVIEWER, Role.ADMIN)
def errors_csv(list_id: int):
    """Download the rejected rows of a list as CSV (UTF-8 with BOM for Excel), masked."""
    return _errors_csv(list_id, reveal=False)


@bp.route("/lists/<int:list_id>/errors-full.csv", methods=["POST"])
@requires_role(Role.UNIT, Role.REVIEWER)
def errors_full_csv(list_id: int):
    """The same CSV with the full values as written (written to the audit log)."""
    return _errors_csv(list_id, reveal=True)


def _errors_csv(list_id: int, *, reveal: bool):
    session = get_session()
    client_list = list_import.get_list_for(session, list_id, current_user)
    with transaction(session):
        issues = privacy_reveal.rejected_rows(
            session,
            client_list,
            current_app.extensions["phone_vault"],
            reveal_for=current_user if reveal else None,
            where="csv",
        )
    rows = [
        [
            i.row_number,
            i.name,
            i.service,
            FIELD_LABELS.get(i.field, i.field),
            i.value,
            i.reason,
            REASONS.get(i.reason, i.reason),
        ]
        for i in issues
    ]
    body = reports.csv_bytes(
        ["行号", "姓名", "办理事项", "字段", "原始值", "原因代码", "原因"], rows
    )
    suffix = "errors-full" if reveal else "errors"
    name = f"list-{client_list.id}-v{client_list.version}-{suffix}.csv"
    return Response(
        body,
        content_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f"attachment; filename={name}",
            "Cache-Control": "no-store",
        },
    )


@bp.route("/lists/<int:list_id>/submit", methods=["POST"])
@requires_role(Role.UNIT)
def submit(list_id: int):
    """Send a draft list to the office for review."""
    session = get_session()
    client_list = list_import.get_list_for(session, list_id, current_user)
    with transaction(session):
        list_import.submit_list(session=session, client_list=client_list, actor=current_user)
    flash(f"第 {client_list.version} 版已提交审核。", "success")
    return redirect(url_for("units.index"))
