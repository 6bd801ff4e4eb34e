"""Statisticians (区统计局): design and draw the sample, release replicates, read scores."""

from __future__ import annotations

import math

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

from survey_service.lazy import lazy_module
from survey_service.setup.waves import current_wave

from ..db import get_session, transaction
from ..errors import NotFound, ServiceError
from ..forms import DesignForm, ReleaseForm, SeedForm
from ..models import Role, SampleDraw
from ..security import requires_role
from .exports import send_export
from .results_cache import results_cache
from .results_charts import CHART_ROWS, chart_svg, filtered, page_number

# Stages behind the pages, loaded by the first request that needs one (survey_service.lazy).
results = lazy_module("survey_service.results.estimates")
publication = lazy_module("survey_service.results.publication")
unit_report = lazy_module("survey_service.results.unit_report")
office = lazy_module("survey_service.results.exports.office")
exports = lazy_module("survey_service.results.exports")
draws = lazy_module("survey_service.sample.draws")
draw_verification = lazy_module("survey_service.sample.verification")
draw_view = lazy_module("survey_service.sample.draw_view")
frames = lazy_module("survey_service.sample.frames")
cuts = lazy_module("survey_service.results.cuts")
signals = lazy_module("survey_service.results.signals")

bp = Blueprint("statistics", __name__)

PAGE_SIZE = 100  # units a page of the results table shows
BELOW_MINIMUM_SHOWN = 100  # rows of the below-minimum table on the page (all in the export)
RANK_PAGE_SIZE = 100  # rows of the rank view a page lists (all in the ranks export)


def results_and_signals(session, wave):
    """The figures (a cache lookup: maybe stale) and the signals, the data version read once."""
    return results_cache().results_and_signals(session, wave)


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
        form.sd.data = results.default_sd(session, wave)
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
    try:
        with transaction(session):
            record = draws.fix_frame(
                session=session, wave=current_wave(session), design=design, actor=current_user
            )
    except ServiceError as exc:  # stays on the page: the form's own mistake, in Chinese
        flash(f"抽样框未固定：{exc.message}", "error")
        return redirect(url_for("statistics.index"))
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
    try:
        with transaction(session):
            record = draw_verification.draw_verified(
                session=session,
                record=draws.get_draw(session, draw_id),
                seed=form.seed.data,
                actor=current_user,
            )
    except NotFound:
        raise
    except ServiceError as exc:
        flash(f"未抽样：{exc.message}", "error")
        return redirect(url_for("statistics.index"))
    flash(f"已抽取样本：计划 {record.sample_size} 个（抽样框 {record.frame_size}）。", "success")
    return redirect(url_for("statistics.draw_detail", draw_id=record.id))


@bp.route("/draws/<int:draw_id>")
@requires_role(Role.STATISTICIAN, Role.ADMIN)
def draw_detail(draw_id: int):
    """Show a draw's design, seed, frame hash, its kept verification and a page of its units."""
    session = get_session()
    record = draws.get_draw(session, draw_id)
    with transaction(session):  # a verification run now is kept for the next view
        verification, checked_at = draw_verification.kept_verification(session, record)
    query = request.args.get("q", "").strip()
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        page = 1
    return render_template(
        "statistics/draw.html",
        draw=record,
        verification=verification,
        checked_at=checked_at,
        units=draw_view.unit_page(session, record, query=query, page=page),
        query=query,
        release_form=ReleaseForm(),
    )


@bp.route("/draws/<int:draw_id>/verify", methods=["POST"])
@requires_role(Role.STATISTICIAN)
def verify(draw_id: int):
    """Re-run the draw's verification now (the page shows the kept one)."""
    session = get_session()
    with transaction(session):
        result = draw_verification.recheck(
            session, draws.get_draw(session, draw_id), actor=current_user
        )
    flash(f"已重新复核：{'一致' if result.ok else '不一致'}。", "success" if result.ok else "error")
    return redirect(url_for("statistics.draw_detail", draw_id=draw_id))


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
        wave = current_wave(session)
        rows = results_cache().data(session, wave, fresh=True).derived["wave_results"]
        codes = [r.code for r in rows if r.released and r.completes < r.target]
    try:
        with transaction(session):
            count = draws.release_next_replicate(
                session=session, record=record, unit_codes=codes, actor=current_user
            )
    except ServiceError as exc:  # a bad unit code, no reserve left: said on the draw's page
        flash(f"未追加发放：{exc.message}", "error")
        return redirect(url_for("statistics.draw_detail", draw_id=draw_id))
    flash(f"已为 {len(codes)} 个单位追加发放 {count} 个样本。", "success")
    return redirect(url_for("statistics.draw_detail", draw_id=draw_id))


SORTABLE = (
    "code",
    "name",
    "category",
    "frame_size",
    "target",
    "completes",
    "n",
    "mean",
    "ci_low",
    "ci_high",
    "satisfied",
    "dont_know",
    "rr3",
    "bottom",
    "top",
)


def _sorted(rows, key: str, descending: bool):
    """Sort by one column; units without a value go last either way."""

    def value(row):
        v = getattr(row, key)
        missing = v is None or (isinstance(v, float) and math.isnan(v))
        return (missing, v if not missing else 0)

    present = [r for r in rows if not value(r)[0]]
    absent = [r for r in rows if value(r)[0]]
    return sorted(present, key=lambda r: value(r)[1], reverse=descending) + absent


@bp.route("/results", endpoint="results")
@requires_role(Role.STATISTICIAN, Role.REVIEWER, Role.ADMIN)
def results_page():
    """Show the units' scores, intervals, response rates and rank odds; filter, sort, page."""
    session = get_session()
    wave = current_wave(session)
    found, unit_signals = results_and_signals(session, wave)
    everyone = found.results
    rows, category, query = filtered(everyone, request.args)
    sort = request.args.get("sort", "code")
    sort = sort if sort in SORTABLE else "code"
    descending = request.args.get("desc") == "1"
    pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
    page = page_number(request.args, "page", pages)
    chart_pages = max(1, math.ceil(sum(1 for r in rows if r.mean == r.mean) / CHART_ROWS))
    data = found.data  # what depends on the whole wave only: once per data version
    short = data.memo("below_minimum_rows", lambda: office.below_minimum_rows(everyone))
    view = data.memo("rank_view", lambda: cuts.rank_view(everyone))
    # the rank view ranks every unit; the page lists those of the category and search
    shown = {r.code for r in rows} if len(rows) != len(everyone) else None
    ranked = [v for v in view.rows if shown is None or v.code in shown] if view else []
    rank_pages = max(1, math.ceil(len(ranked) / RANK_PAGE_SIZE))
    rank_page = page_number(request.args, "rank_page", rank_pages)
    return render_template(
        "statistics/results.html",
        wave=wave,
        rows=_sorted(rows, sort, descending)[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        matching=len(rows),
        total=len(everyone),
        page=page,
        pages=pages,
        chart_page=page_number(request.args, "chart_page", chart_pages),
        chart_pages=chart_pages,
        chart_rows=CHART_ROWS,
        stale=found.stale,
        computed_at=found.computed_at,
        signals={s.code: s for s in unit_signals},
        signals_note=signals.SIGNALS_NOTE,
        view=view,
        rank_rows=ranked[(rank_page - 1) * RANK_PAGE_SIZE : rank_page * RANK_PAGE_SIZE],
        rank_matching=len(ranked),
        rank_page=rank_page,
        rank_pages=rank_pages,
        cut_assumption=cuts.CUT_ASSUMPTION,
        shrinkage_note=cuts.SHRINKAGE_NOTE,
        min_valid=results.MIN_VALID,
        rank_assumption=results.RANK_ASSUMPTION,
        below_minimum=short[:BELOW_MINIMUM_SHOWN],
        below_minimum_count=len(short),
        reason_labels=results.BELOW_MINIMUM_REASONS,
        has_exports="exports" in current_app.blueprints,
        category=category,
        query=query,
        sort=sort,
        descending=descending,
    )


@bp.route("/results/signals")
@requires_role(Role.STATISTICIAN, Role.REVIEWER, Role.ADMIN)
def signals_page():
    """Show every unit's signs of gaming with the counts behind them, beside its score."""
    session = get_session()
    wave = current_wave(session)
    found, rows = results_and_signals(session, wave)
    scores = {r.code: r for r in found.results}
    if request.args.get("flagged") == "1":
        rows = [r for r in rows if r.any_flag]
    return render_template(
        "statistics/signals.html",
        wave=wave,
        rows=rows,
        scores=scores,
        labels=signals.SIGNAL_LABELS,
        length_label=signals.LENGTH_LABEL,
        note=signals.SIGNALS_NOTE,
        flagged_only=request.args.get("flagged") == "1",
    )


@bp.route("/results/<chart>.svg")
@requires_role(Role.STATISTICIAN, Role.REVIEWER, Role.ADMIN)
def chart(chart: str):
    """The scores with their intervals (forest), or the response rates, as SVG (one panel)."""
    if chart not in ("forest", "rates"):
        abort(404)
    session = get_session()
    data = results_cache().data(session, current_wave(session))
    return Response(chart_svg(data, chart, request.args), mimetype="image/svg+xml")


@bp.route("/results/close", methods=["POST"])
@requires_role(Role.REVIEWER, Role.ADMIN)
def close():
    """The office freezes the wave's figures: no more answers, numbers fixed."""
    session = get_session()
    with transaction(session):
        count = publication.close_results(
            session=session, wave=current_wave(session), actor=current_user
        )
    flash(f"本轮结果已封存（{count} 个单位），此后不再接受新的回答。", "success")
    return redirect(url_for("statistics.results"))


@bp.route("/results/publish", methods=["POST"])
@requires_role(Role.REVIEWER, Role.ADMIN)
def publish():
    """The office publishes the frozen figures to the units."""
    session = get_session()
    with transaction(session):
        publication.publish_results(session=session, wave=current_wave(session), actor=current_user)
    flash("本轮结果已发布，各单位可查看本单位结果。", "success")
    return redirect(url_for("statistics.results"))


@bp.route("/units/<code>")
@requires_role(Role.STATISTICIAN, Role.REVIEWER, Role.ADMIN)
def unit_page(code: str):
    """One unit's figures, answers by item, dispositions and comments."""
    session = get_session()
    wave = current_wave(session)
    found, unit_signals = results_and_signals(session, wave)  # the data version read once
    page = unit_report.unit_report(session, wave, code, for_unit=False, data=found.data)
    return render_template(
        "statistics/unit.html",
        wave=wave,
        page=page,
        unit_signals=next((s for s in unit_signals if s.code == code), None),
        signals_note=signals.SIGNALS_NOTE,
    )


@bp.route("/results.csv")
@requires_role(Role.STATISTICIAN, Role.REVIEWER, Role.ADMIN)
def results_csv():
    """Download the scores as CSV (UTF-8 with BOM), always of the newest figures.

    While new figures are computed apart (a city's take half a minute or more), the
    link does not wait for them in the request: it offers the same file as a background
    job (progress page, download when ready), as the exports page's tables do.
    """
    session = get_session()
    wave = current_wave(session)
    found = results_cache().lookup(session, wave)
    if found.stale:
        return render_template(
            "exports/stale.html",
            wave=wave,
            label="得分结果",
            kind="results_csv",
            computed_at=found.computed_at,
            slow=False,
        )
    return send_export(session, wave, exports.results_export(wave, found.results))
