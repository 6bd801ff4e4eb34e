"""Estimates: each unit's 10-point score with its interval, response rates and rank odds.

Respondents and their scores come from the one respondent loader
(:mod:`results.respondents`, the script's own scoring); the 满意率 from
:mod:`results.satisfaction`; the estimates from
:func:`sampling.domain_means` (one domain per unit, sub-strata by client
kind, weights N_h / r_h), the response rates from :func:`sampling.aapor_rates`
and the chance of a place among the bottom or top ten from
:func:`sampling.rank_probabilities`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from sqlalchemy import func
from sqlmodel import Session, select

import sampling
from survey_service.dispositions import COMPLETE
from survey_service.models import Case, CaseStatus, SampleDraw, SurveyWave, Unit
from survey_service.results import rows, satisfaction
from survey_service.results.nonresponse import UnitNonresponse, nonresponse
from survey_service.results.ranks import (
    BELOW_MINIMUM_REASONS,
    RANK_ASSUMPTION,
    RANK_K,
    RANK_SEED,
    minimum_reasons,
    rank_units,
)
from survey_service.results.respondents import RESPONDENT_DISPOSITIONS, WaveData, load_wave
from survey_service.results.result_table import RESULT_HEADER, interval_method, results_table
from survey_service.sample.draws import latest_draw

__all__ = [  # re-exported: callers name them from here too
    "BELOW_MINIMUM_REASONS",
    "RANK_ASSUMPTION",
    "RANK_K",
    "RANK_SEED",
    "RESPONDENT_DISPOSITIONS",
    "RESULT_HEADER",
    "interval_method",
    "results_table",
]
NOT_DIALLED = "UH"  # disposition_counts' key for a released case never dialled
MIN_VALID = 30  # the design's minimum of valid answers before a unit can be ranked
SMALL_GROUP = 5  # below this many respondents no distribution or comment goes to a unit

METHOD_NOTES = {
    "census": "普查：全部服务对象均被抽中并回答，无抽样误差",
    "zero-variance-bound": "回答完全相同：区间按未受访者可能不同的精确界限给出（小样本方法）",
    "no-respondents": "尚无有效回答",
}


@dataclass(frozen=True)
class UnitResult:
    code: str
    name: str
    category: str
    frame_size: int
    target: int  # completes the design aims for
    released: int
    completes: int
    n: int  # respondents with a score
    mean: float
    se: float
    ci_low: float
    ci_high: float
    deff: float
    method: str
    note: str
    rr3: float = math.nan
    coop1: float = math.nan
    ref1: float = math.nan
    con1: float = math.nan
    bottom: float = math.nan  # probability of a place among the bottom RANK_K
    top: float = math.nan
    flags: tuple[str, ...] = field(default_factory=tuple)
    # 满意率 on the overall item (results.satisfaction): share, interval, valid n, 说不清 share
    satisfied: float = math.nan
    satisfied_low: float = math.nan
    satisfied_high: float = math.nan
    satisfied_n: int = 0
    dont_know: float = math.nan
    # degrees of freedom (sampling.domain_means): the one used, n - H, Satterthwaite, flag
    df: float = math.nan
    df_design: float = math.nan
    df_satterthwaite: float = math.nan
    df_flag: bool = False
    df_method: str = "n-h"
    rank_se: float = math.nan
    # below the design's minimum of valid answers: why (keys of BELOW_MINIMUM_REASONS)
    below_minimum: bool = False
    minimum_reasons: tuple[str, ...] = field(default_factory=tuple)
    open_cases: int = 0  # released cases not yet final
    # non-response (results.nonresponse) and the interim rates' never-dialled count
    rr4: float = math.nan
    not_dialled: int = 0  # released cases never dialled (counted as UH in the rates)
    r_indicator: float = math.nan
    bound_low: float = math.nan  # the score had every non-respondent answered 0
    bound_high: float = math.nan  # ... or 10
    nonresponse_share: float = math.nan
    response_by_kind: str = ""  # e.g. "群众 5/8；企业 3/4"


def cases_by_unit(session: Session, draw: SampleDraw, *conditions) -> dict[str, int]:
    """Count the draw's cases per unit code that meet ``conditions``."""
    return dict(
        session.exec(
            select(Unit.code, func.count(Case.id))
            .join(Unit, Unit.id == Case.unit_id)
            .where(Case.draw_id == draw.id, *conditions)
            .group_by(Unit.code)
        ).all()
    )


def case_dispositions(session: Session, draw: SampleDraw) -> dict[int, tuple[str, str, str]]:
    """``{case id: (unit code, sub-stratum, AAPOR code now)}`` over the released cases.

    A final case counts its disposition; an open case its last attempt's
    outcome; a released case never dialled counts as unknown (UH).
    """
    final = CaseStatus.FINAL.value
    return {
        case_id: (code, stratum, disposition if status == final else (last or NOT_DIALLED))
        for case_id, code, stratum, status, disposition, last in rows.released_cases(
            session, draw.id
        )
    }


def disposition_counts(session: Session, draw: SampleDraw) -> dict[str, dict[str, int]]:
    """AAPOR code counts per unit over released cases, as they stand now (see above)."""
    counts: dict[str, dict[str, int]] = defaultdict(partial(defaultdict, int))
    for code, _stratum, key in case_dispositions(session, draw).values():
        counts[code][key] += 1
    return counts


def data_dispositions(session: Session, data: WaveData) -> dict[int, tuple[str, str, str]]:
    """:func:`case_dispositions` of the data's draw, once per load (``data.memo``)."""
    if data.draw is None:
        return {}
    return data.memo("case_dispositions", lambda: case_dispositions(session, data.draw))


def data_disposition_counts(session: Session, data: WaveData) -> dict[str, dict[str, int]]:
    """:func:`disposition_counts` of the data's draw, once per load (``data.memo``)."""

    def count() -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = defaultdict(partial(defaultdict, int))
        for code, _stratum, key in data_dispositions(session, data).values():
            counts[code][key] += 1
        return counts

    return data.memo("disposition_counts", count)


def unit_results(
    session: Session,
    wave: SurveyWave,
    *,
    min_valid: int = MIN_VALID,
    data: WaveData | None = None,
) -> list[UnitResult]:
    """One row per active unit, in code order; units without respondents say why.

    ``data`` is the wave as :func:`results.respondents.load_wave` gives it (loaded
    here when not given).
    """
    data = data if data is not None else load_wave(session, wave)
    units = data.units
    draw = data.draw
    if draw is None:
        return [
            UnitResult(u.code, u.name, u.category, 0, 0, 0, 0, 0, *[math.nan] * 5, "none", "未抽样")
            for u in units
        ]
    design_units = draw.design.get("units", {})
    released = cases_by_unit(session, draw, Case.released)
    still_open = cases_by_unit(session, draw, Case.released, Case.status != CaseStatus.FINAL)
    codes = data_dispositions(session, data)
    counts = data_disposition_counts(session, data)
    stated = nonresponse(data, codes)
    estimates: dict[str, dict] = {}
    scores = data.scored
    if scores:
        table = sampling.domain_means(
            np.array([r.score for r in scores]),
            np.array([r.unit for r in scores]),
            np.array([r.stratum for r in scores]),
            data.population,
        ).to_records()
        estimates = {str(row["domain"]): row for row in table}
    rates = _rates(counts, [u.code for u in units])
    satisfied = satisfaction.overall(data)
    ranks = rank_units(estimates)
    results = []
    for unit in units:
        spec = design_units.get(unit.code)
        row = estimates.get(unit.code)
        unit_counts = counts.get(unit.code, {})
        completes = unit_counts.get(COMPLETE, 0)
        base = dict(
            code=unit.code,
            name=unit.name,
            category=unit.category,
            frame_size=spec["N"] if spec else 0,
            target=spec["completes"] if spec else 0,
            released=int(released.get(unit.code, 0)),
            completes=completes,
            **rates.get(unit.code, {}),
            **_satisfied(satisfied.get(unit.code)),
            **_stated(stated.get(unit.code)),
            not_dialled=int(counts.get(unit.code, {}).get(NOT_DIALLED, 0)),
        )
        if row is None or int(row["n"]) == 0:
            results.append(
                UnitResult(
                    **base,
                    n=0,
                    mean=math.nan,
                    se=math.nan,
                    ci_low=math.nan,
                    ci_high=math.nan,
                    deff=math.nan,
                    method="none",
                    note="未抽样" if spec is None else "尚无有效回答",
                    flags=("no_estimate",),
                )
            )
            continue
        n = int(row["n"])
        flags = []
        reasons: tuple[str, ...] = ()
        if n < min_valid:
            flags.append("too_few")
            reasons = minimum_reasons(
                base["frame_size"], base["released"], int(still_open.get(unit.code, 0))
            )
        if str(row["method"]) == "zero-variance-bound":
            flags.append("small_sample_interval")
        if str(row["method"]) == "census":
            flags.append("census")
        if bool(row["df_flag"]):
            flags.append("df_satterthwaite_small")
        bottom, top = ranks.get(unit.code, (math.nan, math.nan))
        results.append(
            UnitResult(
                **base,
                n=n,
                mean=float(row["mean"]),
                se=float(row["se"]),
                ci_low=float(row["ci_low"]),
                ci_high=float(row["ci_high"]),
                deff=float(row["deff"]),
                method=str(row["method"]),
                note=_note(row, min_valid, reasons),
                bottom=bottom,
                top=top,
                flags=tuple(flags),
                df=float(row["df"]),
                df_design=float(row["df_design"]),
                df_satterthwaite=float(row["df_satterthwaite"]),
                df_flag=bool(row["df_flag"]),
                rank_se=float(row["rank_se"]),
                below_minimum=n < min_valid,
                minimum_reasons=reasons,
                open_cases=int(still_open.get(unit.code, 0)),
            )
        )
    return results


def _stated(unit: UnitNonresponse | None) -> dict:
    if unit is None:
        return {}
    return {
        "r_indicator": unit.r_indicator,
        "bound_low": unit.bound_low,
        "bound_high": unit.bound_high,
        "nonresponse_share": unit.nonresponse_share,
        "response_by_kind": "；".join(
            f"{kind.split('/', 1)[-1]} {a}/{c}" for kind, (a, c) in unit.by_kind.items()
        ),
    }


def _satisfied(rate: satisfaction.Satisfaction | None) -> dict[str, float]:
    if rate is None:
        return {}
    return {
        "satisfied": rate.rate,
        "satisfied_low": rate.ci_low,
        "satisfied_high": rate.ci_high,
        "satisfied_n": rate.n,
        "dont_know": rate.not_applicable_share,
    }


def _rates(counts: dict, codes: list[str]) -> dict[str, dict[str, float]]:
    if not counts:
        return {}
    keys = sorted({k for c in counts.values() for k in c})
    arrays = {k: np.array([counts.get(code, {}).get(k, 0) for code in codes]) for k in keys}
    with np.errstate(invalid="ignore", divide="ignore"):
        r = sampling.aapor_rates(arrays)
    return {
        code: {
            "rr3": float(r.rr3[i]),
            "rr4": float(r.rr4[i]),
            "coop1": float(r.coop1[i]),
            "ref1": float(r.ref1[i]),
            "con1": float(r.con1[i]),
        }
        for i, code in enumerate(codes)
    }


def _note(row, min_valid: int, reasons: tuple[str, ...] = ()) -> str:
    notes = [METHOD_NOTES[str(row["method"])]] if str(row["method"]) in METHOD_NOTES else []
    if bool(row["collapsed"]):
        notes.append("只有一个受访者的子层已与相邻子层合并计算方差")
    if int(row["n"]) < min_valid:
        notes.append(f"有效回答少于 {min_valid}（设计最低要求），仍参与排名，请结合原因判断")
        notes += [BELOW_MINIMUM_REASONS[r] for r in reasons]
    return "；".join(notes)


def default_sd(session: Session, wave: SurveyWave, fallback: float = 2.0) -> float:
    """The assumed SD for sizing: last wave's pooled within-unit SD of scores, if any."""
    previous = session.exec(
        select(SurveyWave).where(SurveyWave.year < wave.year).order_by(SurveyWave.year.desc())
    ).first()
    if previous is None or latest_draw(session, previous) is None:
        return fallback
    by_unit: dict[str, list[float]] = {}
    for resp in load_wave(session, previous).scored:
        by_unit.setdefault(resp.unit, []).append(resp.score)
    squares = sum(float(np.sum((np.array(v) - np.mean(v)) ** 2)) for v in by_unit.values())
    dof = sum(len(v) - 1 for v in by_unit.values())
    return round(math.sqrt(squares / dof), 2) if dof > 0 and squares > 0 else fallback
