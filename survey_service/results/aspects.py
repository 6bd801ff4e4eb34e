"""Per-item (aspect) statistics: each unit's weighted mean of every scored rating item.

Respondents (1.1, 1.2, :mod:`results.respondents`) who rated the item; 说不清
and items not asked are left out, never scored as zero, and counted on their
own. Weights ``N_h / r_h`` with ``r_h`` the sub-stratum's respondents who
rated this item, from the same sub-strata and populations as the unit's
score (:func:`sampling.domain_means`). The exports' aspects table and the
unit report both read :func:`aspect_results`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import call_scripts
import sampling
from call_scripts import Script
from survey_service.results import satisfaction
from survey_service.results.estimates import METHOD_NOTES
from survey_service.results.respondents import WaveData

COLLAPSED_NOTE = "只有一个受访者的子层已与相邻子层合并计算方差"
SUBGROUP_NOTE = "只询问部分受访者（如只问企业）的题目：按子总体（domain）估计，权数来自全部受访者"


def _subgroup(data: WaveData, item, points: np.ndarray) -> dict[str, np.void]:
    """Domain estimates of an item asked of a subgroup (``ask_if``), by subgroup_means.

    Every respondent of the unit carries its weight; members are those for whom the item's
    condition holds on their answers, non-members count as zeros in the linearisation.
    """
    y = points / 10
    member = np.array([item.ask_if.holds(r.answers) for r in data.respondents])
    table = sampling.subgroup_means(
        y, member, data.unit_codes, data.stratum_labels, data.population
    ).to_records()
    return {str(row["domain"]): row for row in table}


@dataclass(frozen=True)
class AspectResult:
    unit: str
    unit_name: str
    category: str
    item: str
    title: str
    weight: float  # the item's scoring weight
    n: int  # respondents who rated the item
    not_applicable: int  # 说不清 / 不了解
    mean: float  # 0-10
    se: float
    ci_low: float
    ci_high: float
    df: float
    method: str
    note: str
    satisfied: float = math.nan  # 满意率 of the item (results.satisfaction), 0-1
    satisfied_low: float = math.nan
    satisfied_high: float = math.nan
    subgroup: bool = False  # asked of a subgroup only (ask_if): a domain estimate
    n_base: int = 0  # respondents of the unit behind a subgroup estimate's weights

    @property
    def not_applicable_share(self) -> float:
        """说不清 among those asked who gave a rating or 说不清 (NaN when nobody)."""
        asked = self.n + self.not_applicable
        return self.not_applicable / asked if asked else math.nan


def scored_items(script: Script) -> list[call_scripts.Item]:
    """The rating items that count in the score (weight > 0), in script order."""
    weights = script.scoring.weights
    return [it for it in script.rating_items if weights.get(it.id, 0) > 0]


def aspect_results(data: WaveData) -> list[AspectResult]:
    """One row per active unit and scored item (unit code, then script order).

    Computed once per load of ``data`` (``data.memo``).
    """
    return data.memo("aspect_results", lambda: _aspect_results(data))


def _aspect_results(data: WaveData) -> list[AspectResult]:
    items = scored_items(data.script)
    estimates: dict[str, dict[str, np.void]] = {}
    for item in items:
        # the item's points of every respondent (call_scripts.aspect_points, all at once)
        points = data.points[:, data.rating_column(item.id)] if data.respondents else np.zeros(0)
        rated = ~np.isnan(points)
        if item.ask_if is not None and data.respondents and data.population:
            estimates[item.id] = _subgroup(data, item, points)
        elif rated.any() and data.population:
            table = sampling.domain_means(
                points[rated] / 10,
                data.unit_codes[rated],
                data.stratum_labels[rated],
                data.population,
            ).to_records()
            estimates[item.id] = {str(row["domain"]): row for row in table}
    design_units = data.draw.design.get("units", {}) if data.draw else {}
    rates = satisfaction.by_item(data, [it.id for it in items]) if data.respondents else {}
    out = []
    for unit in data.units:
        for item in items:
            row = estimates.get(item.id, {}).get(unit.code)
            n = int(row["n"]) if row is not None else 0
            # 满意率 and the 说不清 count of every unit that rated the item or said 说不清
            rate = rates.get(item.id, {}).get(unit.code, satisfaction.EMPTY)
            base = dict(
                unit=unit.code,
                unit_name=unit.name,
                category=unit.category,
                item=item.id,
                title=item.title or item.id,
                weight=float(data.script.scoring.weights[item.id]),
                n=n,
                not_applicable=rate.not_applicable,
            )
            if row is None or n == 0:
                note = "未抽样" if unit.code not in design_units else "尚无有效回答"
                nan = math.nan
                out.append(
                    AspectResult(
                        **base,
                        mean=nan,
                        se=nan,
                        ci_low=nan,
                        ci_high=nan,
                        df=nan,
                        method="none",
                        note=note,
                    )
                )
                continue
            method = str(row["method"])
            notes = [METHOD_NOTES[method]] if method in METHOD_NOTES else []
            subgroup = item.ask_if is not None
            if subgroup:
                notes.append(SUBGROUP_NOTE)
            elif bool(row["collapsed"]):
                notes.append(COLLAPSED_NOTE)
            out.append(
                AspectResult(
                    **base,
                    mean=float(row["mean"]),
                    se=float(row["se"]),
                    ci_low=float(row["ci_low"]),
                    ci_high=float(row["ci_high"]),
                    df=float(row["df"]),
                    method=method,
                    note="；".join(notes),
                    satisfied=rate.rate,
                    satisfied_low=rate.ci_low,
                    satisfied_high=rate.ci_high,
                    subgroup=subgroup,
                    n_base=int(row["n_base"]) if subgroup else n,
                )
            )
    return out
