"""The export files: the XLSX workbook, each aggregate table as CSV, the microdata CSV."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from survey_service.errors import NotFound
from survey_service.models import SurveyWave
from survey_service.results.exports.comments import comments, comments_table
from survey_service.results.exports.common import Table, column_formats
from survey_service.results.exports.microdata import microdata_bundle, microdata_table
from survey_service.results.exports.office import below_minimum, below_minimum_table
from survey_service.results.exports.provenance import DEFAULT_TIMEZONE, provenance
from survey_service.results.exports.ranking import cut_rows, cuts_table, rank_rows, ranks_table
from survey_service.results.exports.tables import (
    ASPECT_FORMATS,
    ASPECT_HEADER,
    DESIGN_FORMATS,
    DESIGN_HEADER,
    ESTIMATE_FORMATS,
    aspects,
    aspects_table,
    design,
    design_table,
    dispositions_formats,
    dispositions_table,
    estimates_table,
    parameters,
    parameters_table,
)
from survey_service.results.publication import wave_results
from survey_service.results.render import csvfile as reports
from survey_service.results.render.workbook import Sheet, build_workbook
from survey_service.results.respondents import load_wave
from survey_service.results.result_table import results_table
from survey_service.results.signal_views import signals_export, signals_table, wave_signals

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv"  # send_file adds "; charset=utf-8"

CSV_TABLES: dict[str, Callable[[Session, SurveyWave], Table]] = {
    "estimates": estimates_table,
    "aspects": aspects_table,
    "dispositions": dispositions_table,
    "design": design_table,
    "parameters": parameters_table,
    "comments": comments_table,
    "below_minimum": below_minimum_table,
    "signals": signals_export,
    "cuts": cuts_table,
    "ranks": ranks_table,
}


@dataclass(frozen=True)
class ExportFile:
    """An export's bytes with what the view and the audit log need."""

    name: str
    data: bytes
    rows: int
    filename: str
    mimetype: str


def table(session: Session, wave: SurveyWave, name: str) -> Table:
    """One aggregate table by name (see :data:`CSV_TABLES`).

    :raise NotFound: for an unknown name.
    """
    if name not in CSV_TABLES:
        raise NotFound(f"没有名为 {name} 的导出表")
    return CSV_TABLES[name](session, wave)


def workbook_sheets(session: Session, wave: SurveyWave) -> list[Sheet]:
    """Every aggregate table as a formatted sheet (no microdata)."""
    data = load_wave(session, wave)
    ranked = wave_results(session, wave, data=data)  # once for the scores and ranking sheets
    estimates = results_table(ranked)  # as exports.tables.estimates(session, data)
    dispositions = dispositions_table(session, wave)
    sheets = [
        Sheet(
            "各单位得分",
            *estimates,
            number_formats=column_formats(estimates[0], ESTIMATE_FORMATS),
        ),
        Sheet(
            "分项得分", *aspects(data), number_formats=column_formats(ASPECT_HEADER, ASPECT_FORMATS)
        ),
        Sheet(
            "应答情况",
            *dispositions,
            number_formats=dispositions_formats(dispositions[0]),
        ),
        Sheet(
            "抽样设计",
            *design(session, data),
            number_formats=column_formats(DESIGN_HEADER, DESIGN_FORMATS),
        ),
        Sheet("抽样参数", *parameters(data), widths={0: 28, 1: 70}),
        Sheet("意见建议", *comments(session, data), widths={4: 60}),
        Sheet("低于最低要求的单位", *below_minimum(session, data), widths={14: 50}),
        Sheet("异常信号", *signals_table(wave_signals(session, data.wave))),
        Sheet("排名分界检验", *cut_rows(ranked), widths={10: 60}),
        Sheet("排名视图", *rank_rows(ranked)),
    ]
    return sheets


def xlsx_export(
    session: Session, wave: SurveyWave, *, timezone: str = DEFAULT_TIMEZONE
) -> ExportFile:
    """The workbook; the 说明 sheet gives its times in ``timezone``."""
    sheets = workbook_sheets(session, wave)
    data = build_workbook(sheets, properties=provenance(session, wave, timezone=timezone))
    return ExportFile(
        name="report_xlsx",
        data=data,
        rows=sum(len(s.rows) for s in sheets),
        filename=f"满意度报告-{wave.name}.xlsx",
        mimetype=XLSX_MIMETYPE,
    )


def csv_export(session: Session, wave: SurveyWave, name: str) -> ExportFile:
    """:raise NotFound: for an unknown table name."""
    header, rows = table(session, wave, name)
    return ExportFile(
        name=f"{name}_csv",
        data=reports.csv_bytes(header, rows),
        rows=len(rows),
        filename=f"{name}-{wave.name}.csv",
        mimetype=CSV_MIMETYPE,
    )


def microdata_export(session: Session, wave: SurveyWave) -> ExportFile:
    header, rows = microdata_table(session, wave)
    return ExportFile(
        name="microdata_csv",
        data=reports.csv_bytes(header, rows),
        rows=len(rows),
        filename=f"microdata-{wave.name}.csv",
        mimetype=CSV_MIMETYPE,
    )


ZIP_MIMETYPE = "application/zip"


def microdata_bundle_export(session: Session, wave: SurveyWave) -> ExportFile:
    """The microdata (CSV without BOM) with the R script, Stata do-file and dictionary."""
    data, rows = microdata_bundle(session, wave)
    return ExportFile(
        name="microdata_zip",
        data=data,
        rows=rows,
        filename=f"microdata-{wave.name}.zip",
        mimetype=ZIP_MIMETYPE,
    )


def build_xlsx(session: Session, wave: SurveyWave) -> bytes:
    """The workbook of every aggregate table with the provenance sheet "说明"."""
    return xlsx_export(session, wave).data


def build_csv(session: Session, wave: SurveyWave, table_name: str) -> bytes:
    """One aggregate table as CSV (UTF-8 with BOM, formula-like text made inert)."""
    return csv_export(session, wave, table_name).data


def build_microdata_csv(session: Session, wave: SurveyWave) -> bytes:
    """The respondent-level microdata as CSV (statisticians only)."""
    return microdata_export(session, wave).data
