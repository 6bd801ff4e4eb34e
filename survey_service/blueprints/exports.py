"""The statisticians' downloads: the Excel report, each table as CSV, the microdata.

Registered at ``/statistics/exports``. The office (reviewer) may take the
aggregates; the respondent-level microdata is for statisticians only. Every
download is written to the audit log with its row count before it is sent.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from flask import Blueprint, current_app, render_template, send_file
from flask_login import current_user

from survey_service import audit
from survey_service.lazy import lazy_module
from survey_service.setup.waves import current_wave

from ..db import get_session, transaction
from ..models import Role
from ..security import requires_role

if TYPE_CHECKING:
    from survey_service.results.exports import ExportFile

# Stages behind the pages, loaded by the first request that needs one (survey_service.lazy).
exports = lazy_module("survey_service.results.exports")

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


def _send(session, wave, export: ExportFile, *, private: bool = False):
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
    return render_template("exports/index.html", wave=wave, tables=TABLE_LABELS)


@bp.route("/report.xlsx")
@requires_role(*AGGREGATE_ROLES)
def report_xlsx():
    """Every aggregate table in one workbook, with the provenance sheet 说明."""
    session = get_session()
    wave = current_wave(session)
    export = exports.xlsx_export(
        session, wave, timezone=current_app.config.get("TIMEZONE", "Asia/Shanghai")
    )
    return _send(session, wave, export)


def table_csv(table: str):
    """One aggregate table as CSV (UTF-8 with BOM)."""
    session = get_session()
    wave = current_wave(session)
    return _send(session, wave, exports.csv_export(session, wave, table))


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
    return _send(session, wave, exports.microdata_export(session, wave), private=True)


@bp.route("/microdata.zip")
@requires_role(Role.STATISTICIAN)
def microdata_zip():
    """The microdata with the R script, Stata do-file and data dictionary (audited)."""
    session = get_session()
    wave = current_wave(session)
    return _send(session, wave, exports.microdata_bundle_export(session, wave), private=True)
