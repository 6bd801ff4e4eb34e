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
    """Per unit code; ``codes`` is ``{case id: (unit, sub-stratum, AAPOR code now)}``.

    Counted in arrays over the cases (sorted by case id), cells by unit and sub-stratum.
    """
    if not codes or not data.population:
        return {}
    ids = np.fromiter(codes, dtype=np.int64, count=len(codes))
    unit_column, stratum_column, now = zip(*codes.values(), strict=True)
    units, strata = np.array(unit_column), np.array(stratum_column)
    ineligible = {c for c in set(now) if sampling.CODE_GROUP.get(c, "UH") == "NE"}
    order = np.argsort(ids, kind="stable")
    if ineligible:
        keep = np.fromiter((c not in ineligible for c in now), dtype=bool, count=len(now))
        order = order[keep[order]]
    ids, units, strata = ids[order], units[order], strata[order]
    scored = data.scored
    answered = np.isin(ids, np.fromiter((r.case_id for r in scored), dtype=np.int64))
    unit_names, unit_code = np.unique(units, return_inverse=True)
    stratum_names, stratum_code = np.unique(strata, return_inverse=True)
    cells, cell = np.unique(
        unit_code.astype(np.int64) * stratum_names.size + stratum_code, return_inverse=True
    )
    cases = np.bincount(cell, minlength=cells.size)
    hits = np.bincount(cell, weights=answered, minlength=cells.size).astype(np.int64)
    cell_unit = unit_names[cells // stratum_names.size].tolist()
    cell_stratum = stratum_names[cells % stratum_names.size].tolist()
    sampled = dict(zip(zip(cell_unit, cell_stratum, strict=True), cases.tolist(), strict=True))
    # a respondent found later to be in a stratum never released cannot happen; guard anyway
    scored_units = np.array([r.unit for r in scored])
    scored_strata = np.array([r.stratum for r in scored])
    for pair in set(zip(scored_units.tolist(), scored_strata.tolist(), strict=True)):
        if sampled.get(pair, 0) < 1:
            sampled[pair] = 1
    bounds = sampling.nonresponse_bounds(
        np.array([r.score for r in scored], dtype=float),
        scored_units,
        scored_strata,
        data.population,
        sampled,
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        ri = sampling.r_indicator(answered, units, strata)
    r_by = {str(d): float(v) for d, v in zip(ri.domain.tolist(), ri.r.tolist(), strict=True)}
    kinds: dict[str, dict[str, tuple[int, int]]] = {}
    for u, h, a, c in zip(cell_unit, cell_stratum, hits.tolist(), cases.tolist(), strict=True):
        kinds.setdefault(u, {})[h] = (a, c)  # cells in unit then sub-stratum order
    out = {}
    for i, unit in enumerate(bounds.domain.tolist()):
        cells_of = kinds.get(str(unit), {})
        out[str(unit)] = UnitNonresponse(
            cases=sum(c for _a, c in cells_of.values()),
            answered=sum(a for a, _c in cells_of.values()),
            r_indicator=r_by.get(str(unit), math.nan),
            bound_low=float(bounds.low[i]),
            bound_high=float(bounds.high[i]),
            nonresponse_share=float(bounds.nonresponse_share[i]),
            by_kind=cells_of,
        )
    return out
