"""Tests at the ranking's cuts and the empirical-Bayes view, on unit rows built by hand.

Expected values are computed here with scipy on their own: the Welch test by
``scipy.stats.ttest_ind_from_stats`` (a unit with SE ``s`` and design df ``d`` is a sample
of ``d + 1`` with SD ``s * sqrt(d + 1)``: same variance of the mean, same df), the median
test by the t distribution, the James-Stein shrinkage in closed form.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from survey_service.results import cuts
from survey_service.results.estimates import UnitResult

# code, category, mean, rank_se, df: twelve ranked units, and one without an estimate
UNITS = [
    ("U01", "基层站所", 6.10, 0.40, 20.0),
    ("U02", "基层站所", 6.80, 0.30, 25.0),
    ("U03", "基层站所", 7.05, 0.25, 28.0),
    ("U04", "基层站所", 7.30, 0.20, 30.0),
    ("U05", "机关科室", 7.45, 0.35, 12.0),
    ("U06", "基层站所", 7.60, 0.22, 29.0),
    ("U07", "机关科室", 7.70, 0.18, 33.0),
    ("U08", "基层站所", 7.82, 0.26, 27.0),
    ("U09", "基层站所", 7.95, 0.15, 40.0),
    ("U10", "机关科室", 8.10, 0.50, 6.0),
    ("U11", "基层站所", 8.12, 0.10, 55.0),
    ("U12", "机关科室", 8.60, 0.30, math.nan),  # no positive df: drawn from the normal
]


def _row(code, category, mean, se, df, n=30):
    return UnitResult(
        code=code,
        name=f"单位{code}",
        category=category,
        frame_size=100,
        target=30,
        released=40,
        completes=n,
        n=n,
        mean=mean,
        se=se,
        ci_low=mean - 2 * se,
        ci_high=mean + 2 * se,
        deff=1.0,
        method="taylor" if n else "none",
        note="",
        df=df,
        rank_se=se,
    )


def rows():
    out = [_row(*u) for u in UNITS]
    out.append(_row("U13", "基层站所", math.nan, math.nan, math.nan, n=0))
    return out


def _welch(a, b):
    """scipy's Welch test of mean[b] - mean[a] from (mean, SE, df) triples."""
    (ma, sa, da), (mb, sb, db) = a, b
    da, db = (d if math.isfinite(d) else 1e15 for d in (da, db))
    t, p = stats.ttest_ind_from_stats(
        mb, sb * math.sqrt(db + 1), db + 1, ma, sa * math.sqrt(da + 1), da + 1, equal_var=False
    )
    va, vb = sa**2, sb**2
    df = (va + vb) ** 2 / (va**2 / da + vb**2 / db)
    return float(t), float(p), df


def test_cut_tests_at_the_10th_and_11th_from_either_end():
    """Are the two cut tests the Welch t tests of the right pairs, on the df used?"""
    bottom, top = cuts.cut_tests(rows())
    by = {u[0]: u[2:] for u in UNITS}
    # from the bottom the 10th is U10 (8.10), the 11th U11 (8.12)
    assert (bottom.side, bottom.inside, bottom.outside) == ("bottom", "U10", "U11")
    t, p, df = _welch(by["U10"], by["U11"])
    assert bottom.difference == pytest.approx(0.02, abs=1e-12)
    assert bottom.se == pytest.approx(math.hypot(0.5, 0.1), rel=1e-12)
    assert bottom.df == pytest.approx(df, rel=1e-12)
    assert bottom.t == pytest.approx(t, rel=1e-9)
    assert bottom.p_value == pytest.approx(p, rel=1e-9)
    # from the top the 10th is U03 (7.05), the 11th U02 (6.80)
    assert (top.side, top.inside, top.outside) == ("top", "U03", "U02")
    t, p, df = _welch(by["U03"], by["U02"])
    assert top.difference == pytest.approx(-0.25, abs=1e-12)
    assert top.df == pytest.approx(df, rel=1e-12)
    assert (top.t, top.p_value) == (pytest.approx(t, rel=1e-9), pytest.approx(p, rel=1e-9))
    # the numbers, for the record: 0.04 SEs apart at the bottom, nowhere near a difference
    assert round(bottom.p_value, 4) == 0.9699 and round(top.p_value, 4) == 0.525
    assert round(bottom.df, 2) == 6.49 and round(top.df, 2) == 50.17


def test_cut_tests_need_eleven_ranked_units():
    """With ten ranked units there is no 11th: no cut test (the unit without an estimate
    does not count)."""
    assert cuts.cut_tests(rows()[:10] + rows()[12:]) == ()


def test_each_unit_against_its_category_median_on_its_own_df():
    """Is every unit tested against its category's median with its own SE and df?"""
    view = cuts.rank_view(rows())
    got = {r.code: r for r in view.rows}
    assert sorted(got) == [u[0] for u in UNITS]  # U13 has no estimate
    station = np.median([u[2] for u in UNITS if u[1] == "基层站所"])
    office = np.median([u[2] for u in UNITS if u[1] == "机关科室"])
    assert (station, office) == (pytest.approx(7.45), pytest.approx(7.9))
    for code, category, mean, se, df in UNITS:
        med = station if category == "基层站所" else office
        t = (mean - med) / se
        p = 2 * (stats.norm.sf(abs(t)) if math.isnan(df) else stats.t.sf(abs(t), df))
        assert got[code].median == pytest.approx(med, abs=1e-12)
        assert got[code].median_t == pytest.approx(t, rel=1e-12, abs=1e-12), code
        assert got[code].median_p == pytest.approx(p, rel=1e-9), code
        assert got[code].df == (math.inf if math.isnan(df) else df)
    assert round(got["U01"].median_p, 5) == round(2 * stats.t.sf(3.375, 20), 5) == 0.00301


def test_shrinkage_with_equal_ses_is_james_stein_in_closed_form():
    """Equal SEs: A = s^2 - psi (moments), B = psi / s^2, every mean pulled by the same B."""
    means = [6.0, 7.0, 7.5, 8.0, 9.5]
    equal = [_row(f"E{i}", "基层站所", m, 0.5, 30.0) for i, m in enumerate(means)]
    view = cuts.rank_view(equal)
    y = np.array(means)
    s2 = np.sum((y - y.mean()) ** 2) / (y.size - 1)
    a = s2 - 0.25
    b = 0.25 / s2
    assert view.between_variance == pytest.approx(a, rel=1e-12)
    assert view.common_mean == pytest.approx(y.mean(), rel=1e-12)
    got = {r.code: r for r in view.rows}
    for i, m in enumerate(means):
        r = got[f"E{i}"]
        assert r.shrinkage == pytest.approx(b, rel=1e-12)
        assert r.shrunk_mean == pytest.approx(y.mean() + (1 - b) * (m - y.mean()), rel=1e-12)
        assert r.shrunk_sd == pytest.approx(math.sqrt(a * 0.25 / (a + 0.25)), rel=1e-12)
        assert r.raw_rank == r.shrunk_rank == i + 1  # equal SEs keep the order
    # by hand: sum of squares 6.7 over 4 = 1.675; A = 1.425; B = 0.25 / 1.675
    assert round(b, 6) == 0.149254 and round(view.between_variance, 12) == 1.425


def test_shrinkage_moves_a_small_extreme_unit_past_a_precise_one():
    """Does the lowest raw unit (few answers, SE 0.8) shrink past a precise unit (SE 0.05)?"""
    view = cuts.rank_view([*rows()[:12], _row("S1", "基层站所", 5.9, 0.8, 4.0, n=5)])
    got = {r.code: r for r in view.rows}
    assert got["S1"].raw_rank == 1 and got["U01"].raw_rank == 2
    # the estimating equation of A holds at the root, and mu is the precision-weighted mean
    y = np.array([r.mean for r in view.rows])
    psi = np.array([r.se for r in view.rows]) ** 2
    a = view.between_variance
    w = 1 / (a + psi)
    mu = float(np.sum(w * y) / np.sum(w))
    assert view.common_mean == pytest.approx(mu, rel=1e-12)
    assert float(np.sum((y - mu) ** 2 * w)) == pytest.approx(y.size - 1, rel=1e-10)
    for r in view.rows:
        b = r.se**2 / (a + r.se**2)
        assert r.shrinkage == pytest.approx(b, rel=1e-12)
        assert r.shrunk_mean == pytest.approx(mu + (1 - b) * (r.mean - mu), rel=1e-12)
    assert got["S1"].shrinkage > 0.5 > got["U01"].shrinkage
    assert got["S1"].shrunk_mean > got["U01"].shrunk_mean
    assert got["S1"].shrunk_rank == 2 and got["U01"].shrunk_rank == 1


def test_a_unit_without_any_spread_does_not_count_towards_the_eleven():
    """Eleven rows with a score, one of them without SE or interval: no cut test, no error."""
    eleven = rows()[:11]
    broken = _row("U99", "基层站所", 9.0, math.nan, 10.0)
    broken = UnitResult(**{**broken.__dict__, "ci_low": math.nan, "ci_high": math.nan})
    assert cuts.cut_tests([*eleven[:10], broken]) == ()
    assert len(cuts.cut_tests(eleven)) == 2


def test_the_export_tables_carry_the_cut_tests_and_the_rank_view():
    """Do the 排名分界检验 and 排名视图 tables give the page's numbers, rounded, with the
    assumption?"""
    from survey_service.results.exports import ranking

    header, table = ranking.cut_rows(rows())
    bottom, _ = cuts.cut_tests(rows())
    assert header[0] == "分界" and header[-1] == "假定"
    assert table[0][:6] == ["后十名(十差)", "U10", 8.1, "U11", 8.12, 0.02]
    assert table[0][7] == round(bottom.df, 3) and table[0][9] == round(bottom.p_value, 6)
    assert table[1][:2] == ["前十名(十佳)", "U03"] and table[1][10] == cuts.CUT_ASSUMPTION
    header, table = ranking.rank_rows(rows())
    assert [r[1] for r in table] == [f"U{i:02d}" for i in range(1, 13)]
    by = {r[1]: dict(zip(header, r, strict=True)) for r in table}
    view = {r.code: r for r in cuts.rank_view(rows()).rows}
    assert by["U12"]["所用自由度"] == "inf"
    assert by["U01"]["收缩后得分(经验贝叶斯,仅供参考)"] == round(view["U01"].shrunk_mean, 6)
    assert by["U01"]["与中位数之差p值"] == round(view["U01"].median_p, 6)
