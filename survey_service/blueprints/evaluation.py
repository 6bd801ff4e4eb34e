"""The office's composite evaluation (十佳十差) and the units' rectification lists.

Registered at ``/evaluation``. The office (reviewer) and the admin import the
parts, read the ranking, record vetoes and the funnel's decisions, build and
check the problem lists; unit staff answer their own unit's problems. Every
download is audited before it is sent.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlmodel import select

from survey_service.errors import NotFound, ServiceError, Where
from survey_service.evaluation import settings as evaluation_settings
from survey_service.evaluation.settings import IMPORTED_PARTS, PART_LABELS, PART_SOURCES, PARTS
from survey_service.lazy import lazy_module
from survey_service.models.evaluation import PROBLEM_STATUS_LABELS, VETO_LABELS
from survey_service.setup.waves import current_wave

from ..db import get_session, transaction
from ..models import Role, Unit
from ..security import requires_role
from .exports import send_export  # the statisticians' audited download, reused

# Stages behind the pages, loaded by the first request that needs one (survey_service.lazy).
exports = lazy_module("survey_service.evaluation.exports")
funnel = lazy_module("survey_service.evaluation.funnel")
parts = lazy_module("survey_service.evaluation.parts")
ranking = lazy_module("survey_service.evaluation.ranking")
rectification = lazy_module("survey_service.evaluation.rectification")

bp = Blueprint("evaluation", __name__)

OFFICE = (Role.REVIEWER, Role.ADMIN)
MAX_UPLOAD = 5 * 1024 * 1024
CHANGE_ROWS = 5


def _labels() -> dict:
    return {
        "part_labels": PART_LABELS,
        "parts": PARTS,
        "veto_labels": VETO_LABELS,
        "status_labels": PROBLEM_STATUS_LABELS,
        "list_labels": funnel.LIST_LABELS,
        "actions": funnel.ACTIONS,
    }


@bp.route("/")
@requires_role(*OFFICE)
def index(issues=None, failed_part=None):
    """The wave's settings, the three parts' imports and their versions."""
    session = get_session()
    wave = current_wave(session)
    return render_template(
        "evaluation/index.html",
        wave=wave,
        settings=evaluation_settings.settings_for(wave),
        latest=parts.latest_imports(session, wave),
        history=parts.import_history(session, wave),
        imported_parts=IMPORTED_PARTS,
        sources=PART_SOURCES,
        issues=issues,
        failed_part=failed_part,
        **_labels(),
    )


@bp.route("/settings", methods=["POST"])
@requires_role(*OFFICE)
def update_settings():
    """Store the weights, the ranking by category, the funnel sizes and the deadline."""
    session = get_session()
    wave = current_wave(session)
    form = request.form
    raw = {
        "weights": {p: form.get(f"weight_{p}", "") for p in PARTS},
        "rank_by_category": form.get("rank_by_category") == "1",
        "shortlist_sizes": [form.get(f"size_{i}", "") for i in range(3)],
        "working_days": form.get("working_days", ""),
        "low_aspect": form.get("low_aspect", ""),
    }
    with transaction(session):
        evaluation_settings.update_settings(session=session, wave=wave, raw=raw, actor=current_user)
    flash("评议设置已保存。", "success")
    return redirect(url_for("evaluation.index"))


@bp.route("/parts/<part>", methods=["POST"])
@requires_role(*OFFICE)
def import_part(part: str):
    """Import one part's file as its next version; bad rows are listed and nothing stored."""
    if part not in IMPORTED_PARTS:
        raise NotFound("没有这个分项")
    session = get_session()
    wave = current_wave(session)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ServiceError("请选择文件", where=Where(field="file"))
    content = upload.read(MAX_UPLOAD + 1)
    try:
        with transaction(session):
            record = parts.import_part(
                session=session,
                wave=wave,
                part=part,
                content=content,
                filename=upload.filename,
                source=request.form.get("source"),
                actor=current_user,
            )
    except parts.PartRowsRejected as exc:
        flash(f"{PART_LABELS[part]}：文件有 {len(exc.issues)} 处错误，未导入任何数据。", "error")
        return index(issues=exc.issues, failed_part=part), 400
    flash(
        f"{PART_LABELS[part]}已导入第 {record.version} 版"
        f"（{record.rows} 个单位，来源：{record.source}）。",
        "success",
    )
    active = len(session.exec(select(Unit.id).where(Unit.active)).all())
    if record.rows < active:
        flash(
            f"另有 {active - record.rows} 个单位不在文件中，其综合得分暂缺、不参与排名。", "warning"
        )
    return redirect(url_for("evaluation.index"))


@bp.route("/ranking")
@requires_role(*OFFICE)
def ranking_page():
    """Every unit's parts, total and rank; the vetoes and their form."""
    session = get_session()
    wave = current_wave(session)
    return render_template(
        "evaluation/ranking.html",
        wave=wave,
        ranking=ranking.composite(session, wave),
        vetoes=funnel.vetoes(session, wave),
        **_labels(),
    )


@bp.route("/ranking.svg")
@requires_role(*OFFICE)
def ranking_chart():
    session = get_session()
    svg = exports.totals_chart(session, current_wave(session))
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "no-cache"})


@bp.route("/vetoes", methods=["POST"])
@requires_role(*OFFICE)
def record_veto():
    """Record a one-vote veto with its reason and document."""
    session = get_session()
    wave = current_wave(session)
    with transaction(session):
        veto = funnel.record_veto(
            session=session,
            wave=wave,
            unit_code=request.form.get("unit", "").strip().upper(),
            reason=request.form.get("reason", ""),
            detail=request.form.get("detail", ""),
            document=request.form.get("document", ""),
            actor=current_user,
        )
    flash(f"已记录 {veto.unit_code} 的一票否决。", "success")
    return redirect(url_for("evaluation.ranking_page"))


@bp.route("/vetoes/<code>/revoke", methods=["POST"])
@requires_role(*OFFICE)
def revoke_veto(code: str):
    """Withdraw a veto recorded in error, with the reason."""
    session = get_session()
    wave = current_wave(session)
    with transaction(session):
        funnel.revoke_veto(
            session=session,
            wave=wave,
            unit_code=code,
            reason=request.form.get("reason", ""),
            actor=current_user,
        )
    flash(f"已撤销 {code} 的一票否决。", "success")
    return redirect(url_for("evaluation.ranking_page"))


@bp.route("/funnel")
@requires_role(*OFFICE)
def funnel_page():
    """The decided steps and the proposal for the next, with the form to record it."""
    session = get_session()
    wave = current_wave(session)
    table = ranking.composite(session, wave)
    done = funnel.steps(session, wave)
    proposal = None
    if len(done) < 3:
        number, size, lists = funnel.current_proposal(session, wave)
        proposal = {
            "step": number,
            "size": size,
            "lists": lists,
            "body": table.settings.bodies[number - 1],
        }
    return render_template(
        "evaluation/funnel.html",
        wave=wave,
        ranking=table,
        steps=done,
        proposal=proposal,
        change_rows=CHANGE_ROWS,
        **_labels(),
    )


@bp.route("/funnel", methods=["POST"])
@requires_role(*OFFICE)
def record_step():
    """Record the next step's decision with the office's changes."""
    session = get_session()
    wave = current_wave(session)
    form = request.form
    try:
        decided_on = date.fromisoformat(form.get("decided_on", ""))
    except ValueError:
        raise ServiceError("请填写决定日期（年-月-日）", where=Where(field="decided_on")) from None
    changes = []
    for i in range(CHANGE_ROWS):
        unit = form.get(f"change_unit_{i}", "").strip()
        if unit:
            changes.append(
                {
                    "list": form.get(f"change_list_{i}"),
                    "action": form.get(f"change_action_{i}"),
                    "unit": unit,
                    "reason": form.get(f"change_reason_{i}", ""),
                }
            )
    with transaction(session):
        step = funnel.record_step(
            session=session,
            wave=wave,
            decided_on=decided_on,
            body=form.get("body"),
            document=form.get("document", ""),
            changes=changes,
            actor=current_user,
        )
    flash(f"已记录第 {step.step} 轮（{step.body}）的决定。", "success")
    return redirect(url_for("evaluation.funnel_page"))


@bp.route("/funnel/revoke", methods=["POST"])
@requires_role(*OFFICE)
def revoke_step():
    """Withdraw the latest recorded step (kept in the audit log), with the reason."""
    session = get_session()
    wave = current_wave(session)
    with transaction(session):
        step = funnel.revoke_last_step(
            session=session, wave=wave, reason=request.form.get("reason", ""), actor=current_user
        )
    flash(f"已撤销第 {step.step} 轮的记录。", "success")
    return redirect(url_for("evaluation.funnel_page"))


# Download -> the function of evaluation.exports that builds it (looked up on use).
EXPORTS = {
    "evaluation.xlsx": "evaluation_xlsx",
    "ranking.csv": "ranking_csv",
    "funnel.csv": "funnel_csv",
}


def export(name: str):
    """The workbook of the ranking, funnel and vetoes, or the ranking or funnel as CSV."""
    session = get_session()
    wave = current_wave(session)
    return send_export(session, wave, getattr(exports, EXPORTS[name])(session, wave))


# One fixed path per download, as in the statisticians' exports.
_export_view = requires_role(*OFFICE)(export)
for _name in EXPORTS:
    bp.add_url_rule(
        f"/exports/{_name}", endpoint="export", view_func=_export_view, defaults={"name": _name}
    )


@bp.route("/exports/unit/<code>.xlsx", defaults={"fmt": "xlsx"})
@bp.route("/exports/unit/<code>.csv", defaults={"fmt": "csv"})
@requires_role(*OFFICE)
def export_unit(code: str, fmt: str):
    """One unit's sheet: its parts and sources, total, rank, steps, veto and problems."""
    session = get_session()
    wave = current_wave(session)
    problems = rectification.problems_for(session, wave, code)
    build = exports.unit_xlsx if fmt == "xlsx" else exports.unit_csv
    return send_export(session, wave, build(session, wave, code, problems))
