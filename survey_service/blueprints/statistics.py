"""Statisticians (区统计局): design and draw the sample, release replicates, read scores."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func
from sqlmodel import select

from ..db import get_session, transaction
from ..forms import DesignForm, ReleaseForm, SeedForm
from ..models import Case, Role, SampleDraw, Unit
from ..security import requires_role
from ..services import audit, draws, frames, reports, results
from ..services.waves import current_wave

bp = Blueprint("statistics", __name__)


@bp.route("/")
@requires_role(Role.STATISTICIAN, Role.ADMIN)
def index():
    """Show the wave's frame and its draw, or the design form."""
    session = get_session()
    wave = current_wave(session)
    frame_lists = frames.approved_lists(session, wave.id)
    record = session.exec(select(SampleDraw).where(SampleDraw.wave_id == wave.id)).first()
    form = DesignForm()
    if not form.is_submitted():
        form.sd.data = draws.default_sd(session, wave)
    return render_template(
        "statistics/index.html",
        wave=wave,
        form=form,
        seed_form=SeedForm(),
        draw=record,
        n_lists=len(frame_lists),
        n_clients=sum(cl.n_accepted for cl in frame_lists),
    )


@bp.route("/frame", methods=["POST"])
@requires_role(Role.STATISTICIAN)
def fix_frame():
    """Fix the frame: freeze the approved lists and record their hash with the design."""
    session = get_session()
    form = DesignForm()
    if not form.validate_on_submit():
        errors = "；".join(f"{getattr(form, k).label.text}: {v[0]}" for k, v in form.errors.items())
        flash(f"抽样设计有误：{errors}", "error")
        return redirect(url_for("statistics.index"))
    fixed = form.mode.data == "fixed"
    if fixed and not form.per_unit.data:
        flash("固定方式须填写每单位样本量。", "error")
        return redirect(url_for("statistics.index"))
    design = draws.DrawDesign(
        per_unit=form.per_unit.data if fixed else None,
        margin=form.margin.data,
        sd=form.sd.data,
        minimum=form.minimum.data,
        response_rate=form.response_rate.data,
        eligibility_rate=form.eligibility_rate.data,
        allocation=form.allocation.data,
        substrata="kind" if form.by_kind.data else None,
        replicates=form.replicates.data,
        reserve=form.reserve.data,
    )
    with transaction(session):
        record = draws.fix_frame(
            session=session, wave=current_wave(session), design=design, actor=current_user
        )
    flash(f"抽样框已固定（哈希 {record.frame_hash[:16]}…），请公布后再输入随机种子。", "success")
    return redirect(url_for("statistics.index"))


@bp.route("/draws/<int:draw_id>/seed", methods=["POST"])
@requires_role(Role.STATISTICIAN)
def draw(draw_id: int):
    """Draw the sample from the fixed frame with the seed given now."""
    session = get_session()
    form = SeedForm()
    if not form.validate_on_submit():
        flash("请填写 0 到 2^63-1 之间的随机种子。", "error")
        return redirect(url_for("statistics.index"))
    with transaction(session):
        record = draws.draw_from_frame(
            session=session,
            record=draws.get_draw(session, draw_id),
            seed=form.seed.data,
            actor=current_user,
        )
    flash(f"已抽取样本：计划 {record.sample_size} 个（抽样框 {record.frame_size}）。", "success")
    return redirect(url_for("statistics.draw_detail", draw_id=record.id))


@bp.route("/draws/<int:draw_id>")
@requires_role(Role.STATISTICIAN, Role.ADMIN)
def draw_detail(draw_id: int):
    """Show a draw's design, seed, frame hash, per-unit release and its verification."""
    session = get_session()
    record = draws.get_draw(session, draw_id)
    released = dict(
        session.exec(
            select(Unit.code, func.count(Case.id))
            .join(Unit, Unit.id == Case.unit_id)
            .where(Case.draw_id == record.id, Case.released)
            .group_by(Unit.code)
        ).all()
    )
    completes = dict(
        session.exec(
            select(Unit.code, func.count(Case.id))
            .join(Unit, Unit.id == Case.unit_id)
            .where(Case.draw_id == record.id, Case.disposition == "1.1")
            .group_by(Unit.code)
        ).all()
    )
    return render_template(
        "statistics/draw.html",
        draw=record,
        verification=draws.verify_draw(session, record),
        released=released,
        completes=completes,
        release_form=ReleaseForm(),
    )


@bp.route("/draws/<int:draw_id>/release", methods=["POST"])
@requires_role(Role.STATISTICIAN)
def release(draw_id: int):
    """Release the next replicate batch for some units (or all below their target)."""
    session = get_session()
    record = draws.get_draw(session, draw_id)
    form = ReleaseForm()
    if not form.validate_on_submit():
        flash("请求无效。", "error")
        return redirect(url_for("statistics.draw_detail", draw_id=draw_id))
    codes = [c.strip() for c in (form.units.data or "").replace("，", ",").split(",") if c.strip()]
    if not codes:
        rows = results.unit_results(session, current_wave(session))
        codes = [r.code for r in rows if r.released and r.completes < r.target]
    with transaction(session):
        count = draws.release_next_replicate(
            session=session, record=record, unit_codes=codes, actor=current_user
        )
    flash(f"已为 {len(codes)} 个单位追加发放 {count} 个样本。", "success")
    return redirect(url_for("statistics.draw_detail", draw_id=draw_id))


@bp.route("/results", endpoint="results")
@requires_role(Role.STATISTICIAN, Role.REVIEWER, Role.ADMIN)
def results_page():
    """Show every unit's 10-point score, interval, response rate and rank odds."""
    session = get_session()
    wave = current_wave(session)
    return render_template(
        "statistics/results.html",
        wave=wave,
        rows=results.unit_results(session, wave),
        min_valid=results.MIN_VALID,
    )


@bp.route("/results.csv")
@requires_role(Role.STATISTICIAN, Role.REVIEWER, Role.ADMIN)
def results_csv():
    """Download the scores as CSV (UTF-8 with BOM)."""
    session = get_session()
    wave = current_wave(session)
    header, table = results.results_table(results.unit_results(session, wave))
    with transaction(session):
        audit.record(
            session,
            user=current_user,
            action="export.results_csv",
            object_type="wave",
            object_id=wave.id,
            rows=len(table),
        )
    return Response(
        reports.csv_bytes(header, table),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename=results-{wave.name}.csv"},
    )
