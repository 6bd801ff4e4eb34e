"""The rectification lists (整改清单): the office builds, checks and closes; units answer.

Registered at ``/rectification``. The office (reviewer) and the admin see every
unit's progress (the ten-worst units first, for the supervision team), build a
unit's list and close (销号) or send back its answered problems; unit staff see
only their own unit's lists, of every wave, and answer them.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlmodel import select

from survey_service.errors import NotFound
from survey_service.lazy import lazy_module
from survey_service.models.evaluation import PROBLEM_STATUS_LABELS
from survey_service.setup.waves import current_wave

from ..db import get_session, transaction
from ..models import Role, SurveyWave, Unit
from ..security import requires_role

# Stages behind the pages, loaded by the first request that needs one (survey_service.lazy).
compare = lazy_module("survey_service.evaluation.compare")
funnel = lazy_module("survey_service.evaluation.funnel")
rectification = lazy_module("survey_service.evaluation.rectification")

bp = Blueprint("rectification", __name__)

OFFICE = (Role.REVIEWER, Role.ADMIN)


def _labels() -> dict:
    return {"status_labels": PROBLEM_STATUS_LABELS}


@bp.route("/")
@requires_role(*OFFICE)
def problems():
    """Progress of every unit's list, the ten-worst units first."""
    session = get_session()
    wave = current_wave(session, request.args.get("wave"))
    worst = funnel.ten_worst(session, wave)
    rows = rectification.progress(session, wave)
    units = session.exec(select(Unit).where(Unit.active).order_by(Unit.code)).all()
    return render_template(
        "evaluation/problems.html",
        wave=wave,
        worst=rectification.progress(session, wave, worst),
        rows=[r for r in rows if r.code not in worst],
        units=units,
        **_labels(),
    )


@bp.route("/build", methods=["POST"])
@requires_role(*OFFICE)
def build_problems():
    """Build and issue a unit's problem list from its comments and low aspects."""
    session = get_session()
    wave = current_wave(session, request.form.get("wave") or None)
    code = request.form.get("unit", "").strip().upper()
    with transaction(session):
        built = rectification.build_problem_list(
            session=session, wave=wave, unit_code=code, actor=current_user
        )
    flash(f"已生成 {code} 的整改清单，共 {len(built.problems)} 个问题。", "success")
    for note in built.notes:
        flash(note, "warning")
    return redirect(url_for("rectification.unit_problems", code=code, wave=wave.name))


@bp.route("/units/<code>")
@requires_role(*OFFICE)
def unit_problems(code: str):
    """A unit's problem list: the supervision team's page of its progress."""
    session = get_session()
    wave = current_wave(session, request.args.get("wave"))
    unit = session.exec(select(Unit).where(Unit.code == code)).first()
    if unit is None:
        raise NotFound(f"未知的单位代码 {code}")
    items = rectification.problems_for(session, wave, code)
    return render_template(
        "evaluation/unit_problems.html",
        wave=wave,
        unit=unit,
        problems=items,
        overdue={p.id for p in items if rectification.is_overdue(p)},
        progress=rectification.progress(session, wave, [code])[0],
        **_labels(),
    )


@bp.route("/problem/<int:problem_id>/review", methods=["POST"])
@requires_role(*OFFICE)
def review_problem(problem_id: int):
    """Close (销号) or send back an answered problem."""
    session = get_session()
    problem = rectification.get_problem(session, problem_id, current_user)
    close = request.form.get("decision") == "close"
    with transaction(session):
        rectification.review_problem(
            session=session,
            problem=problem,
            close=close,
            note=request.form.get("note", ""),
            actor=current_user,
        )
    flash("已销号。" if close else "已退回单位重新整改。", "success")
    wave = session.get(SurveyWave, problem.wave_id)
    return redirect(url_for("rectification.unit_problems", code=problem.unit_code, wave=wave.name))


@bp.route("/compare")
@requires_role(*OFFICE)
def compare_page():
    """Each unit's score beside last wave's, and the share of last wave's problems closed."""
    session = get_session()
    wave = current_wave(session, request.args.get("wave"))
    before, rows = compare.comparison(session, wave)
    return render_template("evaluation/compare.html", wave=wave, before=before, rows=rows)


@bp.route("/mine")
@requires_role(Role.UNIT)
def unit_page():
    """The unit's own problem lists (every wave's) with the answer forms, and its score
    beside last wave's once published."""
    session = get_session()
    wave = current_wave(session)
    unit = session.get(Unit, current_user.unit_id)
    lists = rectification.problems_of_unit(session, unit.code)
    before, rows = compare.comparison(session, wave, published_only=True)
    mine = next((r for r in rows if r.code == unit.code), None)
    return render_template(
        "evaluation/unit.html",
        wave=wave,
        unit=unit,
        lists=lists,
        overdue={p.id for _w, items in lists for p in items if rectification.is_overdue(p)},
        before=before,
        mine=mine,
        **_labels(),
    )


@bp.route("/problem/<int:problem_id>/answer", methods=["POST"])
@requires_role(Role.UNIT)
def answer_problem(problem_id: int):
    """The unit's measure for one of its problems."""
    session = get_session()
    problem = rectification.get_problem(session, problem_id, current_user)
    with transaction(session):
        rectification.answer_problem(
            session=session,
            problem=problem,
            measure=request.form.get("measure", ""),
            actor=current_user,
        )
    flash("整改措施已提交，等待区治庸办核验。", "success")
    return redirect(url_for("rectification.unit_page"))
