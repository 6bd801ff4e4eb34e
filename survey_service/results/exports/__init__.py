"""The statisticians' exports: sampling report, comments and microdata (one module per artefact).

Every table is ``(header, rows)`` with Chinese headers, built from the stored
data through the same functions the results pages use, so an exported figure
is the figure on the page:

========================  =========================================================
name                      table
========================  =========================================================
``estimates``             each unit's 10-point score (:func:`estimates.results_table`;
                          frozen figures once the wave is closed)
``aspects``               each unit x scored rating item: weighted mean on 0-10,
                          SE, 95% interval, n, 说不清 count (:func:`aspects_table`)
``dispositions``          AAPOR counts and RR1-6, COOP1-4, REF1-3, CON1-3, e per unit
                          and overall (:func:`dispositions_table`)
``design``                per sub-stratum: N_h, planned n_h, replicates, selection
                          probability, respondents r_h, weight (:func:`design_table`)
``parameters``            the draw: id, seed, generator, frame hash, design parameters
``comments``              open answers per unit with personal details removed
                          (:func:`privacy.redact.redact`), no respondent id
``below_minimum``         units below the design's minimum of valid answers, and why
``signals``               signs of gaming per unit, counts and flags
                          (:func:`results.signal_views.signals_table`)
``cuts``, ``ranks``       the tests at the 10th/11th place and the rank view with the
                          empirical-Bayes ranks (:mod:`.ranking`, :mod:`results.cuts`)
``microdata``             one row per released case keyed by the case pseudonym, with
                          the design columns R and Stata read right; for statisticians
                          only (never in the workbook); also as a zip with the R script,
                          Stata do-file and data dictionary (:mod:`.microdata`)
========================  =========================================================

The workbook (:func:`build_xlsx`) holds every table but the microdata, plus a
"说明" sheet with the provenance (:func:`provenance`): code version, script
id/version/digest, draw and seed, data time and export time.

Modules: :mod:`.tables` (estimates, aspects, dispositions, design, parameters),
:mod:`.comments`, :mod:`.microdata`, :mod:`.provenance` (the 说明 sheet and the
code version) and :mod:`.files` (the XLSX/CSV files); every one reads the wave
through the one respondent loader (:mod:`results.respondents`).

Nothing here writes the audit log: the caller records each export in its
transaction (``action="export.<name>"``).
"""

from __future__ import annotations

from survey_service.results.exports.comments import COMMENT_HEADER, comments_table
from survey_service.results.exports.files import (
    CSV_MIMETYPE,
    CSV_TABLES,
    XLSX_MIMETYPE,
    ExportFile,
    build_csv,
    build_microdata_csv,
    build_xlsx,
    csv_export,
    microdata_bundle_export,
    microdata_export,
    results_export,
    table,
    workbook_sheets,
    xlsx_export,
)
from survey_service.results.exports.microdata import microdata_table
from survey_service.results.exports.provenance import code_version, package_version, provenance
from survey_service.results.exports.tables import (
    RATE_NAMES,
    aspects_table,
    design_table,
    dispositions_table,
    estimates_table,
    parameters_table,
)

__all__ = [
    "COMMENT_HEADER",
    "CSV_MIMETYPE",
    "CSV_TABLES",
    "RATE_NAMES",
    "XLSX_MIMETYPE",
    "ExportFile",
    "aspects_table",
    "build_csv",
    "build_microdata_csv",
    "build_xlsx",
    "code_version",
    "comments_table",
    "csv_export",
    "design_table",
    "dispositions_table",
    "estimates_table",
    "microdata_bundle_export",
    "microdata_export",
    "microdata_table",
    "package_version",
    "parameters_table",
    "provenance",
    "results_export",
    "table",
    "workbook_sheets",
    "xlsx_export",
]
