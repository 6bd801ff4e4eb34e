"""The case-level microdata for R and Stata: design columns of :mod:`sampling.microdata`.

One row per released case of the wave's latest draw, respondents and nonrespondents
(with their disposition), keyed by the case's random pseudonym; no phone, name, client
or case id and no free-text answer. Column names are ASCII (valid R and Stata names):

``pseudonym, unit, stratum, disposition, respondent, interviewer, mode`` then the design
columns of :func:`sampling.microdata.design_columns` for the score (``vstrat, weight,
N_vstrat, f_vstrat, df``), the ``score`` and one column per answered item (its id; the
stored code, ``na`` = 说不清, ``_skipped`` = skipped). ``N_vstrat`` is the population
size of the variance stratum, ``f_vstrat`` the sampling fraction (R ``fpc=~N_vstrat``,
Stata ``fpc(N_vstrat)``): the old ``1 - f`` column made R take it as a fraction and
give wrong SEs. ``interviewer`` is a per-export pseudonym (``I01``, ``I02``… in order of
the staff account) of the agent on the case's last attempt, empty for the IVR; ``mode``
is ``agent`` or ``ivr`` (empty when never dialled).

:func:`microdata_bundle` adds the R script, the Stata do-file and the data dictionary.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile

import numpy as np
from sqlalchemy import func
from sqlmodel import Session, select

from sampling import microdata as md
from survey_service.models import CallAttempt, Case, CaseStatus, SurveyWave, Unit
from survey_service.results.exports.comments import OPEN_KIND
from survey_service.results.exports.common import Table
from survey_service.results.respondents import WaveData, load_wave

NO_VALUE_KINDS = ("statement", OPEN_KIND)  # not in the microdata (no value, or free text)
NOT_DIALLED = "UH"  # a released case never dialled (as results.estimates counts it)
CASE_COLUMNS = ["pseudonym", "unit", "stratum", "disposition", "respondent", "interviewer", "mode"]
DESIGN_COLUMNS = ["vstrat", "weight", "N_vstrat", "f_vstrat", "df", "score"]
CSV_NAME = "microdata.csv"
R_NAME = "load_microdata.R"
STATA_NAME = "load_microdata.do"
DICTIONARY_NAME = "dictionary.md"


def _cases(session: Session, data: WaveData) -> list[tuple]:
    """(case id, pseudonym, unit, stratum, disposition, agent id, channel) of released cases."""
    last = (
        select(CallAttempt.case_id, func.max(CallAttempt.id).label("last_id"))
        .group_by(CallAttempt.case_id)
        .subquery()
    )
    rows = session.exec(
        select(
            Case.id,
            Case.pseudonym,
            Unit.code,
            Case.stratum,
            Case.status,
            Case.disposition,
            CallAttempt.outcome,
            CallAttempt.agent_id,
            CallAttempt.channel,
        )
        .join(Unit, Unit.id == Case.unit_id)
        .join(last, last.c.case_id == Case.id, isouter=True)
        .join(CallAttempt, CallAttempt.id == last.c.last_id, isouter=True)
        .where(Case.draw_id == data.draw.id, Case.released)
        .order_by(Unit.code, Case.pseudonym)
    ).all()
    out = []
    for case_id, pseudonym, code, stratum, status, disposition, outcome, agent, channel in rows:
        if status == CaseStatus.FINAL and disposition:
            code_now = disposition
        else:
            code_now = outcome or NOT_DIALLED
        out.append((case_id, pseudonym, code, stratum, code_now, agent, channel))
    return out


def _cell(value: float):
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else value


def microdata(session: Session, data: WaveData) -> Table:
    items = [it for it in data.script.items if it.kind not in NO_VALUE_KINDS]
    header = [*CASE_COLUMNS, *DESIGN_COLUMNS, *[it.id for it in items]]
    if data.draw is None:
        return header, []
    cases = _cases(session, data)
    by_case = {r.case_id: r for r in data.respondents}
    score = np.array(
        [
            np.nan
            if by_case.get(c[0]) is None or by_case[c[0]].score is None
            else by_case[c[0]].score
            for c in cases
        ],
        dtype=float,
    )
    design = None
    if cases and np.isfinite(score).any():
        design = md.design_columns(
            score, [c[2] for c in cases], [c[3] for c in cases], data.population
        )
    agents = sorted({c[5] for c in cases if c[5] is not None})
    interviewer = {agent: f"I{i + 1:02d}" for i, agent in enumerate(agents)}
    rows = []
    for i, (case_id, pseudonym, unit, stratum, disposition, agent, channel) in enumerate(cases):
        resp = by_case.get(case_id)
        answers = resp.answers if resp is not None else {}
        mode = "" if channel is None else ("ivr" if channel == "ivr" else "agent")
        if design is not None and np.isfinite(score[i]):
            columns = [
                str(design.vstrat[i]),
                float(design.weight[i]),
                float(design.N_vstrat[i]),
                float(design.f_vstrat[i]),
                float(design.df[i]),
                float(score[i]),
            ]
        else:
            columns = ["", "", "", "", "", ""]
        rows.append(
            [
                pseudonym,
                unit,
                stratum,
                resp.disposition if resp is not None else disposition,
                1 if resp is not None else 0,
                interviewer.get(agent, "") if mode == "agent" else "",
                mode,
                *columns,
                *[answers.get(it.id, "") for it in items],
            ]
        )
    return header, rows


def microdata_table(session: Session, wave: SurveyWave) -> Table:
    """One row per released case (respondents and nonrespondents) for the statisticians.

    Weight, variance stratum, ``N_vstrat``, ``f_vstrat`` and ``df`` are the ones behind the
    estimates (``N_h / r_h`` with ``r_h`` the sub-stratum's respondents with a score, after
    collapsing, see :mod:`sampling.weights`); a row without a score has none. Numbers are
    not rounded; rows by unit code, then pseudonym.
    """
    return microdata(session, load_wave(session, wave))


def dictionary(data: WaveData) -> str:
    """The data dictionary: the case and design columns, then each item with its title."""
    items = [it for it in data.script.items if it.kind not in NO_VALUE_KINDS]
    lines = [
        f"# Microdata of wave {data.wave.name}",
        "",
        f"File `{CSV_NAME}`: UTF-8, comma-separated, one row per released case of the draw.",
        "Respondents (`respondent` = 1) and nonrespondents (0, with their disposition).",
        "",
        "| column | meaning |",
        "|---|---|",
        "| pseudonym | Random case pseudonym (no phone, name or client id). |",
        "| disposition | AAPOR code: final, else the last attempt's outcome; UH = never dialled. |",
        "| respondent | 1 for a complete (1.1) or partial (1.2) interview, else 0. |",
        "| interviewer | Per-export pseudonym of the agent on the last attempt (empty: IVR). |",
        "| mode | agent or ivr (the last attempt's channel; empty: never dialled). |",
    ]
    lines += md.data_dictionary().splitlines()[2:]
    lines += [
        f"| {it.id} | Answer code to 「{it.title or it.id}」 (na = 说不清, _skipped = skipped). |"
        for it in items
    ]
    lines += [
        "",
        f"`{R_NAME}` (R, package survey) and `{STATA_NAME}` (Stata 14+) re-estimate every",
        "unit: one design per unit, strata = vstrat, fpc = N_vstrat, weights, t on df (n - H).",
        "They write `estimates_r.csv` / `estimates_stata.csv` (unit, n, mean, se, ci_low,",
        "ci_high, df) and reproduce the published Taylor and census figures (the R script is",
        "tested against them; the do-file only structurally, Stata being unavailable to the",
        "tests); units published with the",
        "zero-variance bound (every answer the same) use a rule R and Stata do not have.",
    ]
    return "\n".join(lines) + "\n"


def bundle_bytes(session: Session, data: WaveData) -> tuple[bytes, int]:
    """The zip of the microdata CSV (no BOM), R script, Stata do-file and dictionary."""
    header, rows = microdata(session, data)
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([header, *rows])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(CSV_NAME, text.getvalue().encode("utf-8"))
        archive.writestr(R_NAME, md.r_script(CSV_NAME))
        archive.writestr(STATA_NAME, md.stata_do(CSV_NAME))
        archive.writestr(DICTIONARY_NAME, dictionary(data))
    return buffer.getvalue(), len(rows)


def microdata_bundle(session: Session, wave: SurveyWave) -> tuple[bytes, int]:
    return bundle_bytes(session, load_wave(session, wave))
