"""Non-response, stated: response by client kind, R-indicator, bounds on each score.

For each unit, from the draw's released cases that were not found ineligible (AAPOR NE):

* the response rate by client kind (sub-stratum): respondents with a score over cases;
* the R-indicator of :func:`sampling.r_indicator` with the client kind as the known
  variable (1 = response as representative as the list's known variables can tell);
* :func:`sampling.nonresponse_bounds`: the lowest and highest the score could be had every
  non-respondent answered anywhere on the scale (Manski bounds, no model).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

import sampling
from survey_service.results.respondents import WaveData


@dataclass(frozen=True)
class UnitNonresponse:
    cases: int  # released cases not found ineligible
    answered: int  # of them with a score
    r_indicator: float
    bound_low: float
    bound_high: float
    nonresponse_share: float
    by_kind: dict[str, tuple[int, int]]  # client kind -> (answered, cases)


def nonresponse(
    data: WaveData, codes: dict[int, tuple[str, str, str]]
) -> dict[str, UnitNonresponse]:
    """Per unit code; ``codes`` is ``{case id: (unit, sub-stratum, AAPOR code now)}``."""
    if not codes or not data.population:
        return {}
    eligible = {cid: v for cid, v in codes.items() if sampling.CODE_GROUP.get(v[2], "UH") != "NE"}
    scored = {r.case_id for r in data.scored}
    sampled: dict[tuple[str, str], int] = defaultdict(int)
    kinds: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for cid, (unit, stratum, _code) in eligible.items():
        sampled[(unit, stratum)] += 1
        cell = kinds[unit][stratum]
        cell[1] += 1
        cell[0] += cid in scored
    # a respondent found later to be in a stratum never released cannot happen; guard anyway
    for r in data.scored:
        sampled.setdefault((r.unit, r.stratum), 0)
        if sampled[(r.unit, r.stratum)] < 1:
            sampled[(r.unit, r.stratum)] = 1
    bounds = sampling.nonresponse_bounds(
        np.array([r.score for r in data.scored], dtype=float),
        np.array([r.unit for r in data.scored]),
        np.array([r.stratum for r in data.scored]),
        data.population,
        dict(sampled),
    )
    ids = sorted(eligible)
    with np.errstate(invalid="ignore", divide="ignore"):
        ri = sampling.r_indicator(
            np.array([cid in scored for cid in ids]),
            np.array([eligible[cid][0] for cid in ids]),
            np.array([eligible[cid][1] for cid in ids]),
        )
    r_by = {str(d): float(v) for d, v in zip(ri.domain.tolist(), ri.r.tolist(), strict=True)}
    out = {}
    for i, unit in enumerate(bounds.domain.tolist()):
        cells = kinds.get(str(unit), {})
        out[str(unit)] = UnitNonresponse(
            cases=int(sum(c[1] for c in cells.values())),
            answered=int(sum(c[0] for c in cells.values())),
            r_indicator=r_by.get(str(unit), math.nan),
            bound_low=float(bounds.low[i]),
            bound_high=float(bounds.high[i]),
            nonresponse_share=float(bounds.nonresponse_share[i]),
            by_kind={k: (c[0], c[1]) for k, c in sorted(cells.items())},
        )
    return out
