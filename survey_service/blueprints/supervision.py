"""The call-centre supervisor's page: one wave's progress, held cases, replicates."""

from __future__ import annotations

import math

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlmodel import select

from survey_service.calls import supervision
from survey_service.sample import draws
from survey_service.setup.waves import current_wave

from ..db import get_session, transaction
from ..errors import ServiceError
from ..models import Role, SurveyWave, WaveStatus
from ..models.base import utcnow
from ..security import requires_role

bp = Blueprint("supervision", __name__)

SORTABLE = (
    "code",
    "name",
    "category",
    "target",
    "released",
    "attempted",
    "completes",
    "refusals",
    "response_rate",
    "projected",
)


def _wave(session) -> SurveyWave:
    """The wave named in the query string, else the newest open one, else the newest."""
    name = request.values.get("wave")
    if name:
        return current_wave(session, name)
    wave = session.exec(
        select(SurveyWave)
        .where(SurveyWave.status == WaveStatus.OPEN)
        .order_by(SurveyWave.id.desc())
    ).first()
    return wave or current_wave(session)


def _sorted(units, key: str, descending: bool):
    def value(row):
        v = getattr(row, key)
        missing = v is None or (isinstance(v, float) and math.isnan(v))
        return (missing, v if not missing else 0)

    rows = sorted(units, key=value, reverse=descending)
    # missing values last whichever the direction
    return [r for r in rows if not value(r)[0]] + [r for r in rows if value(r)[0]]


@bp.route("/")
@requires_role(Role.SUPERVISOR, Role.ADMIN)
def index():
    """One wave's figures: units, callbacks due within the hour, held cases, agents."""
    session = get_session()
    wave = _wave(session)
    progress = supervision.wave_progress(session, wave, now=utcnow())
    units = progress.units
    needle = request.args.get("q", "").strip()
    if needle:
        units = [u for u in units if needle in u.code or needle in u.name]
    category = request.args.get("category", "").strip()
    if category:
        units = [u for u in units if u.category == category]
    sort = request.args.get("sort", "code")
    sort = sort if sort in SORTABLE else "code"
    descending = request.args.get("dir") == "desc"
    units = _sorted(units, sort, descending)
    waves = session.exec(select(SurveyWave).order_by(SurveyWave.id.desc())).all()
    categories = sorted({u.category for u in progress.units})
    return render_template(
        "supervision/index.html",
        progress=progress,
        units=units,
        waves=waves,
        categories=categories,
        sort=sort,
        descending=descending,
        q=needle,
        category=category,
    )


@bp.route("/release-replicate", methods=["POST"])
@requires_role(Role.SUPERVISOR, Role.ADMIN)
def release_replicate():
    """Release the next replicate batch of one unit projected short of its target."""
    session = get_session()
    wave = _wave(session)
    code = request.form.get("unit", "").strip()
    draw = supervision.wave_draw(session, wave)
    if draw is None or not code:
        flash("请求无效：尚未抽样或未指明单位。", "error")
        return redirect(url_for("supervision.index", wave=wave.name))
    try:
        with transaction(session):
            count = draws.release_next_replicate(
                session=session, record=draw, unit_codes=[code], actor=current_user
            )
    except ServiceError as error:
        flash(str(error), "error")
    else:
        flash(f"已为单位 {code} 追加发放 {count} 个样本。", "success")
    return redirect(url_for("supervision.index", wave=wave.name))


@bp.route("/cases/<int:case_id>/release", methods=["POST"])
@requires_role(Role.SUPERVISOR, Role.ADMIN)
def release_case(case_id: int):
    """Take a held case back from its agent."""
    session = get_session()
    try:
        with transaction(session):
            supervision.release_held_case(session, case_id, actor=current_user)
    except ServiceError as error:
        flash(str(error), "error")
    else:
        flash(f"样本 {case_id} 已释放回队列。", "success")
    return redirect(url_for("supervision.index", wave=request.form.get("wave") or None))
