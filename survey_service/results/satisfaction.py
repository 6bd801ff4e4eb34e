"""满意率: the weighted share of satisfied answers per unit, beside the 10-point score.

Chinese practice reports both the score (满意度) and the share of respondents
who answered 非常满意, 满意 or 基本满意 (满意率; the levels are the script's
``scoring.satisfied.levels``, :func:`call_scripts.is_satisfied`). Per unit and
rating item: the respondents who rated the item are the valid n; 说不清 and
items not asked are left out of the share and counted on their own (the
说不清 share is of those who rated the item or said 说不清). The share and
its interval come from :func:`sampling.domain_proportions` with the same
sub-strata and populations as the score: weights ``N_h / r_h`` with ``r_h``
the sub-stratum's raters of the item, and a Korn–Graubard interval
(Clopper–Pearson on the effective sample size, df-adjusted), which stays
inside [0, 1] and does not collapse at 100%, where most units sit.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

import sampling
from survey_service.results.respondents import WaveData

INTERVAL_METHOD = "korn-graubard"
METHOD_LABELS = {
    "korn-graubard": "Korn–Graubard（Clopper–Pearson，有效样本量）",
    "census": "普查：无抽样误差",
    "no-respondents": "尚无有效回答",
}


@dataclass(frozen=True)
class Satisfaction:
    """One unit's 满意率 on one item."""

    rate: float  # weighted share satisfied, 0-1 (NaN without raters)
    ci_low: float
    ci_high: float
    n: int  # valid n: respondents who rated the item
    not_applicable: int  # 说不清 / 不了解
    method: str

    @property
    def not_applicable_share(self) -> float:
        asked = self.n + self.not_applicable
        return self.not_applicable / asked if asked else math.nan


EMPTY = Satisfaction(math.nan, math.nan, math.nan, 0, 0, "no-respondents")


def overall_item(data: WaveData) -> str | None:
    """The item the unit's 满意率 is read from (the script's satisfied item), if any."""
    return data.script.scoring.satisfied_item


def satisfaction(data: WaveData, item_id: str) -> dict[str, Satisfaction]:
    """满意率 of every unit with a rater or a 说不清 on ``item_id``, by unit code."""
    item = data.script.item(item_id)
    # call_scripts.is_satisfied, for every respondent at once: rated where the points are
    if not data.respondents:
        return {}
    respondents = data.respondents
    rated = ~np.isnan(data.points[:, data.rating_column(item_id)])
    raters = np.flatnonzero(rated)
    levels = data.script.scoring.satisfied_levels
    # the raters' answers read by index, their units and sub-strata from the cached arrays
    y = np.fromiter(
        (respondents[i].answers[item_id] in levels for i in raters.tolist()),
        dtype=float,
        count=len(raters),
    )
    not_applicable: dict[str, int] = defaultdict(int)
    for i in np.flatnonzero(~rated).tolist():
        resp = respondents[i]
        option = item.option(resp.answers.get(item_id, ""))
        if option is not None and option.not_applicable:
            not_applicable[resp.unit] += 1
    out: dict[str, Satisfaction] = {
        code: Satisfaction(math.nan, math.nan, math.nan, 0, count, "no-respondents")
        for code, count in not_applicable.items()
    }
    if not len(y) or not data.population:
        return out
    table = sampling.domain_proportions(
        y,
        data.unit_codes[raters],
        data.stratum_labels[raters],
        data.population,
        method=INTERVAL_METHOD,
    ).to_records()
    for row in table:
        code = str(row["domain"])
        n = int(row["n"])
        if n == 0:
            continue
        out[code] = Satisfaction(
            rate=float(row["proportion"]),
            ci_low=float(row["ci_low"]),
            ci_high=float(row["ci_high"]),
            n=n,
            not_applicable=not_applicable.get(code, 0),
            method=str(row["method"]),
        )
    return out


def by_item(data: WaveData, item_ids: list[str]) -> dict[str, dict[str, Satisfaction]]:
    """:func:`satisfaction` of each item, by item id then unit code."""
    return {item_id: satisfaction(data, item_id) for item_id in item_ids}


def overall(data: WaveData) -> dict[str, Satisfaction]:
    """Every unit's 满意率 on the overall (satisfied) item; empty if the script has none."""
    item_id = overall_item(data)
    if item_id is None or not data.respondents:
        return {}
    return satisfaction(data, item_id)
