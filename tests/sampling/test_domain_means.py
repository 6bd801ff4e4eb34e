"""domain_means and stratum_weights: hand-computed numbers and every documented edge case."""

import math
from fractions import Fraction as F

import numpy as np
import pytest
from scipy.stats import t as student

from sampling import SamplingError, domain_means, stratum_weights


def test_two_substrata_hand():
    # stratum 1: N=10, y = 7, 8, 9 (mean 8, s^2 = 1); stratum 2: N=20, y = 10, 6, 5 (mean 7,
    # s^2 = 7). mean = (10*8 + 20*7)/30 = 22/3.
    # V = (1/3)^2 (1 - 3/10) 1/3 + (2/3)^2 (1 - 3/20) 7/3 = 7/270 + 238/270 = 49/54.
    # df = 6 - 2 = 4. deff: sigma^2 = 6/5 * sum w (y - ybar)^2 / 30 = 6/5 * (320/3)/30 = 64/15,
    # V_srs = (1 - 6/30) * (64/15) / 6 = 128/225, deff = (49/54) / (128/225) = 11025/6912.
    est = domain_means(
        [7, 8, 9, 10, 6, 5], ["u"] * 6, [1, 1, 1, 2, 2, 2], {("u", 1): 10, ("u", 2): 20}
    )
    se = math.sqrt(49 / 54)
    q = student.ppf(0.975, 4)  # 2.7764451051977987
    assert est.mean[0] == pytest.approx(22 / 3, abs=1e-12)
    assert est.se[0] == pytest.approx(se, abs=1e-12)
    assert est.ci_low[0] == pytest.approx(22 / 3 - q * se, abs=1e-12)
    assert est.ci_high[0] == pytest.approx(22 / 3 + q * se, abs=1e-12)
    assert est.df[0] == 4
    assert est.deff[0] == pytest.approx(11025 / 6912, abs=1e-12)
    assert (est.n[0], est.population[0], est.method[0], bool(est.collapsed[0])) == (
        6,
        30,
        "taylor",
        False,
    )


def test_simple_random_sample_has_deff_one():
    est = domain_means([3, 5, 9, 4, 8], ["u"] * 5, ["a"] * 5, {("u", "a"): 40})
    assert est.deff[0] == pytest.approx(1.0, abs=1e-12)


def test_one_respondent_substratum_is_collapsed_and_said_so():
    # x: N=10, y = 6, 8 (w = 5); y: N=4, y = 10 (w = 4, kept). mean = (30 + 40 + 40)/14 = 55/7.
    # collapsed group: N=14, r=3, fpc = 11/14; scores z = w (y - 55/7)/14 =
    # (-65, 5, 60)/98, mean 0; V = 11/14 * 3/2 * (65^2 + 5^2 + 60^2)/98^2.
    v = F(11, 14) * F(3, 2) * F(65**2 + 5**2 + 60**2, 98**2)
    est = domain_means([6, 8, 10], ["A"] * 3, ["x", "x", "y"], {("A", "x"): 10, ("A", "y"): 4})
    assert est.mean[0] == pytest.approx(55 / 7, abs=1e-12)
    assert est.se[0] == pytest.approx(math.sqrt(v), abs=1e-12)
    assert est.df[0] == 2  # 3 respondents - 1 collapsed variance stratum
    assert est.method[0] == "taylor" and bool(est.collapsed[0])
    assert "one respondent" in est.note[0] and "collapsed with 'x'" in est.note[0]
    w = stratum_weights(["A"] * 3, ["x", "x", "y"], {("A", "x"): 10, ("A", "y"): 4})
    assert w.weight.tolist() == [5.0, 5.0, 4.0]
    assert w.group_label.tolist() == ["x+y"]
    assert w.fpc.tolist() == pytest.approx([11 / 14] * 3)


def test_substratum_without_respondents_gives_its_population_to_the_neighbour():
    # 企业 N=3 has nobody: its 3 clients join 群众 (N'=9, r=3, w=3). mean = 6,
    # V = (1 - 3/9) * s^2 / 3 with s^2 = 4 -> 8/9; df = 2.
    pop = {("U", "企业"): 3, ("U", "群众"): 6}
    est = domain_means([4, 6, 8], ["U"] * 3, ["群众"] * 3, pop)
    assert est.mean[0] == pytest.approx(6.0)
    assert est.se[0] == pytest.approx(math.sqrt(8 / 9), abs=1e-12)
    assert est.df[0] == 2 and est.population[0] == 9
    assert bool(est.collapsed[0]) and "'企业' (N=3) had no respondent" in est.note[0]


def test_census():
    est = domain_means(
        [5, 7, 9, 4], ["c"] * 4, ["a", "a", "a", "b"], {("c", "a"): 3, ("c", "b"): 1}
    )
    assert est.method[0] == "census"
    assert est.se[0] == 0.0
    assert est.ci_low[0] == est.ci_high[0] == est.mean[0] == pytest.approx(25 / 4)
    assert math.isnan(est.deff[0])
    assert "census" in est.note[0]


def test_every_answer_equal_gets_the_hypergeometric_bound():
    # N=100, n=4, all 10. P(no differing answer among 4 | D differ) = C(100-D, 4)/C(100, 4):
    # D=51: 49*48*47*46 / (100*99*98*97) = 0.05403 > 0.05; D=52: 0.04962 < 0.05 -> D_u = 51.
    # Interval: 10 - 0.51 * (10 - 0) = 4.9 to 10.
    est = domain_means(
        [10, 10, 10, 10], ["a"] * 4, ["x"] * 4, {("a", "x"): 100}, zero_variance="hypergeometric"
    )
    assert est.method[0] == "zero-variance-bound"
    assert est.se[0] == 0.0
    assert (est.ci_low[0], est.ci_high[0]) == pytest.approx((4.9, 10.0))
    assert "51 of the 96 unasked" in est.note[0]


def test_bound_approaches_the_rule_of_three_for_large_frames():
    # N = 10^6, n = 30 all equal to 8: D_u/N ~ 1 - 0.05^(1/30) = 0.0950 (about 3/30)
    est = domain_means(
        [8.0] * 30, ["a"] * 30, ["x"] * 30, {("a", "x"): 10**6}, zero_variance="hypergeometric"
    )
    share = 1 - 0.05 ** (1 / 30)
    assert est.ci_low[0] == pytest.approx(8 - 8 * share, abs=1e-3)
    assert est.ci_high[0] == pytest.approx(8 + 2 * share, abs=1e-3)


def test_equal_within_substrata_but_different_between():
    # 群众 all 10 (N=50, n=5), 企业 all 6 (N=10, n=5): zero Taylor SE, not a census.
    y = [10] * 5 + [6] * 5
    est = domain_means(
        y,
        ["a"] * 10,
        ["群众"] * 5 + ["企业"] * 5,
        {("a", "群众"): 50, ("a", "企业"): 10},
        zero_variance="hypergeometric",
    )
    assert est.method[0] == "zero-variance-bound"
    mean = (50 * 10 + 10 * 6) / 60
    assert est.mean[0] == pytest.approx(mean)
    assert est.ci_low[0] < mean < est.ci_high[0]
    # worst case: D_u clients fall from 10 to 0 (room 10) or rise from 6 to 10 (room 4);
    # pooled over the 60 - 10 = 50 unasked, n' = 10: C(60-D, 10)/C(60, 10) > 0.05 -> D_u = 14
    share = 14 / 60
    assert est.ci_low[0] == pytest.approx(mean - share * 10)
    assert est.ci_high[0] == min(10.0, mean + share * 4)  # clipped to the scale


def test_census_substratum_does_not_count_as_unasked():
    # 企业 fully answered (N=4, r=4, all 9); 群众 N=10, n=2 all 9: bound only over 群众's 8
    est = domain_means(
        [9] * 6,
        ["a"] * 6,
        ["企业"] * 4 + ["群众"] * 2,
        {("a", "企业"): 4, ("a", "群众"): 10},
        zero_variance="hypergeometric",
    )
    assert est.method[0] == "zero-variance-bound"
    # C(10-D, 2)/C(10, 2) > 0.05: D=7 -> 3/45 = 0.067; D=8 -> 1/45 = 0.022 -> D_u = 7 of 14
    assert est.ci_low[0] == pytest.approx(9 - 7 / 14 * 9)
    assert est.ci_high[0] == pytest.approx(9 + 7 / 14 * 1)


def test_single_respondent():
    # N=50, n=1 (y=9): (50 - D)/50 > 0.05 -> D_u = 47; [9 - 0.94*9, 9 + 0.94*1] = [0.54, 9.94]
    est = domain_means([9], ["s"], ["x"], {("s", "x"): 50})
    assert est.method[0] == "zero-variance-bound"
    assert math.isnan(est.se[0]) and est.df[0] == 0
    assert (est.ci_low[0], est.ci_high[0]) == pytest.approx((0.54, 9.94))
    assert "one respondent" in est.note[0]


def test_domain_without_respondents():
    est = domain_means([5, 6], ["a", "a"], ["x", "x"], {("a", "x"): 9, ("b", "x"): 7})
    assert est.domain.tolist() == ["a", "b"]
    row = est.to_records()[1]
    assert row["method"] == "no-respondents" and row["n"] == 0
    assert all(math.isnan(row[f]) for f in ("mean", "se", "ci_low", "ci_high", "df", "deff"))
    assert "no respondent" in row["note"]


def test_nan_answers_are_left_out_not_zero():
    a = domain_means([7, np.nan, 9, 4], ["u"] * 4, ["x"] * 4, {("u", "x"): 20})
    b = domain_means([7, 9, 4], ["u"] * 3, ["x"] * 3, {("u", "x"): 20})
    assert a.n[0] == 3
    assert (a.mean[0], a.se[0]) == (b.mean[0], b.se[0])


def test_row_order_and_label_kinds_do_not_matter():
    rng = np.random.default_rng(1)
    n = 400
    dom = rng.integers(0, 9, n)
    kind = rng.integers(0, 2, n)
    y = rng.integers(0, 11, n).astype(float)
    pop = {(d, k): 60 for d in range(9) for k in range(2)}
    a = domain_means(y, dom, kind, pop)
    p = rng.permutation(n)
    b = domain_means(y[p], dom[p], kind[p], pop)
    np.testing.assert_allclose(a.mean, b.mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.se, b.se, rtol=0, atol=1e-12)
    tup = (np.repeat(np.arange(9), 2), np.tile(np.arange(2), 9), np.full(18, 60))
    c = domain_means(y, dom, kind, tup)
    np.testing.assert_array_equal(a.mean, c.mean)


def test_records_layout():
    rec = domain_means([1, 2, 3], ["u"] * 3, ["x"] * 3, {("u", "x"): 10}).to_records()
    assert rec.dtype.names == (
        "domain",
        "n",
        "population",
        "mean",
        "se",
        "ci_low",
        "ci_high",
        "df",
        "deff",
        "method",
        "collapsed",
        "note",
        "df_design",
        "df_satterthwaite",
        "df_flag",
        "rank_se",
    )


@pytest.mark.parametrize(
    ("args", "kwargs", "text"),
    [
        (([11], ["u"], ["x"], {("u", "x"): 5}), {}, r"allowed range \[0, 10\]"),
        (([5], ["u"], ["x"], {("u", "x"): 5}), {"level": 0}, "level"),
        (([5], ["u"], ["y"], {("u", "x"): 5}), {}, "no N_h"),
        (([5, 6], ["u"] * 2, ["x"] * 2, {("u", "x"): 1}), {}, "r_h <= N_h"),
        (([5], ["u"], ["x"], {"u": 5}), {}, "pair"),
        (([5], ["u"], ["x"], [1, 2]), {}, "mapping"),
        (([5, 6], ["u"], ["x"], {("u", "x"): 5}), {}, "length"),
        (([np.inf], ["u"], ["x"], {("u", "x"): 5}), {}, "inf"),
        (([5], [1.5], ["x"], {(1.5, "x"): 5}), {}, "integer or string"),
        (([5], ["u"], ["x"], {("u", "x"): 5}), {"scale": (10, 0)}, "scale"),
    ],
)
def test_bad_arguments(args, kwargs, text):
    with pytest.raises(SamplingError, match=text):
        domain_means(*args, **kwargs)


def test_grouped_and_scattered_rows_give_the_same_numbers():
    # rows grouped by (unit, kind) take the contiguous-sum path, shuffled rows the bincount
    # path; NaN answers sit in both; results must agree
    rng = np.random.default_rng(11)
    dom = np.repeat(np.arange(40), 25)
    kind = np.tile(np.repeat(np.array(["群众", "企业"]), [15, 10]), 40)
    y = rng.integers(0, 11, dom.size).astype(float)
    y[rng.random(y.size) < 0.1] = np.nan
    y[:25] = 10.0  # one unit with every answer equal
    pop = {(d, k): 40 for d in range(40) for k in ("群众", "企业")}
    a = domain_means(y, dom, kind, pop)
    p = rng.permutation(dom.size)
    b = domain_means(y[p], dom[p], kind[p], pop)
    for field in ("mean", "se", "ci_low", "ci_high", "df", "deff"):
        np.testing.assert_allclose(getattr(a, field), getattr(b, field), rtol=0, atol=1e-12)
    assert a.method.tolist() == b.method.tolist()
    assert a.method[0] == "zero-variance-bound"
