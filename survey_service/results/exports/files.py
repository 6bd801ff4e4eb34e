"""The export files: the XLSX workbook, each aggregate table as CSV, the microdata CSV."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from survey_service.errors import NotFound
from survey_service.models import SurveyWave
from survey_service.results.exports import tables
from survey_service.results.exports.comments import comments
from survey_service.results.exports.common import Table, column_formats
from survey_service.results.exports.microdata import bundle_bytes, microdata
from survey_service.results.exports.office import below_minimum
from survey_service.results.exports.provenance import DEFAULT_TIMEZONE, provenance
from survey_service.results.exports.ranking import cut_rows, cuts_of, rank_rows, ranks_of
from survey_service.results.exports.tables import (
    ASPECT_FORMATS,
    ASPECT_HEADER,
    DESIGN_FORMATS,
    DESIGN_HEADER,
    ESTIMATE_FORMATS,
    aspects,
    design,
    dispositions_formats,
    parameters,
)
from survey_service.results.publication import wave_results
from survey_service.results.render import csvfile as reports
from survey_service.results.render.workbook import Sheet, build_workbook
from survey_service.results.respondents import WaveData, load_wave
from survey_service.results.result_table import results_table
from survey_service.results.signal_views import signals_table, wave_signals
from survey_service.results.signals import UnitSignals

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv"  # send_file adds "; charset=utf-8"

#: every aggregate table by name, built from the wave's loaded data (the signals: see
#: :func:`table`, which takes the ones already computed)
CSV_TABLES: dict[str, Callable[[Session, WaveData], Table]] = {
    "estimates": tables.estimates,
    "aspects": lambda _session, data: aspects(data),
    "dispositions": tables.dispositions,
    "design": design,
    "parameters": lambda _session, data: parameters(data),
    "comments": comments,
    "below_minimum": below_minimum,
    "signals": lambda session, data: signals_table(wave_signals(session, data.wave)),
    "cuts": cuts_of,
    "ranks": ranks_of,
}


@dataclass(frozen=True)
class ExportFile:
    """An export's bytes with what the view and the audit log need."""

    name: str
    data: bytes
    rows: int
    filename: str
    mimetype: str


def table(
    session: Session,
    wave: SurveyWave,
    name: str,
    *,
    data: WaveData | None = None,
    signals: list[UnitSignals] | None = None,
) -> Table:
    """One aggregate table by name (see :data:`CSV_TABLES`); ``data`` is the wave's, if loaded,
    and ``signals`` its signs of gaming if computed (the results cache's: not recomputed).

    :raise NotFound: for an unknown name.
    """
    if name not in CSV_TABLES:
        raise NotFound(f"没有名为 {name} 的导出表")
    if name == "signals" and signals is not None:
        return signals_table(signals)
    return CSV_TABLES[name](session, data if data is not None else load_wave(session, wave))


def workbook_sheets(
    session: Session,
    wave: SurveyWave,
    *,
    data: WaveData | None = None,
    signals: list[UnitSignals] | None = None,
) -> list[Sheet]:
    """Every aggregate table as a formatted sheet (no microdata); ``signals`` as in
    :func:`table`."""
    data = data if data is not None else load_wave(session, wave)
    if signals is None:
        signals = wave_signals(session, data.wave)
    ranked = wave_results(session, wave, data=data)  # memoised: the scores and ranking sheets
    estimates = tables.estimates(session, data)
    dispositions = tables.dispositions(session, data)
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
        Sheet("异常信号", *signals_table(signals)),
        Sheet("排名分界检验", *cut_rows(ranked), widths={10: 60}),
        Sheet("排名视图", *rank_rows(ranked)),
    ]
    return sheets


def xlsx_export(
    session: Session,
    wave: SurveyWave,
    *,
    timezone: str = DEFAULT_TIMEZONE,
    data: WaveData | None = None,
    signals: list[UnitSignals] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ExportFile:
    """The workbook; the 说明 sheet gives its times in ``timezone``; ``signals`` as in
    :func:`table`.

    ``progress(done, total)`` is told of each sheet written (a background export's bar).
    """
    sheets = workbook_sheets(session, wave, data=data, signals=signals)
    if progress is not None:
        progress(1, len(sheets) + 2)
    book = build_workbook(
        sheets,
        properties=provenance(session, wave, timezone=timezone),
        progress=None if progress is None else lambda done: progress(done + 1, len(sheets) + 2),
    )
    return ExportFile(
        name="report_xlsx",
        data=book,
        rows=sum(len(s.rows) for s in sheets),
        filename=f"满意度报告-{wave.name}.xlsx",
        mimetype=XLSX_MIMETYPE,
    )


def csv_export(
    session: Session,
    wave: SurveyWave,
    name: str,
    *,
    data: WaveData | None = None,
    signals: list[UnitSignals] | None = None,
) -> ExportFile:
    """One aggregate table as a CSV file; built once per load of ``data`` when given (the
    signals' from ``signals`` when given, as in :func:`table`: they have a version of their
    own, the lists').

    :raise NotFound: for an unknown table name.
    """

    def build() -> ExportFile:
        header, rows = table(session, wave, name, data=data, signals=signals)
        return ExportFile(
            name=f"{name}_csv",
            data=reports.csv_bytes(header, rows),
            rows=len(rows),
            filename=f"{name}-{wave.name}.csv",
            mimetype=CSV_MIMETYPE,
        )

    if name not in CSV_TABLES:
        raise NotFound(f"没有名为 {name} 的导出表")
    return build() if data is None or signals is not None else data.memo(f"csv:{name}", build)


def results_export(wave: SurveyWave, rows) -> ExportFile:
    """The scores of :func:`result_table.results_table` as the results page's CSV file."""
    header, table_rows = results_table(rows)
    return ExportFile(
        name="results_csv",
        data=reports.csv_bytes(header, table_rows),
        rows=len(table_rows),
        filename=f"results-{wave.name}.csv",
        mimetype=CSV_MIMETYPE,
    )


def microdata_export(
    session: Session, wave: SurveyWave, *, data: WaveData | None = None
) -> ExportFile:
    header, rows = microdata(session, data if data is not None else load_wave(session, wave))
    return ExportFile(
        name="microdata_csv",
        data=reports.csv_bytes(header, rows),
        rows=len(rows),
        filename=f"microdata-{wave.name}.csv",
        mimetype=CSV_MIMETYPE,
    )


ZIP_MIMETYPE = "application/zip"


def microdata_bundle_export(
    session: Session, wave: SurveyWave, *, data: WaveData | None = None
) -> ExportFile:
    """The microdata (CSV without BOM) with the R script, Stata do-file and dictionary."""
    body, rows = bundle_bytes(session, data if data is not None else load_wave(session, wave))
    return ExportFile(
        name="microdata_zip",
        data=body,
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
