"""Statisticians (区统计局): draw the sample, verify it, read and export the scores."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlmodel import select

from ..db import get_session, transaction
from ..forms import DrawForm
from ..models import Role, SampleDraw
from ..security import requires_role
from ..services import audit, draws, frames, reports, results
from ..services.waves import current_wave

bp = Blueprint("statistics", __name__)


@bp.route("/")
@requires_role(Role.STATISTICIAN, Role.ADMIN)
def index():
    """Show the wave's frame, its draws, and the draw form."""
    session = get_session()
    wave = current_wave(session)
    form = DrawForm(per_unit=current_app.config["SAMPLE_PER_UNIT"])
    frame_lists = frames.approved_lists(session, wave.id)
    wave_draws = session.exec(
        select(SampleDraw).where(SampleDraw.wave_id == wave.id).order_by(SampleDraw.id)
    ).all()
    return render_template(
        "statistics/index.html",
        wave=wave,
        form=form,
        draws=wave_draws,
        n_lists=len(frame_lists),
        n_clients=sum(cl.n_accepted for cl in frame_lists),
    )


@bp.route("/draws", methods=["POST"])
@requires_role(Role.STATISTICIAN)
def draw():
    """Draw the wave's stratified sample with the given seed."""
    session = get_session()
    form = DrawForm()
    if not form.validate_on_submit():
        flash("请填写随机种子和每单位样本量。", "error")
        return redirect(url_for("statistics.index"))
    with transaction(session):
        sample = draws.draw_sample(
            session=session,
            wave=current_wave(session),
            seed=form.seed.data,
            per_unit=form.per_unit.data,
            actor=current_user,
        )
    flash(f"已抽取样本 {sample.sample_size} 个（抽样框 {sample.frame_size}）。", "success")
    return redirect(url_for("statistics.draw_detail", draw_id=sample.id))


@bp.route("/draws/<int:draw_id>")
@requires_role(Role.STATISTICIAN, Role.ADMIN)
def draw_detail(draw_id: int):
    """Show a draw's seed, frame hash and the result of re-running it."""
    session = get_session()
    sample = draws.get_draw(session, draw_id)
    return render_template(
        "statistics/draw.html", draw=sample, verification=draws.verify_draw(session, sample)
    )


@bp.route("/results", endpoint="results")
@requires_role(Role.STATISTICIAN, Role.REVIEWER, Role.ADMIN)
def results_page():
    """Show every unit's 10-point score with its confidence interval."""
    session = get_session()
    wave = current_wave(session)
    return render_template(
        "statistics/results.html", wave=wave, rows=results.unit_results(session, wave)
    )


@bp.route("/results.csv")
@requires_role(Role.STATISTICIAN, Role.REVIEWER, Role.ADMIN)
def results_csv():
    """Download the scores as CSV (UTF-8 with BOM)."""
    session = get_session()
    wave = current_wave(session)
    rows = results.unit_results(session, wave)
    header, table = results.results_table(rows)
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
