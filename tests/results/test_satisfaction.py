"""满意率 beside 满意度: weighted share of 非常满意/满意/基本满意, its interval, valid n, 说不清."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from survey_service.results import estimates, respondents, satisfaction
from survey_service.results.aspects import aspect_results
from tests.results.test_exports import PLAN, build_wave

SATISFIED_LEVELS = (0, 1, 2)  # very_satisfied, satisfied, basically_satisfied


@pytest.fixture
def wave(session):
    return build_wave(session)


def _clopper_pearson(x: float, n: float, alpha: float = 0.05) -> tuple[float, float]:
    low = 0.0 if x == 0 else stats.beta.ppf(alpha / 2, x, n - x + 1)
    high = 1.0 if x == n else stats.beta.ppf(1 - alpha / 2, x + 1, n - x)
    return float(low), float(high)


def test_overall_rate_per_unit(session, wave):
    """Are the unit's 满意率, interval, valid n and 说不清 share the exact weighted figures?"""
    rows = {r.code: r for r in estimates.unit_results(session, wave)}
    # C: a census of 6, all satisfied on overall
    assert (rows["C"].satisfied, rows["C"].satisfied_low, rows["C"].satisfied_high) == (
        1.0,
        1.0,
        1.0,
    )
    assert rows["C"].satisfied_n == 6 and rows["C"].dont_know == 0.0
    # B: one sub-stratum (N = 20); overall levels 2,2,3,2,na,3,1: 4 of 6 satisfied, 1 说不清
    b = rows["B"]
    assert b.satisfied == pytest.approx(4 / 6, abs=1e-15) and b.satisfied_n == 6
    assert b.dont_know == pytest.approx(1 / 7, abs=1e-15)
    y = np.array([1, 1, 0, 1, 0, 1], dtype=float)
    variance = (1 - 6 / 20) * y.var(ddof=1) / 6
    n_eff = (4 / 6) * (2 / 6) / variance  # df = n - H = 5 = n - 1: no df adjustment
    low, high = _clopper_pearson(4 / 6 * n_eff, n_eff)
    assert b.satisfied_low == pytest.approx(low, abs=1e-12)
    assert b.satisfied_high == pytest.approx(high, abs=1e-12)
    # A: all 6 raters satisfied (one 企业 说不清): 100%, the interval does not collapse
    a = rows["A"]
    assert a.satisfied == 1.0 and a.satisfied_n == 6 and a.dont_know == pytest.approx(1 / 7)
    assert a.satisfied_high == 1.0
    # Korn-Graubard at p = 1: n* = n (t_{n-1} / t_df)^2 with df = n - H = 4, x = n*
    n_eff = 6 * (stats.t.ppf(0.975, 5) / stats.t.ppf(0.975, 4)) ** 2
    assert a.satisfied_low == pytest.approx(0.025 ** (1 / n_eff), abs=1e-12)
    # D: 群众 (N 10) 3 of 4, 企业 (N 10) 1 of 1 -> (10 * 3/4 + 10 * 1) / 20
    assert rows["D"].satisfied == pytest.approx(0.875, abs=1e-15) and rows["D"].satisfied_n == 5


def test_rate_per_item_and_counts(session, wave):
    """Does every aspect carry its own 满意率, computed from the raters of that item?"""
    data = respondents.load_wave(session, wave)
    by_key = {(a.unit, a.item): a for a in aspect_results(data)}
    for code, kinds in PLAN.items():
        answers = [a for _, (_, plan) in kinds.items() for a in plan if a is not None]
        rated = [a[0] for a in answers if a[0] != "na"]
        aspect = by_key[(code, "service_quality")]
        assert aspect.n == len(rated)
        if len(kinds) == 1:  # one sub-stratum: the plain share
            expected = sum(r in SATISFIED_LEVELS for r in rated) / len(rated)
            assert aspect.satisfied == pytest.approx(expected, abs=1e-15), code
        assert 0 <= aspect.satisfied_low <= aspect.satisfied <= aspect.satisfied_high <= 1
    rates = satisfaction.satisfaction(data, "overall")
    assert {code: r.n for code, r in rates.items()} == {"A": 6, "B": 6, "C": 6, "D": 5}
    assert {code: r.not_applicable for code, r in rates.items()} == {"A": 1, "B": 1, "C": 0, "D": 0}
    assert rates["C"].method == "census"
    assert math.isnan(satisfaction.EMPTY.not_applicable_share)


def test_every_table_and_page_carries_the_rate(session, wave, client):
    """Do the estimates and aspects tables, the workbook and the results page show 满意率?"""
    import io

    import openpyxl

    from survey_service.db import transaction
    from survey_service.results import exports
    from tests.factories import PASSWORD, make_user

    rows = {r.code: r for r in estimates.unit_results(session, wave)}
    header, table = exports.estimates_table(session, wave)
    by_code = {row[0]: dict(zip(header, row, strict=True)) for row in table}
    assert by_code["B"]["满意率"] == round(rows["B"].satisfied, 4) == 0.6667
    assert by_code["B"]["满意率有效回答"] == 6 and by_code["B"]["说不清比例"] == round(1 / 7, 4)
    assert by_code["C"]["满意率95%下限"] == 1.0
    header, table = exports.aspects_table(session, wave)
    aspects = {(row[0], row[3]): dict(zip(header, row, strict=True)) for row in table}
    assert aspects[("B", "overall")]["满意率"] == 0.6667
    assert aspects[("B", "overall")]["说不清比例"] == round(1 / 7, 4)
    book = openpyxl.load_workbook(io.BytesIO(exports.build_xlsx(session, wave)))
    sheet = book["各单位得分"]
    col = [c.value for c in sheet[1]].index("满意率")
    assert sheet.cell(row=2, column=col + 1).number_format == "0.0%"
    with transaction(session):
        make_user(session, username="office", role="reviewer")
    client.post("/auth/login", data={"username": "office", "password": PASSWORD})
    page = client.get("/statistics/results").get_data(as_text=True)
    row_b = page[page.index('data-code="B"') : page.index("</tr>", page.index('data-code="B"'))]
    assert '<td class="num satisfied">66.7%</td>' in row_b
    assert "14%" in row_b  # 说不清 1 of 7
    unit = client.get("/statistics/units/B").get_data(as_text=True)
    assert "66.7%（95% 区间" in unit and "有效回答 6）" in unit
