"""Estimates: each unit's 10-point score with its confidence interval.

Respondents' scores come from the script's own scoring
(:func:`call_scripts.respondent_score`); the estimates from
:func:`sampling.domain_means`, one domain per unit.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func
from sqlmodel import Session, select

import call_scripts
import sampling

from ..models import Answer, Case, SampleDraw, SurveyWave, Unit
from .interviews import script_for_wave

RESPONDENT_DISPOSITIONS = ("1.1", "1.2")
MIN_VALID = 30  # the design's minimum of valid answers per unit


@dataclass(frozen=True)
class UnitResult:
    code: str
    name: str
    category: str
    frame_size: int
    sampled: int
    completes: int
    n: int
    mean: float
    se: float
    ci_low: float
    ci_high: float
    method: str
    note: str


def latest_draw(session: Session, wave: SurveyWave) -> SampleDraw | None:
    return session.exec(
        select(SampleDraw).where(SampleDraw.wave_id == wave.id).order_by(SampleDraw.id.desc())
    ).first()


def respondent_scores(
    session: Session, wave: SurveyWave, draw: SampleDraw
) -> dict[int, tuple[str, float]]:
    """Map case id to (stratum, score on 0-10) for every respondent with a score."""
    script = script_for_wave(wave)
    answers: dict[int, dict[str, str]] = defaultdict(dict)
    strata: dict[int, str] = {}
    rows = session.exec(
        select(Answer.case_id, Answer.item_id, Answer.value, Case.stratum)
        .join(Case, Case.id == Answer.case_id)
        .where(Case.draw_id == draw.id, Case.disposition.in_(RESPONDENT_DISPOSITIONS))
    ).all()
    for case_id, item_id, value, stratum in rows:
        answers[case_id][item_id] = value
        strata[case_id] = stratum
    scores = {}
    for case_id, given in answers.items():
        score = call_scripts.respondent_score(script, given)
        if score is not None:
            scores[case_id] = (strata[case_id], float(score))
    return scores


def unit_results(session: Session, wave: SurveyWave) -> list[UnitResult]:
    """One row per active unit, in code order; units without respondents say why."""
    units = session.exec(select(Unit).where(Unit.active).order_by(Unit.code)).all()
    draw = latest_draw(session, wave)
    strata_design = draw.design.get("strata", {}) if draw else {}
    counts: dict[str, tuple[int, int]] = {}
    estimates: dict[str, dict] = {}
    if draw is not None:
        for stratum, sampled in session.exec(
            select(Case.stratum, func.count(Case.id))
            .where(Case.draw_id == draw.id)
            .group_by(Case.stratum)
        ).all():
            counts[stratum] = (int(sampled), 0)
        completes = session.exec(
            select(Case.stratum, func.count(Case.id))
            .where(Case.draw_id == draw.id, Case.disposition == "1.1")
            .group_by(Case.stratum)
        ).all()
        for stratum, n in completes:
            counts[stratum] = (counts.get(stratum, (0, 0))[0], int(n))
        scores = respondent_scores(session, wave, draw)
        if scores:
            domain = np.array([s for s, _ in scores.values()], dtype=str)
            y = np.array([v for _, v in scores.values()], dtype=float)
            population = {(code, code): spec["N"] for code, spec in strata_design.items()}
            table = sampling.domain_means(y, domain, domain, population).to_records()
            for row in table:
                estimates[str(row["domain"])] = row
    results = []
    for unit in units:
        spec = strata_design.get(unit.code)
        sampled, completes = counts.get(unit.code, (0, 0))
        row = estimates.get(unit.code)
        if row is None or int(row["n"]) == 0:
            note = "未抽样" if spec is None else "尚无有效回答"
            results.append(
                UnitResult(
                    unit.code,
                    unit.name,
                    unit.category,
                    spec["N"] if spec else 0,
                    sampled,
                    completes,
                    0,
                    math.nan,
                    math.nan,
                    math.nan,
                    math.nan,
                    "none",
                    note,
                )
            )
            continue
        results.append(
            UnitResult(
                unit.code,
                unit.name,
                unit.category,
                spec["N"],
                sampled,
                completes,
                int(row["n"]),
                float(row["mean"]),
                float(row["se"]),
                float(row["ci_low"]),
                float(row["ci_high"]),
                str(row["method"]),
                _note(row),
            )
        )
    return results


METHOD_NOTES = {
    "census": "普查：全部服务对象均被抽中，无抽样误差",
    "zero-variance-bound": "回答完全相同：区间按未受访者可能不同的精确界限给出（小样本方法）",
    "no-respondents": "尚无有效回答",
}


def _note(row) -> str:
    notes = [METHOD_NOTES[str(row["method"])]] if str(row["method"]) in METHOD_NOTES else []
    if bool(row["collapsed"]):
        notes.append("单个受访者的子层已与相邻子层合并")
    if int(row["n"]) < MIN_VALID:
        notes.append(f"有效回答少于 {MIN_VALID}")
    return "；".join(notes)


RESULT_HEADER = [
    "单位代码",
    "单位名称",
    "类别",
    "抽样框规模",
    "样本量",
    "完成访问",
    "有效回答",
    "得分(10分制)",
    "标准误",
    "95%区间下限",
    "95%区间上限",
    "方法",
    "说明",
]


def results_table(rows: list[UnitResult]) -> tuple[list[str], list[list]]:
    """The CSV/XLSX table of :func:`unit_results` (numbers rounded to 4 places)."""

    def r(value: float):
        return "" if math.isnan(value) else round(value, 4)

    return RESULT_HEADER, [
        [
            u.code,
            u.name,
            u.category,
            u.frame_size,
            u.sampled,
            u.completes,
            u.n,
            r(u.mean),
            r(u.se),
            r(u.ci_low),
            r(u.ci_high),
            u.method,
            u.note,
        ]
        for u in rows
    ]
