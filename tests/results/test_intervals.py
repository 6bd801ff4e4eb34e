"""Honest intervals through the results stage: monotone bound, on-scale, df shown (issue 16)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sqlmodel import select

import sampling
from survey_service.db import transaction
from survey_service.models import Case, Unit
from survey_service.results import estimates as results
from survey_service.results import exports
from survey_service.results.respondents import load_wave
from survey_service.sample import draws
from tests.factories import make_list, make_unit, make_user, make_wave
from tests.results.test_exports import _content, _interview, build_wave

# P: every answer at the top; Q: the same design, one respondent's overall one level lower
TOP_PLAN = {
    "P": {"群众": (40, [(0, 0)] * 8)},
    "Q": {"群众": (40, [(0, 0)] * 7 + [(0, 1)])},
}


def _build(session, plan):
    with transaction(session):
        reviewer = make_user(session, role="reviewer")
        agent = make_user(session, username="interval_agent", role="agent")
        wave = make_wave(session)
        for i, (code, kinds) in enumerate(plan.items()):
            unit = make_unit(session, code=code, name=f"单位{code}")
            make_list(session, unit=unit, wave=wave, content=_content(i, kinds), actor=reviewer)
        draws.draw_sample(session=session, wave=wave, seed=7, per_unit=8, actor=None)
        for code, kinds in plan.items():
            unit = session.exec(select(Unit).where(Unit.code == code)).one()
            for kind, (_size, answers) in kinds.items():
                cases = session.exec(
                    select(Case)
                    .where(Case.unit_id == unit.id, Case.stratum == f"{code}/{kind}")
                    .order_by(Case.order_rank)
                ).all()
                for case, answer in zip(cases, answers, strict=True):
                    _interview(session, agent, case, answer)
    return wave


def test_all_top_answers_never_get_a_lower_bound_below_one_lower_answer(session):
    wave = _build(session, TOP_PLAN)
    rows = {r.code: r for r in results.unit_results(session, wave)}
    p, q = rows["P"], rows["Q"]
    assert (p.n, q.n) == (8, 8)
    assert p.method == "zero-variance-bound" and q.method == "taylor"
    assert p.mean == 10.0 and q.mean == 9.875
    assert p.ci_low >= q.ci_low  # monotone
    assert p.ci_high == 10.0 and q.ci_high == 10.0  # q's t interval is clipped to the scale
    assert all(0.0 <= v <= 10.0 for r in rows.values() for v in (r.ci_low, r.ci_high))
    # the zero-variance unit is ranked with the spread of its nearest sample, not as exact
    assert p.se == 0.0 and p.rank_se > 0 and not math.isnan(p.bottom)
    # the figures are those of sampling.domain_means on the loader's respondents
    data = load_wave(session, wave)
    ref = sampling.domain_means(
        np.array([r.score for r in data.scored]),
        np.array([r.unit for r in data.scored]),
        np.array([r.stratum for r in data.scored]),
        data.population,
    )
    assert [p.ci_low, q.ci_low] == [float(ref.ci_low[0]), float(ref.ci_low[1])]
    assert p.rank_se == float(ref.rank_se[0])


def test_unit_results_carry_both_df_and_the_estimates_export_names_the_method(session):
    wave = build_wave(session)
    data = load_wave(session, wave)
    ref = sampling.domain_means(
        np.array([r.score for r in data.scored]),
        np.array([r.unit for r in data.scored]),
        np.array([r.stratum for r in data.scored]),
        data.population,
    )
    rows = {r.code: r for r in results.unit_results(session, wave)}
    for i, code in enumerate(ref.domain.tolist()):
        u = rows[code]
        assert u.df == u.df_design == float(ref.df_design[i])
        assert u.df_method == "n-h"
        assert (u.df_satterthwaite == float(ref.df_satterthwaite[i])) or (
            math.isnan(u.df_satterthwaite) and math.isnan(float(ref.df_satterthwaite[i]))
        )
        assert u.df_flag == bool(ref.df_flag[i])
        assert ("df_satterthwaite_small" in u.flags) == u.df_flag
    # n - H: A has 7 scored respondents in 2 strata, C is a census of 6 in one
    assert rows["A"].df_design == 5.0 and rows["C"].df_design == 5.0
    header, table = exports.estimates_table(session, wave)
    by_code = {row[0]: dict(zip(header, row, strict=True)) for row in table}
    assert by_code["A"]["自由度n-H"] == 5.0 and by_code["A"]["自由度(区间所用)"] == 5.0
    assert by_code["A"]["区间方法"] == "泰勒线性化 t 区间，自由度 n−H"
    assert by_code["C"]["区间方法"] == "普查（无抽样误差）"
    assert by_code["A"]["Satterthwaite有效自由度"] == pytest.approx(
        round(rows["A"].df_satterthwaite, 4)
    )
