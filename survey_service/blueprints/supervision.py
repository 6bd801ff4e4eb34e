"""The call-centre supervisor's page: one wave's progress, held cases, replicates."""

from __future__ import annotations

import math
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlmodel import select

from survey_service import audit
from survey_service.calls import verification
from survey_service.lazy import lazy_module
from survey_service.privacy import reveal as privacy_reveal
from survey_service.results.render.csvfile import csv_bytes
from survey_service.setup.waves import current_wave

from ..db import get_session, transaction
from ..errors import ServiceError
from ..models import (
    CallAttempt,
    Case,
    Client,
    QualityReview,
    ReviewStatus,
    Role,
    SurveyWave,
    Unit,
    User,
    WaveStatus,
)
from ..models.base import utcnow
from ..security import requires_role

# Stages behind the pages, loaded by the first request that needs one (survey_service.lazy).
paradata = lazy_module("survey_service.calls.paradata")
quality = lazy_module("survey_service.calls.quality")
supervision = lazy_module("survey_service.calls.supervision")
draws = lazy_module("survey_service.sample.draws")

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
    """Release the next replicate batch of one unit, or of every unit projected short."""
    session = get_session()
    wave = _wave(session)
    code = request.form.get("unit", "").strip()
    every_short = request.form.get("all") == "short"
    draw = supervision.wave_draw(session, wave)
    if draw is None or not (code or every_short):
        flash("请求无效：尚未抽样或未指明单位。", "error")
        return redirect(url_for("supervision.index", wave=wave.name))
    codes = supervision.short_units(session, draw) if every_short else [code]
    if not codes:
        flash("没有预计完成数不足目标的单位。", "warning")
        return redirect(url_for("supervision.index", wave=wave.name))
    try:
        with transaction(session):
            count = draws.release_next_replicate(
                session=session, record=draw, unit_codes=codes, actor=current_user
            )
    except ServiceError as error:
        flash(str(error), "error")
    else:
        units = f"{len(codes)} 个预计不足的单位" if every_short else f"单位 {code} "
        flash(f"已为{' ' if every_short else ''}{units}追加发放 {count} 个样本。", "success")
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


@bp.route("/review")
@requires_role(Role.SUPERVISOR, Role.ADMIN)
def review_list():
    """The wave's review list (复核): sampled and flagged completes, with recordings."""
    session = get_session()
    wave = _wave(session)
    status = request.args.get("status", "")
    query = (
        select(QualityReview, Case, Unit, CallAttempt, User)
        .join(Case, Case.id == QualityReview.case_id)
        .join(Unit, Unit.id == Case.unit_id)
        .join(CallAttempt, CallAttempt.id == QualityReview.attempt_id, isouter=True)
        .join(User, User.id == QualityReview.agent_id, isouter=True)
        .where(QualityReview.wave_id == wave.id)
        .order_by(QualityReview.id)
    )
    if status in set(ReviewStatus):
        query = query.where(QualityReview.status == status)
    return render_template(
        "supervision/review.html",
        wave=wave,
        rows=session.exec(query).all(),
        share=quality.review_share(wave),
        flag_labels=quality.FLAG_LABELS,
        status=status,
    )


@bp.route("/review/build", methods=["POST"])
@requires_role(Role.SUPERVISOR, Role.ADMIN)
def build_review():
    """Add the wave's newly sampled and flagged completes to its review list."""
    session = get_session()
    wave = _wave(session)
    with transaction(session):
        added = quality.build_review_list(session, wave)
        audit.record(
            session,
            user=current_user,
            action="review_list_built",
            object_type="wave",
            object_id=wave.id,
            added=len(added),
        )
    flash(f"复核清单新增 {len(added)} 条。", "success")
    return redirect(url_for("supervision.review_list", wave=wave.name))


def _review_row(session, review_id: int):
    row = session.exec(
        select(QualityReview, Case, Unit, CallAttempt, User)
        .join(Case, Case.id == QualityReview.case_id)
        .join(Unit, Unit.id == Case.unit_id)
        .join(CallAttempt, CallAttempt.id == QualityReview.attempt_id, isouter=True)
        .join(User, User.id == QualityReview.agent_id, isouter=True)
        .where(QualityReview.id == review_id)
    ).first()
    if row is None:
        abort(404)
    return row


@bp.route("/review/<int:review_id>")
@requires_role(Role.SUPERVISOR, Role.ADMIN)
def review_detail(review_id: int):
    """One reviewed interview: its call, recording, and the call-back verification script."""
    session = get_session()
    review, case, unit, attempt, agent = _review_row(session, review_id)
    wave = session.get(SurveyWave, review.wave_id)
    timezone = current_app.config.get("TIMEZONE") or "Asia/Shanghai"
    when = attempt.started_at if attempt else case.finalized_at
    date = when.astimezone(ZoneInfo(timezone)).strftime("%Y年%m月%d日") if when else "当时"
    return render_template(
        "supervision/review_detail.html",
        review=review,
        case=case,
        unit=unit,
        attempt=attempt,
        agent=agent,
        wave=wave,
        client=session.get(Client, case.client_id),
        questions=[(q, q.text.format(date=date, unit=unit.name)) for q in verification.QUESTIONS],
        methods=verification.METHODS,
        done=verification.labels((review.detail or {}).get("verification")),
        flag_labels=quality.FLAG_LABELS,
    )


@bp.route("/review/<int:review_id>/number", methods=["POST"])
@requires_role(Role.SUPERVISOR, Role.ADMIN)
def review_number(review_id: int):
    """The full number to call the respondent back (written to the audit log)."""
    session = get_session()
    review, case, _unit, _attempt, _agent = _review_row(session, review_id)
    with transaction(session):
        number = privacy_reveal.client_number(
            session,
            current_app.extensions["phone_vault"],
            case.client_id,
            actor=current_user,
            case=case.id,
            review=review.id,
        )
    return {"review": review.id, "number": number}


@bp.route("/review/<int:review_id>/decide", methods=["POST"])
@requires_role(Role.SUPERVISOR, Role.ADMIN)
def decide_review(review_id: int):
    """Confirm or strike one interview (strike needs a reason), with how it was checked."""
    session = get_session()
    strike = request.form.get("decision") == "strike"
    method = request.form.get("method")
    back = request.form.get("back") == "detail"
    try:
        checked = None
        if method:
            answers = {q.id: request.form.get(q.id, "") for q in verification.QUESTIONS}
            checked = verification.check(method, answers)
        with transaction(session):
            review = quality.decide(
                session,
                review_id,
                actor=current_user,
                strike=strike,
                reason=request.form.get("reason", ""),
                verification=checked,
            )
    except ServiceError as error:
        flash(str(error), "error")
        if back:
            return redirect(url_for("supervision.review_detail", review_id=review_id))
        return redirect(url_for("supervision.review_list", wave=request.form.get("wave") or None))
    flash("已作废该访问，样本改记为中途终止（2.12）。" if strike else "已确认该访问。", "success")
    if back:
        return redirect(url_for("supervision.review_detail", review_id=review_id))
    wave = session.get(SurveyWave, review.wave_id)
    return redirect(url_for("supervision.review_list", wave=wave.name))


@bp.route("/paradata.csv")
@requires_role(Role.STATISTICIAN, Role.SUPERVISOR, Role.ADMIN)
def paradata_csv():
    """Every call attempt of the wave with day-part, duration, pseudonymised agent, review."""
    session = get_session()
    wave = _wave(session)
    rows = paradata.paradata_rows(
        session,
        wave,
        secret=current_app.config["SECRET_KEY"],
        timezone=current_app.config.get("TIMEZONE"),
    )
    with transaction(session):
        audit.record(
            session,
            user=current_user,
            action="export.paradata_csv",
            object_type="wave",
            object_id=wave.id,
            rows=len(rows),
        )
    return Response(
        csv_bytes(paradata.HEADER, rows),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename=paradata-{wave.name}.csv"},
    )
