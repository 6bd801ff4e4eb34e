"""domain_proportions: Korn-Graubard and Wilson intervals, near 0 and 1, census, none."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import beta, binomtest, norm
from scipy.stats import t as student

from sampling import SamplingError, domain_proportions, proportion_interval


def test_all_satisfied_uses_n_and_clopper_pearson():
    # p = 1, n = 4 (N=100): n* = n = 4, df = 3 = n - 1 (ratio 1); x = 4 -> upper 1,
    # lower = Beta^{-1}(0.025; 4, 1) = 0.025^(1/4) = 0.397635
    p = domain_proportions([1, 1, 1, 1], ["u"] * 4, ["a"] * 4, {("u", "a"): 100})
    assert p.proportion[0] == 1.0 and p.ci_high[0] == 1.0
    assert p.ci_low[0] == pytest.approx(0.025**0.25, abs=1e-12)
    assert p.method[0] == "korn-graubard" and p.n_eff[0] == 4


def test_none_satisfied():
    p = domain_proportions([0, 0, 0], ["u"] * 3, ["a"] * 3, {("u", "a"): 100})
    assert p.ci_low[0] == 0.0
    assert p.ci_high[0] == pytest.approx(1 - 0.025 ** (1 / 3), abs=1e-12)


def test_korn_graubard_interior_hand():
    # p = 3/4, n = 4, N = 100: s^2 = 4/3 * 3/16 = 1/4, V = (1 - 4/100) * (1/4) / 4 = 0.06,
    # n* = (3/16) / 0.06 = 3.125; df = 3 = n - 1 so no df adjustment; x = 0.75 * 3.125
    p = domain_proportions([1, 1, 0, 1], ["u"] * 4, ["a"] * 4, {("u", "a"): 100})
    assert p.se[0] == pytest.approx(math.sqrt(0.06), abs=1e-12)
    assert p.n_eff[0] == pytest.approx(3.125, abs=1e-12)
    x = 0.75 * 3.125
    assert p.ci_low[0] == pytest.approx(beta.ppf(0.025, x, 3.125 - x + 1), abs=1e-12)
    assert p.ci_high[0] == pytest.approx(beta.ppf(0.975, x + 1, 3.125 - x), abs=1e-12)


def test_df_adjustment_with_two_strata():
    # df = n - 2 < n - 1, so n* shrinks by (t_{n-1}/t_{df})^2
    y = [1, 0, 1, 1, 0, 1, 1, 1]
    k = ["a"] * 4 + ["b"] * 4
    p = domain_proportions(y, ["u"] * 8, k, {("u", "a"): 50, ("u", "b"): 30})
    raw = p.proportion[0] * (1 - p.proportion[0]) / p.se[0] ** 2
    ratio = (student.ppf(0.975, 7) / student.ppf(0.975, 6)) ** 2
    assert p.n_eff[0] == pytest.approx(raw * ratio, rel=1e-12)


def test_wilson_hand():
    # same data as the interior case, n* = 3.125, z = 1.959964
    p = domain_proportions([1, 1, 0, 1], ["u"] * 4, ["a"] * 4, {("u", "a"): 100}, method="wilson")
    z, n, q = norm.ppf(0.975), 3.125, 0.75
    centre = (q + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(q * (1 - q) / n + z * z / (4 * n * n))
    assert (p.ci_low[0], p.ci_high[0]) == pytest.approx((centre - half, centre + half))


def test_census_and_no_respondents():
    p = domain_proportions([1, 0, 1], ["c", "c", "c"], ["a"] * 3, {("c", "a"): 3, ("d", "a"): 5})
    assert p.method.tolist() == ["census", "no-respondents"]
    assert p.ci_low[0] == p.ci_high[0] == pytest.approx(2 / 3)
    assert math.isnan(p.proportion[1]) and math.isnan(p.ci_low[1])


def test_bad_values():
    with pytest.raises(SamplingError, match="allowed: 0, 1"):
        domain_proportions([0.5], ["u"], ["a"], {("u", "a"): 3})
    with pytest.raises(SamplingError, match="method"):
        domain_proportions([1], ["u"], ["a"], {("u", "a"): 3}, method="logit")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 1), min_size=1, max_size=40),
    st.integers(0, 200),
    st.sampled_from(["korn-graubard", "wilson"]),
)
def test_intervals_stay_in_unit_interval_and_cover_the_estimate(ys, extra, method):
    n = len(ys)
    p = domain_proportions(
        np.array(ys, float), ["u"] * n, ["a"] * n, {("u", "a"): n + extra}, method=method
    )
    assert 0.0 <= p.ci_low[0] <= p.proportion[0] <= p.ci_high[0] <= 1.0
    if extra > 0:
        assert p.ci_high[0] > p.ci_low[0]  # never claims certainty without a census


def test_wilson_bound_at_zero_is_exactly_zero():
    """Rounding must not lift Wilson's lower bound above an estimate of 0 (found by hypothesis)."""
    p = domain_proportions(np.zeros(7), ["u"] * 7, ["a"] * 7, {("u", "a"): 8}, method="wilson")
    assert p.proportion[0] == 0.0 and p.ci_low[0] == 0.0 and p.ci_high[0] > 0.0


# --------------------------------------------------------------- proportion_interval (issue 16)


def test_proportion_interval_is_clopper_pearson_without_a_design():
    for k, n in ((30, 30), (29, 30), (0, 12), (7, 20)):
        lo, hi, n_eff = proportion_interval([k / n], [n])
        ref = binomtest(k, n).proportion_ci(0.95, method="exact")
        assert (lo[0], hi[0]) == pytest.approx((ref.low, ref.high), abs=1e-12)
        assert n_eff[0] == n
    lo, hi, _ = proportion_interval([1.0], [30])  # 满意率 100 %: (alpha/2)^(1/n)
    assert lo[0] == pytest.approx(0.025 ** (1 / 30), abs=1e-14) and hi[0] == 1.0


def test_proportion_interval_korn_graubard_with_design():
    # p = 0.8, V = 0.0016 (n* = 100), n = 50, df = 20: n_eff = 100 (t_49 / t_20)^2
    n_eff = 100 * (student.ppf(0.975, 49) / student.ppf(0.975, 20)) ** 2
    lo, hi, ne = proportion_interval([0.8], [50], [0.0016], [20])
    assert ne[0] == pytest.approx(n_eff, rel=1e-12)
    x = 0.8 * n_eff
    assert lo[0] == pytest.approx(beta.ppf(0.025, x, n_eff - x + 1), abs=1e-12)
    assert hi[0] == pytest.approx(beta.ppf(0.975, x + 1, n_eff - x), abs=1e-12)
    # a share of 100 % with zero variance: n* = n, then the df adjustment
    lo1, hi1, ne1 = proportion_interval([1.0], [40], [0.0], [38])
    n1 = 40 * (student.ppf(0.975, 39) / student.ppf(0.975, 38)) ** 2
    assert ne1[0] == pytest.approx(n1, rel=1e-12)
    assert lo1[0] == pytest.approx(0.025 ** (1 / n1), abs=1e-12) and hi1[0] == 1.0
    with pytest.raises(SamplingError, match="proportion"):
        proportion_interval([1.2], [10])
