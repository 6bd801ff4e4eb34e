"""The statisticians' downloads: the Excel report, each table as CSV, the microdata.

Registered at ``/statistics/exports``. The office (reviewer) may take the
aggregates; the respondent-level microdata is for statisticians only. Every
download is written to the audit log with its row count before it is sent.
"""

from __future__ import annotations

import io
import threading
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    send_file,
    url_for,
)
from flask_login import current_user
from sqlmodel import Session

from survey_service import audit
from survey_service.lazy import lazy_module
from survey_service.setup.waves import current_wave

from ..db import get_session, transaction
from ..models import JOB_STATE_LABELS, Role
from ..security import requires_role
from .results_cache import results_cache

if TYPE_CHECKING:
    from survey_service.results.exports import ExportFile

# Stages behind the pages, loaded by the first request that needs one (survey_service.lazy).
exports = lazy_module("survey_service.results.exports")
jobs = lazy_module("survey_service.results.jobs")

bp = Blueprint("exports", __name__)

AGGREGATE_ROLES = (Role.STATISTICIAN, Role.REVIEWER, Role.ADMIN)

TABLE_LABELS = {
    "estimates": "各单位得分",
    "aspects": "各单位分项得分",
    "dispositions": "样本处理结果与 AAPOR 应答率",
    "design": "抽样设计（各子层）",
    "parameters": "抽样参数与随机种子",
    "comments": "意见建议（已去除个人信息）",
    "below_minimum": "有效回答低于最低要求的单位及原因（供办公室决定）",
    "signals": "各单位异常信号（计数/分母、是否异常），供办公室核查",
    "cuts": "排名分界检验（第 10/11 名之差的 t 检验及其假定）",
    "ranks": "排名视图：原始名次、与类别中位数的检验、经验贝叶斯收缩后的名次",
}


def send_export(session, wave, export: ExportFile, *, private: bool = False):
    """Record the export in the audit log, then send it as an attachment."""
    with transaction(session):
        audit.record(
            session,
            user=current_user,
            action=f"export.{export.name}",
            object_type="wave",
            object_id=wave.id,
            rows=export.rows,
        )
    response = send_file(
        io.BytesIO(export.data),
        mimetype=export.mimetype,
        as_attachment=True,
        download_name=export.filename,
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store" if private else "no-cache"
    return response


@bp.route("/")
@requires_role(*AGGREGATE_ROLES)
def index():
    """The list of downloads for the current wave."""
    wave = current_wave(get_session())
    return render_template(
        "exports/index.html", wave=wave, tables=TABLE_LABELS, job_kinds=jobs.JOB_KINDS
    )


@bp.route("/report.xlsx")
@requires_role(*AGGREGATE_ROLES)
def report_xlsx():
    """Every aggregate table in one workbook, with the provenance sheet 说明."""
    session = get_session()
    wave = current_wave(session)
    data, signals = results_cache().export_inputs(session, wave)
    export = exports.xlsx_export(
        session,
        wave,
        timezone=current_app.config.get("TIMEZONE", "Asia/Shanghai"),
        data=data,
        signals=signals,
    )
    return send_export(session, wave, export)


#: tables whose file takes seconds to build at city scale (every unit's per-item
#: figures; every open answer redacted: 16-20 and 5 CPU-s at 7,000 units)
SLOW_TABLES = frozenset({"aspects", "comments"})
#: above this many respondents a slow table not yet built for the current figures is
#: offered as a background job (which keeps the file with them for the next link)
DIRECT_BUILD_RESPONDENTS = 20_000


#: slow tables built with new figures where these are computed, for a wave of at most
#: DIRECT_BUILD_RESPONDENTS respondents (the comments need the database: built in the link)
PREBUILT_TABLES = ("aspects",)


def prebuild_tables(data) -> None:
    """Build :data:`PREBUILT_TABLES` for new figures (the results child calls this beside
    the chart panels), so that their link sends the kept file at once.

    A bigger wave's are built by the background job the link offers (:func:`table_csv`):
    a city's aspects take 16-20 CPU-s, which would delay its figures.
    """
    if not data.respondents or len(data.respondents) > DIRECT_BUILD_RESPONDENTS:
        return
    for name in PREBUILT_TABLES:
        exports.csv_export(None, data.wave, name, data=data)  # kept: data.memo("csv:<name>")


def table_csv(table: str):
    """One aggregate table as CSV (UTF-8 with BOM), from the current figures.

    While new figures are being computed in the background (a city's take a
    minute or more), the link does not compute them again in the request: it
    offers the same table as a background job, which waits for them. So it
    does for a slow table (:data:`SLOW_TABLES`) of a big wave whose file is not
    yet built for the current figures; once a job (or a link) has built it, it
    is kept with the figures (``WaveData.memo``) and the link sends it at once.
    """
    session = get_session()
    wave = current_wave(session)
    signals = None
    if f"{table}_csv" in WITH_SIGNALS:
        found, signals = results_cache().results_and_signals(session, wave)
    else:
        found = results_cache().lookup(session, wave)
    slow = (
        table in SLOW_TABLES
        and len(found.data.respondents) > DIRECT_BUILD_RESPONDENTS
        and f"csv:{table}" not in found.data.derived  # csv_export's memo: built already
    )
    if found.stale or slow:
        return render_template(
            "exports/stale.html",
            wave=wave,
            label=TABLE_LABELS.get(table, table),
            kind=f"{table}_csv",
            computed_at=found.computed_at,
            slow=slow and not found.stale,
        )
    export = exports.csv_export(session, wave, table, data=found.data, signals=signals)
    return send_export(session, wave, export)


# One rule per table (not ``/<table>.csv``) so that every URL is a fixed path and
# ``/microdata.csv`` can never be mistaken for a table.
# The names of results.exports.CSV_TABLES (tests/test_startup.py holds them equal),
# written out so that registering the routes does not load the exports.
CSV_TABLE_NAMES = (
    "estimates",
    "aspects",
    "dispositions",
    "design",
    "parameters",
    "comments",
    "below_minimum",
    "signals",
    "cuts",
    "ranks",
)
_table_view = requires_role(*AGGREGATE_ROLES)(table_csv)
for _name in CSV_TABLE_NAMES:
    bp.add_url_rule(
        f"/{_name}.csv", endpoint="table_csv", view_func=_table_view, defaults={"table": _name}
    )


@bp.route("/microdata.csv")
@requires_role(Role.STATISTICIAN)
def microdata_csv():
    """Respondent-level data keyed by pseudonym (statisticians only; audited)."""
    session = get_session()
    wave = current_wave(session)
    data = results_cache().data(session, wave, fresh=True)
    return send_export(
        session, wave, exports.microdata_export(session, wave, data=data), private=True
    )


@bp.route("/microdata.zip")
@requires_role(Role.STATISTICIAN)
def microdata_zip():
    """The microdata with the R script, Stata do-file and data dictionary (audited)."""
    session = get_session()
    wave = current_wave(session)
    data = results_cache().data(session, wave, fresh=True)
    export = exports.microdata_bundle_export(session, wave, data=data)
    return send_export(session, wave, export, private=True)


# --------------------------------------------------------------------------- background jobs

JOB_ROLES = {
    "report_xlsx": AGGREGATE_ROLES,
    "microdata_csv": (Role.STATISTICIAN,),
    "microdata_zip": (Role.STATISTICIAN,),
    "results_csv": AGGREGATE_ROLES,  # the results page's own CSV (statistics.results_csv)
    **{f"{name}_csv": AGGREGATE_ROLES for name in CSV_TABLE_NAMES},  # = exports.CSV_TABLES
}


#: the export kinds that carry the signs of gaming: they take the pages' signals, computed
#: apart with the figures of the same data version, never recomputed in the request
WITH_SIGNALS = frozenset({"report_xlsx", "signals_csv"})


def _builder(kind: str):
    """How a job of ``kind`` is built: on the job's session, from the results cache."""
    timezone = current_app.config.get("TIMEZONE", "Asia/Shanghai")
    cache = results_cache()

    def build(session, wave, progress):
        progress(0, 3)
        signals = None
        if kind == "results_csv":
            found = cache.lookup(session, wave, fresh=True, block=True)
            progress(2, 3)
            return exports.results_export(wave, found.results)
        if kind in WITH_SIGNALS:
            data, signals = cache.export_inputs(session, wave, block=True)
        else:
            data = cache.data(session, wave, fresh=True, block=True)
        if kind == "report_xlsx":
            return exports.xlsx_export(
                session, wave, timezone=timezone, data=data, signals=signals, progress=progress
            )
        progress(1, 3)
        if kind.endswith("_csv") and kind[: -len("_csv")] in exports.CSV_TABLES:
            name = kind[: -len("_csv")]
            export = exports.csv_export(session, wave, name, data=data, signals=signals)
        elif kind == "microdata_csv":
            export = exports.microdata_export(session, wave, data=data)
        else:
            export = exports.microdata_bundle_export(session, wave, data=data)
        progress(2, 3)
        return export

    return build


@bp.route("/jobs/<kind>", methods=["POST"])
@requires_role(*AGGREGATE_ROLES)
def start_job(kind: str):
    """Start building a long export in the background; show its progress."""
    if kind not in JOB_ROLES:
        abort(404)
    if current_user.role not in JOB_ROLES[kind]:
        abort(403)
    session = get_session()
    with transaction(session):
        jobs.expire_jobs(session)
        job = jobs.create_job(
            session=session, wave=current_wave(session), kind=kind, actor=current_user
        )
    app = current_app._get_current_object()
    engine = app.extensions["engine"]

    @contextmanager
    def open_session():
        with Session(engine, expire_on_commit=False) as own:
            yield own

    def run():
        with app.app_context():
            jobs.run_job(
                open_session,
                job.id,
                build=_builder(kind),
                vault=app.extensions["phone_vault"],
                retention=timedelta(hours=float(app.config.get("EXPORT_RETENTION_HOURS") or 24)),
            )

    if app.testing:  # the tests see every state change in order
        run()
    else:
        threading.Thread(target=run, name=f"export-job-{job.id}", daemon=True).start()
    return redirect(url_for("exports.job_page", job_id=job.id), code=303)


def _job_label(kind: str) -> str:
    table = kind.removesuffix("_csv")
    if table in TABLE_LABELS:
        return f"{TABLE_LABELS[table]}（CSV）"
    return jobs.JOB_KINDS.get(kind, kind)


@bp.route("/jobs/<int:job_id>")
@requires_role(*AGGREGATE_ROLES)
def job_page(job_id: int):
    """One export job: its progress bar, then its download link."""
    session = get_session()
    job = jobs.get_job(session, job_id, current_user)
    return render_template(
        "exports/job.html",
        job=job,
        status=jobs.status(job),
        label=_job_label(job.kind),
        state_label=JOB_STATE_LABELS.get(job.state, job.state),
    )


@bp.route("/jobs/<int:job_id>/status")
@requires_role(*AGGREGATE_ROLES)
def job_status(job_id: int):
    """The job's state and progress as JSON (polled by the progress bar)."""
    session = get_session()
    job = jobs.get_job(session, job_id, current_user)
    body = {**jobs.status(job), "label": JOB_STATE_LABELS.get(job.state, job.state)}
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/jobs/<int:job_id>/download")
@requires_role(*AGGREGATE_ROLES)
def job_download(job_id: int):
    """The finished file, once (audited; deleted as it is sent)."""
    session = get_session()
    job = jobs.get_job(session, job_id, current_user)
    with transaction(session):
        job, data = jobs.take_download(
            session=session,
            job=job,
            vault=current_app.extensions["phone_vault"],
            actor=current_user,
        )
    response = send_file(
        io.BytesIO(data),
        mimetype=job.mimetype or "application/octet-stream",
        as_attachment=True,
        download_name=job.filename or "export",
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
